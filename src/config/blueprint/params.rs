//! A blueprint's typed params: what each accepts, and the checks an instance's values
//! pass before they are put into the templates.

use std::fmt;

use serde::Serialize;
use toml::de::DeValue;

use crate::config::credential::{ENV_PREFIX, SECRET_PREFIX};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamType {
    String,
    /// An `http` or `https` URL; a trailing `/` is dropped so that
    /// `"${params.site}/path"` has one slash.
    Url,
    /// A credential reference, `secret:NAME` or `env:NAME`: a blueprint instance never
    /// holds the credential itself.
    Secret,
    Integer,
    Boolean,
}

pub const TYPE_NAMES: [&str; 5] = ["string", "url", "secret", "integer", "boolean"];

impl ParamType {
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "string" => Self::String,
            "url" => Self::Url,
            "secret" => Self::Secret,
            "integer" => Self::Integer,
            "boolean" => Self::Boolean,
            _ => return None,
        })
    }

    /// "a URL", as in "`site` must be a URL".
    pub fn article(self) -> &'static str {
        match self {
            Self::String => "a string",
            Self::Url => "an http(s) URL",
            Self::Secret => "a credential reference (`secret:NAME` or `env:NAME`)",
            Self::Integer => "a whole number",
            Self::Boolean => "true or false",
        }
    }

    /// Checks a value given for a param of this type; the error says what to write.
    pub fn check(self, value: &DeValue<'_>) -> Result<(), Mismatch> {
        let fits = match (self, value) {
            (Self::String, DeValue::String(_)) => true,
            (Self::Url, DeValue::String(text)) => is_web_url(text),
            (Self::Secret, DeValue::String(text)) => {
                let reference = [SECRET_PREFIX, ENV_PREFIX]
                    .iter()
                    .find_map(|prefix| text.strip_prefix(prefix));
                if reference.is_none() {
                    return Err(Mismatch {
                        expected: self,
                        help: "keep the credential in the vault (`patchbay secret set NAME`) and write `\"secret:NAME\"`, or `\"env:VAR\"`",
                    });
                }
                reference.is_some_and(|name| !name.trim().is_empty())
            }
            (Self::Integer, DeValue::Integer(_)) => true,
            (Self::Boolean, DeValue::Boolean(_)) => true,
            _ => false,
        };
        if fits {
            Ok(())
        } else {
            Err(Mismatch {
                expected: self,
                help: match self {
                    Self::Url => "write the full address, e.g. \"https://example.atlassian.net\"",
                    Self::Integer => "write the number without quotes",
                    Self::Boolean => "write true or false without quotes",
                    Self::String | Self::Secret => "put the value in quotes",
                },
            })
        }
    }
}

impl fmt::Display for ParamType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(TYPE_NAMES[*self as usize])
    }
}

/// Why a value does not fit its param.
#[derive(Debug)]
pub struct Mismatch {
    pub expected: ParamType,
    pub help: &'static str,
}

/// An http(s) URL, after `${VAR:-default}` references to the environment are expanded
/// as `config::url` will.
fn is_web_url(text: &str) -> bool {
    let Ok(text) = crate::config::url::expand_env(text) else {
        return false;
    };
    reqwest::Url::parse(&text)
        .is_ok_and(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
}

/// The text a param's value puts inside a longer string: `"${site}/rest/api"`.
pub fn as_text(ty: ParamType, value: &DeValue<'_>) -> String {
    match value {
        DeValue::String(text) if ty == ParamType::Url => text.trim_end_matches('/').to_owned(),
        DeValue::String(text) => text.to_string(),
        DeValue::Integer(number) => number.as_str().to_owned(),
        DeValue::Boolean(yes) => yes.to_string(),
        DeValue::Float(number) => number.as_str().to_owned(),
        other => other.type_str().to_owned(),
    }
}

/// A param's default as it would be written in TOML, for `patchbay blueprint show`.
pub fn as_toml(value: &DeValue<'_>) -> String {
    match value {
        DeValue::String(text) => format!("{:?}", text.as_ref()),
        other => as_text(ParamType::String, other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str) -> DeValue<'_> {
        DeValue::parse(text).unwrap().into_inner()
    }

    #[test]
    fn each_type_accepts_its_values_only() {
        assert!(
            ParamType::Url
                .check(&value("\"https://x.example\""))
                .is_ok()
        );
        assert!(ParamType::Url.check(&value("\"ftp://x.example\"")).is_err());
        assert!(ParamType::Url.check(&value("\"x.example\"")).is_err());
        assert!(ParamType::Secret.check(&value("\"secret:jira\"")).is_ok());
        assert!(ParamType::Secret.check(&value("\"env:JIRA\"")).is_ok());
        assert!(ParamType::Secret.check(&value("\"hunter2\"")).is_err());
        assert!(ParamType::Secret.check(&value("\"secret: \"")).is_err());
        assert!(ParamType::Integer.check(&value("50")).is_ok());
        assert!(ParamType::Integer.check(&value("\"50\"")).is_err());
        assert!(ParamType::Boolean.check(&value("true")).is_ok());
        assert!(ParamType::String.check(&value("1")).is_err());
    }

    #[test]
    fn names_round_trip() {
        for name in TYPE_NAMES {
            assert_eq!(ParamType::parse(name).unwrap().to_string(), name);
        }
    }
}
