//! The vault against a real store and identity files: round trips, rotation (finished
//! and discarded after a crash), passphrase mode, refusals.

use std::os::unix::fs::PermissionsExt;

use super::identity::PassphraseSource;
use super::*;

struct Fixed(&'static str);

impl PassphraseSource for Fixed {
    fn passphrase(&self, _: &Path) -> Result<SecretString> {
        Ok(SecretString::from(self.0))
    }
}

struct Setup {
    dir: tempfile::TempDir,
    store: Arc<Store>,
}

impl Setup {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open_in(&dir.path().join("data")).unwrap());
        Self { dir, store }
    }

    fn identity_path(&self) -> PathBuf {
        self.dir.path().join("config/identity.txt")
    }

    fn vault(&self, passphrase: &'static str) -> Vault {
        Vault::new(
            Arc::clone(&self.store),
            self.identity_path(),
            Box::new(Fixed(passphrase)),
        )
    }
}

fn secret(text: &str) -> SecretString {
    SecretString::from(text)
}

#[test]
fn set_get_list_remove_round_trip() {
    let setup = Setup::new();
    let vault = setup.vault("");
    let expires = NaiveDate::from_ymd_opt(2027, 1, 31);
    vault
        .set("github_token", &secret("ghp_roundtrip_value_1"), expires)
        .unwrap();
    assert_eq!(
        vault.get("github_token").unwrap().expose_secret(),
        "ghp_roundtrip_value_1"
    );
    let listed = vault.list().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].0, "github_token");
    assert_eq!(listed[0].1.expires_at, expires);
    assert!(listed[0].1.last_used_at.is_some(), "get records the use");
    vault.remove("github_token").unwrap();
    assert!(matches!(
        vault.get("github_token"),
        Err(VaultError::NotFound { .. })
    ));
    assert!(matches!(
        vault.remove("github_token"),
        Err(VaultError::NotFound { .. })
    ));
    let mode = std::fs::metadata(setup.identity_path())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let actions: Vec<_> = setup
        .store
        .audit(10)
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(actions, ["secret.rm", "secret.set"]);
}

/// A value read once is served from memory; setting, replacing or removing it is
/// seen by the very next read.
#[test]
fn a_decrypted_value_never_outlives_a_change() {
    let setup = Setup::new();
    let vault = setup.vault("");
    vault
        .set("hook", &secret("first-value-0001"), None)
        .unwrap();
    assert_eq!(
        vault.get("hook").unwrap().expose_secret(),
        "first-value-0001"
    );
    vault
        .set("hook", &secret("second-value-0002"), None)
        .unwrap();
    assert_eq!(
        vault.get("hook").unwrap().expose_secret(),
        "second-value-0002"
    );
    vault.cache("hook", &secret("third-value-0003")).unwrap();
    assert_eq!(
        vault.get("hook").unwrap().expose_secret(),
        "third-value-0003"
    );
    vault.forget("hook").unwrap();
    assert!(matches!(
        vault.get("hook"),
        Err(VaultError::NotFound { .. })
    ));
    vault
        .set("hook", &secret("fourth-value-0004"), None)
        .unwrap();
    vault.get("hook").unwrap();
    vault.remove("hook").unwrap();
    assert!(matches!(
        vault.get("hook"),
        Err(VaultError::NotFound { .. })
    ));
}

#[test]
fn the_store_file_never_holds_a_plaintext_value() {
    let setup = Setup::new();
    let value = "plaintext-canary-7f3a9c";
    {
        let vault = setup.vault("");
        vault.set("canary", &secret(value), None).unwrap();
        vault.get("canary").unwrap();
    }
    let store_path = setup.store.path().to_owned();
    drop(setup.store);
    let bytes = std::fs::read(store_path).unwrap();
    assert!(!bytes.windows(value.len()).any(|w| w == value.as_bytes()));
}

#[test]
fn an_identity_readable_by_others_is_refused() {
    let setup = Setup::new();
    setup
        .vault("")
        .set("a", &secret("value-aaaa"), None)
        .unwrap();
    std::fs::set_permissions(
        setup.identity_path(),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let error = setup.vault("").get("a").unwrap_err();
    assert!(
        matches!(error, VaultError::IdentityTooOpen { mode: 0o644, .. }),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains(&format!("chmod 600 {}", setup.identity_path().display()))
    );
}

#[test]
fn damaged_ciphertext_is_reported_not_decrypted() {
    let setup = Setup::new();
    let vault = setup.vault("");
    vault.set("a", &secret("value-aaaa"), None).unwrap();
    let mut row = setup.store.secret("a").unwrap().unwrap();
    let full = row.ciphertext.clone();
    row.ciphertext.truncate(full.len() - 10);
    setup.store.put_secret(&row).unwrap();
    assert!(matches!(vault.get("a"), Err(VaultError::Damaged { .. })));
    row.ciphertext = full;
    let last = row.ciphertext.len() - 1;
    row.ciphertext[last] ^= 0x55;
    setup.store.put_secret(&row).unwrap();
    let error = vault.get("a").unwrap_err();
    assert!(matches!(error, VaultError::Damaged { .. }));
    assert!(error.to_string().contains("patchbay secret set a"));
}

#[test]
fn rotation_re_encrypts_everything_and_keeps_a_private_backup() {
    let setup = Setup::new();
    let vault = setup.vault("");
    vault.set("a", &secret("value-aaaa"), None).unwrap();
    vault.set("b", &secret("value-bbbb"), None).unwrap();
    let before = setup.store.secret("a").unwrap().unwrap().ciphertext;
    let rotation = vault.rotate_key().unwrap();
    assert_eq!(rotation.secrets, 2);
    assert_ne!(setup.store.secret("a").unwrap().unwrap().ciphertext, before);
    let backup_mode = std::fs::metadata(&rotation.backup)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(backup_mode & 0o777, 0o600);
    // A fresh vault reads the new identity from disk and decrypts both.
    let reopened = setup.vault("");
    assert_eq!(reopened.get("a").unwrap().expose_secret(), "value-aaaa");
    assert_eq!(reopened.get("b").unwrap().expose_secret(), "value-bbbb");
    // The backup is the old identity: it no longer opens the store's secrets.
    let old = identity::load(&rotation.backup, &Fixed("")).unwrap();
    assert!(decrypt(&old.identity, &setup.store.secret("a").unwrap().unwrap()).is_err());
}

#[test]
fn a_rotation_interrupted_after_the_store_commit_is_finished_on_next_open() {
    let setup = Setup::new();
    let vault = setup.vault("");
    vault.set("a", &secret("value-aaaa"), None).unwrap();
    // Replay rotate_key up to the crash: pending identity written, store re-encrypted.
    let new_identity = age::x25519::Identity::generate();
    let mut row = setup.store.secret("a").unwrap().unwrap();
    row.ciphertext = encrypt(&new_identity.to_public(), &secret("value-aaaa"));
    let pending = identity::sibling(&setup.identity_path(), "new");
    identity::write(&pending, &new_identity, None).unwrap();
    setup.store.put_secret(&row).unwrap();
    let reopened = setup.vault("");
    assert_eq!(reopened.get("a").unwrap().expose_secret(), "value-aaaa");
    assert!(!pending.exists());
}

/// The crash came before the store commit: the secrets still answer to the old
/// identity, so the pending one is discarded and the old one stays in place.
#[test]
fn a_rotation_interrupted_before_the_store_commit_is_discarded_on_next_open() {
    let setup = Setup::new();
    let vault = setup.vault("");
    vault.set("a", &secret("value-aaaa"), None).unwrap();
    let identity_before = std::fs::read(setup.identity_path()).unwrap();
    let pending = identity::sibling(&setup.identity_path(), "new");
    identity::write(&pending, &age::x25519::Identity::generate(), None).unwrap();
    let reopened = setup.vault("");
    assert_eq!(reopened.get("a").unwrap().expose_secret(), "value-aaaa");
    assert!(!pending.exists(), "the unused identity was discarded");
    assert_eq!(
        std::fs::read(setup.identity_path()).unwrap(),
        identity_before,
        "the identity in use is untouched"
    );
}

#[test]
fn passphrase_protection_and_a_wrong_passphrase() {
    let setup = Setup::new();
    let vault = setup.vault("");
    vault.set("a", &secret("value-aaaa"), None).unwrap();
    vault.protect(&secret("correct horse")).unwrap();
    let text = std::fs::read_to_string(setup.identity_path()).unwrap();
    assert!(text.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"));
    assert!(!text.contains("AGE-SECRET-KEY"));
    assert_eq!(
        setup
            .vault("correct horse")
            .get("a")
            .unwrap()
            .expose_secret(),
        "value-aaaa"
    );
    let error = setup.vault("wrong").get("a").unwrap_err();
    assert!(
        matches!(error, VaultError::WrongPassphrase { .. }),
        "{error}"
    );
}

#[test]
fn invalid_names_are_refused() {
    let setup = Setup::new();
    let error = setup
        .vault("")
        .set("bad name", &secret("value-aaaa"), None)
        .unwrap_err();
    assert!(matches!(error, VaultError::InvalidName { .. }));
}
