//! The vault's X25519 identity file: created on first use with mode 0600, refused when
//! others can read it, optionally protected by a passphrase (age scrypt).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use age::x25519;
use secrecy::{ExposeSecret, SecretString};

use super::VaultError;

const ARMOR_BEGIN: &str = "-----BEGIN AGE ENCRYPTED FILE-----";
pub const PASSPHRASE_ENV: &str = "PATCHBAY_PASSPHRASE";

/// An identity as loaded from disk, remembering how it was stored.
pub struct LoadedIdentity {
    pub identity: x25519::Identity,
    /// The passphrase that protects the file, if it is protected.
    pub passphrase: Option<SecretString>,
}

/// Where a passphrase comes from when an identity file needs one.
pub trait PassphraseSource {
    fn passphrase(&self, path: &Path) -> Result<SecretString, VaultError>;
}

/// `PATCHBAY_PASSPHRASE`, else a no-echo prompt on the terminal.
pub struct EnvOrPrompt;

impl PassphraseSource for EnvOrPrompt {
    fn passphrase(&self, path: &Path) -> Result<SecretString, VaultError> {
        if let Ok(value) = std::env::var(PASSPHRASE_ENV) {
            return Ok(SecretString::from(value));
        }
        rpassword::prompt_password(format!("Passphrase for {}: ", path.display()))
            .map(SecretString::from)
            .map_err(|_| VaultError::PassphraseUnavailable {
                path: path.to_owned(),
            })
    }
}

pub fn load(path: &Path, passphrases: &dyn PassphraseSource) -> Result<LoadedIdentity, VaultError> {
    check_permissions(path)?;
    let text = std::fs::read_to_string(path).map_err(|source| VaultError::Io {
        path: path.to_owned(),
        source,
    })?;
    if text.trim_start().starts_with(ARMOR_BEGIN) {
        let passphrase = passphrases.passphrase(path)?;
        let plain = age::decrypt(
            &age::scrypt::Identity::new(passphrase.clone()),
            text.as_bytes(),
        )
        .map_err(|_| VaultError::WrongPassphrase {
            path: path.to_owned(),
        })?;
        let plain = String::from_utf8(plain).map_err(|_| bad_identity(path))?;
        Ok(LoadedIdentity {
            identity: parse(&plain, path)?,
            passphrase: Some(passphrase),
        })
    } else {
        Ok(LoadedIdentity {
            identity: parse(&text, path)?,
            passphrase: None,
        })
    }
}

fn parse(text: &str, path: &Path) -> Result<x25519::Identity, VaultError> {
    text.lines()
        .map(str::trim)
        .find(|line| line.starts_with("AGE-SECRET-KEY-"))
        .and_then(|line| x25519::Identity::from_str(line).ok())
        .ok_or_else(|| bad_identity(path))
}

fn bad_identity(path: &Path) -> VaultError {
    VaultError::BadIdentity {
        path: path.to_owned(),
    }
}

#[cfg(unix)]
fn check_permissions(path: &Path) -> Result<(), VaultError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|source| VaultError::Io {
            path: path.to_owned(),
            source,
        })?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(VaultError::IdentityTooOpen {
            path: path.to_owned(),
            mode: mode & 0o777,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_permissions(_path: &Path) -> Result<(), VaultError> {
    Ok(())
}

/// Writes an identity to `path` (mode 0600 from the first byte), protected by
/// `passphrase` when given. Goes through a temporary file so a crash never leaves a
/// half-written identity.
pub fn write(
    path: &Path,
    identity: &x25519::Identity,
    passphrase: Option<&SecretString>,
) -> Result<(), VaultError> {
    let io = |source| VaultError::Io {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let plain = format!(
        "# patchbay vault identity, created {}\n# public key: {}\n{}\n",
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        identity.to_public(),
        identity.to_string().expose_secret()
    );
    let contents = match passphrase {
        Some(passphrase) => age::encrypt_and_armor(
            &age::scrypt::Recipient::new(passphrase.clone()),
            plain.as_bytes(),
        )
        .map_err(|e| io(std::io::Error::other(e.to_string())))?,
        None => plain,
    };
    let temporary = sibling(path, "tmp");
    write_private(&temporary, contents.as_bytes()).map_err(io)?;
    std::fs::rename(&temporary, path).map_err(io)
}

/// `identity.txt` → `identity.txt.<suffix>`
pub fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}
