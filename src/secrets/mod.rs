//! The vault: secrets encrypted with age to an X25519 identity, stored in redb.
//!
//! Plaintext exists only in `SecretString`s, whose `Debug` prints `[redacted]`, and
//! every value the vault hands out or takes in is added to the global redactor (`crate::redact`) so
//! that it can never reach a log line.

pub mod identity;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{NaiveDate, Utc};
use secrecy::{ExposeSecret, SecretString};

use crate::config::credential::is_valid_secret_name;
use crate::domain::{AuditEntry, Operator};
use crate::redact;
use crate::store::{SecretMeta, SecretRow, Store, StoreError};
use identity::{LoadedIdentity, PassphraseSource};

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("cannot access {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("identity file {path} is readable by others (mode {mode:o}); run: chmod 600 {path}")]
    IdentityTooOpen { path: PathBuf, mode: u32 },
    #[error(
        "{path} is not an age identity file; restore it from a backup or point --identity at the right file"
    )]
    BadIdentity { path: PathBuf },
    #[error("wrong passphrase for identity file {path}")]
    WrongPassphrase { path: PathBuf },
    #[error(
        "identity file {path} is protected by a passphrase: set PATCHBAY_PASSPHRASE or run in a terminal"
    )]
    PassphraseUnavailable { path: PathBuf },
    #[error(
        "no vault identity at {path}, so secrets cannot be decrypted; if it moved, point --identity at it"
    )]
    NoIdentity { path: PathBuf },
    #[error("secret `{name}` is not in the vault; set it with: patchbay secret set {name}")]
    NotFound { name: String },
    #[error(
        "secret `{name}` cannot be decrypted: its stored ciphertext is damaged or was made for another identity; \
         set it again with: patchbay secret set {name}"
    )]
    Damaged { name: String },
    #[error("invalid secret name `{name}`: use letters, digits, `_`, `-` and `.`")]
    InvalidName { name: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub type Result<T, E = VaultError> = std::result::Result<T, E>;

/// What `rotate-key` did.
#[derive(Debug)]
pub struct Rotation {
    pub secrets: usize,
    pub backup: PathBuf,
}

pub struct Vault {
    store: Arc<Store>,
    identity_path: PathBuf,
    passphrases: Box<dyn PassphraseSource + Send + Sync>,
    identity: Mutex<Option<Arc<LoadedIdentity>>>,
    /// Secrets decrypted before, by name. A signed inbound webhook reads its key per
    /// event: decrypting and noting the use each time cost a store commit per event.
    /// Setting or removing a secret drops its entry; this process is the store's only
    /// writer, so nothing else can change it.
    decrypted: Mutex<HashMap<String, Decrypted>>,
}

struct Decrypted {
    value: SecretString,
    /// When `last_used_at` was last written: at most once a minute per secret.
    noted_use: std::time::Instant,
}

/// How stale a secret's `last_used_at` may be.
const NOTE_USE_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

impl Vault {
    pub fn new(
        store: Arc<Store>,
        identity_path: impl Into<PathBuf>,
        passphrases: Box<dyn PassphraseSource + Send + Sync>,
    ) -> Self {
        Self {
            store,
            identity_path: identity_path.into(),
            passphrases,
            identity: Mutex::new(None),
            decrypted: Mutex::new(HashMap::new()),
        }
    }

    /// Runs `change` to the stored secret `name` and drops its decrypted copy, with
    /// readers held off until both are done.
    fn changing<T>(&self, name: &str, change: impl FnOnce() -> Result<T>) -> Result<T> {
        let mut decrypted = self.decrypted.lock().unwrap_or_else(|e| e.into_inner());
        let result = change();
        decrypted.remove(name);
        result
    }

    pub fn identity_path(&self) -> &Path {
        &self.identity_path
    }

    /// Encrypts and stores a secret, creating the identity on first use; audited as
    /// this process's user.
    pub fn set(
        &self,
        name: &str,
        value: &SecretString,
        expires_at: Option<NaiveDate>,
    ) -> Result<()> {
        self.set_by(&Operator::this_process(), name, value, expires_at)
    }

    /// Like `set`, audited as `operator` (a client of the service).
    pub fn set_by(
        &self,
        operator: &Operator,
        name: &str,
        value: &SecretString,
        expires_at: Option<NaiveDate>,
    ) -> Result<()> {
        if !is_valid_secret_name(name) {
            return Err(VaultError::InvalidName {
                name: name.to_owned(),
            });
        }
        redact::global().add(value);
        let identity = self.identity(true)?;
        let ciphertext = encrypt(&identity.identity.to_public(), value);
        let now = Utc::now();
        let created_at = self
            .store
            .secret(name)?
            .map_or(now, |row| row.meta.created_at);
        let row = SecretRow {
            name: name.to_owned(),
            ciphertext,
            meta: SecretMeta {
                created_at,
                updated_at: now,
                expires_at,
                last_used_at: None,
            },
        };
        self.changing(name, || Ok(self.store.put_secret(&row)?))?;
        self.store
            .record_audit(&AuditEntry::by(operator, "secret.set", Some(name)))?;
        Ok(())
    }

    /// Stores a value that patchbay itself maintains (a cached access token, a rotated
    /// refresh token): like `set`, but not an operator action, so not audited.
    pub fn cache(&self, name: &str, value: &SecretString) -> Result<()> {
        redact::global().add(value);
        let identity = self.identity(true)?;
        let now = Utc::now();
        let existing = self.store.secret(name)?;
        let row = SecretRow {
            name: name.to_owned(),
            ciphertext: encrypt(&identity.identity.to_public(), value),
            meta: SecretMeta {
                created_at: existing.as_ref().map_or(now, |row| row.meta.created_at),
                updated_at: now,
                expires_at: existing.and_then(|row| row.meta.expires_at),
                last_used_at: None,
            },
        };
        self.changing(name, || Ok(self.store.put_secret(&row)?))
    }

    /// Removes a value that patchbay maintains; not audited, and no error if absent.
    pub fn forget(&self, name: &str) -> Result<()> {
        self.changing(name, || Ok(self.store.remove_secret(name)?))?;
        Ok(())
    }

    /// Decrypts a secret and records that it was used.
    pub fn get(&self, name: &str) -> Result<SecretString> {
        let now = std::time::Instant::now();
        let (value, note_use) = {
            // Held while reading and decrypting, so a `set` cannot slip in between
            // and leave the old value cached.
            let mut decrypted = self.decrypted.lock().unwrap_or_else(|e| e.into_inner());
            match decrypted.get_mut(name) {
                Some(entry) => {
                    let note = now.duration_since(entry.noted_use) >= NOTE_USE_EVERY;
                    if note {
                        entry.noted_use = now;
                    }
                    (entry.value.clone(), note)
                }
                None => {
                    let row = self
                        .store
                        .secret(name)?
                        .ok_or_else(|| VaultError::NotFound {
                            name: name.to_owned(),
                        })?;
                    let identity = self.identity(false)?;
                    let value = decrypt(&identity.identity, &row)?;
                    redact::global().add(&value);
                    let entry = Decrypted {
                        value: value.clone(),
                        noted_use: now,
                    };
                    decrypted.insert(name.to_owned(), entry);
                    (value, true)
                }
            }
        };
        if note_use {
            self.store.touch_secret(name, Utc::now())?;
        }
        Ok(value)
    }

    /// Loads the identity now (asking for its passphrase if it has one) when the vault
    /// holds secrets, so that a long-running process asks at start, not mid-run.
    pub fn unlock(&self) -> Result<()> {
        if !self.store.secret_metas()?.is_empty() {
            self.identity(false)?;
        }
        Ok(())
    }

    pub fn contains(&self, name: &str) -> Result<bool> {
        Ok(self.store.secret(name)?.is_some())
    }

    /// Names and metadata, never values.
    pub fn list(&self) -> Result<Vec<(String, SecretMeta)>> {
        Ok(self.store.secret_metas()?)
    }

    pub fn remove(&self, name: &str) -> Result<()> {
        self.remove_by(&Operator::this_process(), name)
    }

    /// Like `remove`, audited as `operator` (a client of the service).
    pub fn remove_by(&self, operator: &Operator, name: &str) -> Result<()> {
        if !self.changing(name, || Ok(self.store.remove_secret(name)?))? {
            return Err(VaultError::NotFound {
                name: name.to_owned(),
            });
        }
        self.store
            .record_audit(&AuditEntry::by(operator, "secret.rm", Some(name)))?;
        Ok(())
    }

    /// Replaces the identity: every secret is re-encrypted in one transaction and the
    /// old identity is kept as a dated backup (mode 0600).
    ///
    /// Crash safety: the new identity is written to `identity.txt.new` before the
    /// store changes; [`Vault::identity`] finishes or discards a rotation that a crash
    /// interrupted, depending on which identity the stored secrets answer to.
    pub fn rotate_key(&self) -> Result<Rotation> {
        let old = self.identity(false)?;
        let new_identity = age::x25519::Identity::generate();
        let recipient = new_identity.to_public();
        let rows = self
            .store
            .secret_rows()?
            .into_iter()
            .map(|row| {
                let value = decrypt(&old.identity, &row)?;
                Ok(SecretRow {
                    ciphertext: encrypt(&recipient, &value),
                    ..row
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let pending = identity::sibling(&self.identity_path, "new");
        identity::write(&pending, &new_identity, old.passphrase.as_ref())?;
        self.store.put_secrets(&rows)?;
        let backup = self.finish_rotation(&pending)?;
        *self.lock() = Some(Arc::new(LoadedIdentity {
            identity: new_identity,
            passphrase: old.passphrase.clone(),
        }));
        self.store.record_audit(
            &AuditEntry::now("secret.rotate_key", None)
                .with_detail(format!("{} secrets re-encrypted", rows.len())),
        )?;
        Ok(Rotation {
            secrets: rows.len(),
            backup,
        })
    }

    /// Protects the identity file with a passphrase (or changes it).
    pub fn protect(&self, passphrase: &SecretString) -> Result<()> {
        let current = self.identity(true)?;
        identity::write(&self.identity_path, &current.identity, Some(passphrase))?;
        *self.lock() = Some(Arc::new(LoadedIdentity {
            identity: current.identity.clone(),
            passphrase: Some(passphrase.clone()),
        }));
        self.store
            .record_audit(&AuditEntry::now("secret.protect", None))?;
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Arc<LoadedIdentity>>> {
        self.identity.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The identity, loaded once; created when `create` and there is none yet.
    fn identity(&self, create: bool) -> Result<Arc<LoadedIdentity>> {
        let mut cached = self.lock();
        if let Some(identity) = cached.as_ref() {
            return Ok(Arc::clone(identity));
        }
        self.recover_interrupted_rotation()?;
        let loaded = if self.identity_path.exists() {
            identity::load(&self.identity_path, self.passphrases.as_ref())?
        } else if create {
            let identity = age::x25519::Identity::generate();
            identity::write(&self.identity_path, &identity, None)?;
            tracing::info!(path = %self.identity_path.display(), "created a new vault identity");
            LoadedIdentity {
                identity,
                passphrase: None,
            }
        } else {
            return Err(VaultError::NoIdentity {
                path: self.identity_path.clone(),
            });
        };
        let loaded = Arc::new(loaded);
        *cached = Some(Arc::clone(&loaded));
        Ok(loaded)
    }

    fn recover_interrupted_rotation(&self) -> Result<()> {
        let pending = identity::sibling(&self.identity_path, "new");
        if !pending.exists() {
            return Ok(());
        }
        let candidate = identity::load(&pending, self.passphrases.as_ref())?;
        let rows = self.store.secret_rows()?;
        let store_uses_new = rows
            .first()
            .is_some_and(|row| decrypt(&candidate.identity, row).is_ok());
        if store_uses_new {
            let backup = self.finish_rotation(&pending)?;
            tracing::warn!(backup = %backup.display(), "finished a key rotation that was interrupted");
        } else {
            std::fs::remove_file(&pending).map_err(|source| VaultError::Io {
                path: pending,
                source,
            })?;
        }
        Ok(())
    }

    /// Moves the old identity to a dated backup and the pending one into its place.
    fn finish_rotation(&self, pending: &Path) -> Result<PathBuf> {
        let stamp = Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
        let backup = identity::sibling(&self.identity_path, &format!("{stamp}.bak"));
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| VaultError::Io { path, source }
        };
        std::fs::rename(&self.identity_path, &backup).map_err(io(&self.identity_path))?;
        std::fs::rename(pending, &self.identity_path).map_err(io(pending))?;
        Ok(backup)
    }
}

fn encrypt(recipient: &age::x25519::Recipient, value: &SecretString) -> Vec<u8> {
    age::encrypt(recipient, value.expose_secret().as_bytes())
        .expect("encrypting to an X25519 recipient cannot fail")
}

fn decrypt(identity: &age::x25519::Identity, row: &SecretRow) -> Result<SecretString> {
    let damaged = || VaultError::Damaged {
        name: row.name.clone(),
    };
    let plain = age::decrypt(identity, &row.ciphertext).map_err(|_| damaged())?;
    String::from_utf8(plain)
        .map(SecretString::from)
        .map_err(|_| damaged())
}

#[cfg(test)]
mod tests;
