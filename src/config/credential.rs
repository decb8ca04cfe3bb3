//! Settings that hold credentials: `"secret:NAME"` reads the vault, `"env:NAME"` the
//! environment, anything else is a literal (allowed, but `check` suggests the vault).

use std::fmt;

use secrecy::SecretString;
use serde::{Deserialize, Deserializer};

pub const SECRET_PREFIX: &str = "secret:";
pub const ENV_PREFIX: &str = "env:";

#[derive(Clone)]
pub enum Credential {
    Vault(String),
    Env(String),
    Literal(SecretString),
}

impl Credential {
    pub fn parse(text: &str) -> Self {
        if let Some(name) = text.strip_prefix(SECRET_PREFIX) {
            Self::Vault(name.trim().to_owned())
        } else if let Some(var) = text.strip_prefix(ENV_PREFIX) {
            Self::Env(var.trim().to_owned())
        } else {
            Self::Literal(SecretString::from(text.to_owned()))
        }
    }

    /// The vault name this credential reads, if it reads the vault.
    pub fn vault_name(&self) -> Option<&str> {
        match self {
            Self::Vault(name) => Some(name),
            _ => None,
        }
    }
}

/// Never shows a literal value: only where the value comes from.
impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Vault(name) => write!(f, "{SECRET_PREFIX}{name}"),
            Self::Env(var) => write!(f, "{ENV_PREFIX}{var}"),
            Self::Literal(_) => f.write_str("[redacted]"),
        }
    }
}

impl<'de> Deserialize<'de> for Credential {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(|text| Self::parse(&text))
    }
}

/// A secret name as `secret set` accepts it and `secret:NAME` may reference it.
pub fn is_valid_secret_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_values_never_print() {
        let credential = Credential::parse("hunter2-very-secret");
        assert_eq!(
            format!("{credential:?} {credential}"),
            "[redacted] [redacted]"
        );
        assert_eq!(Credential::parse("secret:gh").to_string(), "secret:gh");
        assert_eq!(Credential::parse("env:TOKEN").to_string(), "env:TOKEN");
    }

    #[test]
    fn secret_names() {
        assert!(is_valid_secret_name("github_token"));
        assert!(is_valid_secret_name("slack.webhook-url"));
        assert!(!is_valid_secret_name("has space"));
        assert!(!is_valid_secret_name(""));
    }
}
