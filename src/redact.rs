//! Redaction of known secret values from any text that leaves the process: log lines,
//! the console's log buffer, run records and error messages.

use std::borrow::Cow;
use std::sync::{Arc, LazyLock, RwLock};

use secrecy::{ExposeSecret, SecretString};

pub const REDACTED: &str = "[redacted]";

/// Shorter values would blank out ordinary words; `secret set` warns about them.
pub const MIN_REDACTED_LEN: usize = 4;

/// The set of secret values this process has seen. Cheap to clone; clones share it.
#[derive(Clone, Default)]
pub struct Redactor {
    values: Arc<RwLock<Vec<SecretString>>>,
}

impl Redactor {
    /// Remembers a value so that it is redacted from now on.
    pub fn add(&self, value: &SecretString) {
        let text = value.expose_secret();
        if text.len() < MIN_REDACTED_LEN {
            return;
        }
        let mut values = self.values.write().unwrap_or_else(|e| e.into_inner());
        if !values.iter().any(|v| v.expose_secret() == text) {
            values.push(value.clone());
            // Longest first, so a secret containing another is replaced whole.
            values.sort_by_key(|v| std::cmp::Reverse(v.expose_secret().len()));
        }
    }

    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let values = self.values.read().unwrap_or_else(|e| e.into_inner());
        let mut out = Cow::Borrowed(text);
        for value in values.iter() {
            let secret = value.expose_secret();
            if out.contains(secret) {
                out = Cow::Owned(out.replace(secret, REDACTED));
            }
        }
        out
    }
}

/// The process-wide redactor: the vault feeds it, telemetry and the console read it.
pub fn global() -> &'static Redactor {
    static GLOBAL: LazyLock<Redactor> = LazyLock::new(Redactor::default);
    &GLOBAL
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_every_known_value_longest_first() {
        let redactor = Redactor::default();
        redactor.add(&SecretString::from("abcd1234"));
        redactor.add(&SecretString::from("abcd1234-extended"));
        redactor.add(&SecretString::from("xy"));
        let text = "token=abcd1234-extended and abcd1234, xy stays";
        assert_eq!(
            redactor.redact(text),
            "token=[redacted] and [redacted], xy stays"
        );
        assert!(matches!(redactor.redact("nothing here"), Cow::Borrowed(_)));
    }
}
