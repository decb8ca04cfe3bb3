//! Credential references in an integration's values: every `secret:NAME` (checked,
//! listed for `check` and the vault), and near misses like `secrets:tok` that would
//! otherwise be used as the literal text.

use std::collections::BTreeSet;
use std::ops::Range;

use toml::de::DeValue;

use super::credential::{ENV_PREFIX, SECRET_PREFIX, is_valid_secret_name};
use super::de::Value;
use super::model::SecretUse;
use super::problem::Problem;

/// Every `secret:NAME` string anywhere under an integration, in file order.
pub(super) fn secret_references(value: &Value<'_>, problems: &mut Vec<Problem>) -> Vec<SecretUse> {
    type Typo = (String, &'static str, Range<usize>);
    fn walk(value: &Value<'_>, found: &mut Vec<(String, Range<usize>)>, typos: &mut Vec<Typo>) {
        match value.get_ref() {
            DeValue::String(text) => {
                if let Some(name) = text.strip_prefix(SECRET_PREFIX) {
                    found.push((name.trim().to_owned(), value.span()));
                } else if let Some(meant) = misspelled_reference(text) {
                    typos.push((text.to_string(), meant, value.span()));
                }
            }
            DeValue::Array(items) => items.iter().for_each(|item| walk(item, found, typos)),
            DeValue::Table(table) => table.values().for_each(|item| walk(item, found, typos)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    let mut typos = Vec::new();
    walk(value, &mut found, &mut typos);
    for (text, meant, span) in typos {
        let (_, name) = text.split_once(':').unwrap_or_default();
        problems.push(
            Problem::warning(
                format!("`{text}` looks like a misspelled `{meant}` reference; it is used as the literal text"),
                Some(span),
            )
            .with_help(format!("write `{meant}{name}`")),
        );
    }
    let mut names = BTreeSet::new();
    let mut ordered = Vec::new();
    for (name, span) in found {
        if !is_valid_secret_name(&name) {
            problems.push(
                Problem::error(format!("invalid secret name `{name}`"), Some(span))
                    .with_help("secret names use letters, digits, `_`, `-` and `.`"),
            );
        } else if names.insert(name.clone()) {
            ordered.push(SecretUse { name, span });
        }
    }
    ordered
}

/// `secrets:tok`, `secert:tok`, `ENV:TOKEN`: a value shaped like a credential reference
/// whose prefix is a near miss of `secret:` or `env:`. Returns the prefix meant.
fn misspelled_reference(text: &str) -> Option<&'static str> {
    let (prefix, name) = text.split_once(':')?;
    let name_like = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !name_like || prefix.is_empty() {
        return None;
    }
    let prefix = prefix.to_ascii_lowercase();
    // `secret` tolerates two slips; `env` only one, or `dev:`, `key:` would match.
    [(SECRET_PREFIX, 2), (ENV_PREFIX, 1)]
        .into_iter()
        .find(|(meant, slips)| {
            let word = meant.trim_end_matches(':');
            let differs = prefix != word || text.starts_with(|c: char| c.is_ascii_uppercase());
            differs && strsim::damerau_levenshtein(&prefix, word) <= *slips
        })
        .map(|(meant, _)| meant)
}

#[cfg(test)]
mod tests {
    #[test]
    fn near_misses_of_secret_and_env_references_are_caught() {
        use super::misspelled_reference as typo;
        assert_eq!(typo("secrets:tok"), Some("secret:"));
        assert_eq!(typo("secert:tok"), Some("secret:"));
        assert_eq!(typo("SECRET:tok"), Some("secret:"));
        assert_eq!(typo("evn:TOKEN"), Some("env:"));
        for fine in [
            "secret:tok",
            "env:TOKEN",
            "https://x",
            "dev:primary",
            "Bearer abc",
            "key:value-1",
        ] {
            assert_eq!(typo(fine), None, "{fine}");
        }
    }
}
