//! The text of one integration as the console's config view shows it: its own tables
//! from the file, literal credentials masked.

use std::ops::Range;

use toml::de::DeValue;

use super::credential::{ENV_PREFIX, SECRET_PREFIX};
use super::de::Value;

/// The text of the integration whose `[[integration]]` header starts at `start`: up
/// to the next table that is not one of its own `[integration.*]` sub-tables.
pub(super) fn integration_text(text: &str, start: usize) -> String {
    table_text(text, start, "integration")
}

/// The text of the `[[header]]` table starting at `start`, with its `[header.*]`
/// sub-tables.
pub(super) fn table_text(text: &str, start: usize, header: &str) -> String {
    let own_prefix = format!("[{header}.");
    let spaced_prefix = format!("[ {header}.");
    let rest = &text[start.min(text.len())..];
    let mut end = rest.len();
    let mut offset = 0;
    for (index, line) in rest.split_inclusive('\n').enumerate() {
        let trimmed = line.trim_start();
        let own = trimmed.starts_with(&own_prefix) || trimmed.starts_with(&spaced_prefix);
        if index > 0 && trimmed.starts_with('[') && !own {
            end = offset;
            break;
        }
        offset += line.len();
    }
    rest[..end].trim_end().to_owned()
}

/// Keys whose values are credentials, whatever the kind (`[integration.auth]`'s
/// `token`, `key`, `password`, ..., `signing_secret`, `verify.secret`), and every
/// header value.
const CREDENTIAL_KEYS: [&str; 6] = [
    "token",
    "key",
    "password",
    "client_secret",
    "refresh_token",
    "signing_secret",
];

/// The string values under an integration's table `value` that hold a literal
/// credential. Only values of credential keys count, so `primary_key = "id"` and
/// `cursor_field` stay readable; `secret:` and `env:` references do not count, as they
/// name a credential rather than hold it.
fn credential_literals<'v, 'i>(value: &'v Value<'i>, kind: &str) -> Vec<&'v Value<'i>> {
    fn walk<'v, 'i>(
        value: &'v Value<'i>,
        kind: &str,
        credential: bool,
        found: &mut Vec<&'v Value<'i>>,
    ) {
        match value.get_ref() {
            DeValue::String(s) if credential => {
                let reference = s.starts_with(SECRET_PREFIX) || s.starts_with(ENV_PREFIX);
                if !reference && !s.is_empty() {
                    found.push(value);
                }
            }
            DeValue::Table(table) => {
                for (key, inner) in table {
                    let key = key.get_ref().as_ref();
                    let database_url =
                        (key == "url" && kind == "sql") || (key == "sql" && kind == "check");
                    let is_credential = CREDENTIAL_KEYS.contains(&key)
                        || (key == "secret" && table.contains_key("header"))
                        // A chat webhook URL grants posting: it is the credential.
                        || (key == "url" && matches!(kind, "slack" | "discord"))
                        // A database URL is masked when it carries a password.
                        || (database_url && inner.get_ref().as_str().is_none_or(has_password));
                    let headers = key == "headers";
                    match inner.get_ref() {
                        DeValue::Table(headers_table) if headers => {
                            for (_, header) in headers_table {
                                walk(header, kind, true, found);
                            }
                        }
                        _ => walk(inner, kind, is_credential, found),
                    }
                }
            }
            DeValue::Array(items) => items.iter().for_each(|item| walk(item, kind, false, found)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    walk(value, kind, false, &mut found);
    found
}

/// An integration's `text` (which starts at file offset `start`) with the literal
/// credentials of its table `value` replaced by `"***"`.
pub(super) fn mask_credentials(text: &str, start: usize, value: &Value<'_>, kind: &str) -> String {
    let mut spans: Vec<Range<usize>> = credential_literals(value, kind)
        .into_iter()
        .map(|literal| literal.span())
        .collect();
    spans.sort_by_key(|span| span.start);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for span in spans {
        let Some(local) = span.start.checked_sub(start).map(|s| s..span.end - start) else {
            continue;
        };
        if local.start < at || local.end > text.len() {
            continue;
        }
        out.push_str(&text[at..local.start]);
        out.push_str("\"***\"");
        at = local.end;
    }
    out.push_str(&text[at..]);
    out
}

/// An integration's table as JSON, literal credentials replaced by `"***"`: what
/// `patchbay check --json` shows of a blueprint instance after expansion.
pub(super) fn masked_json(value: &Value<'_>, kind: &str) -> serde_json::Value {
    fn convert(value: &Value<'_>, masked: &[&Value<'_>]) -> serde_json::Value {
        use serde_json::Value as Json;
        if masked.iter().any(|literal| std::ptr::eq(*literal, value)) {
            return Json::from("***");
        }
        match value.get_ref() {
            DeValue::String(text) => Json::from(text.as_ref()),
            DeValue::Integer(number) => i64::from_str_radix(number.as_str(), number.radix())
                .map_or_else(|_| Json::from(number.as_str()), Json::from),
            DeValue::Float(number) => number
                .as_str()
                .parse::<f64>()
                .map_or_else(|_| Json::from(number.as_str()), Json::from),
            DeValue::Boolean(yes) => Json::from(*yes),
            DeValue::Datetime(datetime) => Json::from(datetime.to_string()),
            DeValue::Array(items) => items.iter().map(|item| convert(item, masked)).collect(),
            DeValue::Table(table) => Json::Object(
                table
                    .iter()
                    .map(|(key, inner)| (key.get_ref().to_string(), convert(inner, masked)))
                    .collect(),
            ),
        }
    }
    convert(value, &credential_literals(value, kind))
}

/// Whether a URL holds a password (`postgres://user:pw@host`). One that does not
/// parse is treated as if it did.
fn has_password(url: &str) -> bool {
    reqwest::Url::parse(url).map_or(true, |url| url.password().is_some())
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, SourceFile};

    #[test]
    fn an_integrations_text_is_its_tables_with_literal_credentials_masked() {
        let text = "[[integration]]\nname = \"a\"\nkind = \"http\"\nevery = \"1m\"\n[integration.auth]\ntype = \"bearer\"\ntoken = \"literal-token\"\n[integration.request]\nurl = \"http://x\"\n\n[[integration]]\nname = \"b\"\nkind = \"webhook\"\nurl = \"http://y\"\nsigning_secret = \"secret:k\"\n";
        let config = Config::parse(SourceFile::new("c.toml", text));
        let a = &config.integrations[0].source_text;
        assert!(config.is_valid(), "{}", config.render_problems());
        assert!(
            a.starts_with("[[integration]]\nname = \"a\"") && a.ends_with("url = \"http://x\""),
            "{a}"
        );
        assert!(
            a.contains("token = \"***\"") && !a.contains("literal-token"),
            "{a}"
        );
        let b = &config.integrations[1].source_text;
        assert!(
            b.contains("signing_secret = \"secret:k\""),
            "references stay: {b}"
        );
    }

    #[test]
    fn only_credentials_are_masked_wherever_they_are_written() {
        let text = "[[integration]]\nname = \"a\"\nkind = \"http\"\nevery = \"1m\"\n\
                    auth = { type = \"basic\", username = \"ops\", password = \"pw-literal\" }\n\
                    [integration.request]\nurl = \"http://x\"\nheaders = { Authorization = \"Bearer hdr-literal\", Accept = \"application/json\" }\n\
                    [integration.records]\nprimary_key = \"id\"\n\
                    [[integration]]\nname = \"chat\"\nkind = \"slack\"\nurl = \"https://hooks.example/T/B/slack-literal\"\n";
        let config = Config::parse(SourceFile::new("c.toml", text));
        assert!(config.is_valid(), "{}", config.render_problems());
        let a = &config.integrations[0].source_text;
        for hidden in ["pw-literal", "hdr-literal"] {
            assert!(!a.contains(hidden), "{a}");
        }
        for shown in [
            "primary_key = \"id\"",
            "username = \"ops\"",
            "url = \"http://x\"",
        ] {
            assert!(a.contains(shown), "{shown} in {a}");
        }
        let chat = &config.integrations[1].source_text;
        assert!(
            chat.contains("url = \"***\"") && !chat.contains("slack-literal"),
            "{chat}"
        );
    }

    #[test]
    fn a_database_url_is_masked_when_it_holds_a_password() {
        let text = "[[integration]]\nname = \"a\"\nkind = \"sql\"\nurl = \"postgres://app:db-pw-literal@db/x\"\ntable = \"t\"\n\
                    [[integration]]\nname = \"b\"\nkind = \"sql\"\nurl = \"sqlite://warehouse.db\"\ntable = \"t\"\n\
                    [[integration]]\nname = \"c\"\nkind = \"check\"\nevery = \"1m\"\n\
                    probe = { sql = \"mysql://root:probe-pw-literal@db/x\", query = \"SELECT 1\" }\n";
        let config = Config::parse(SourceFile::new("c.toml", text));
        assert!(config.is_valid(), "{}", config.render_problems());
        let texts: Vec<&str> = config
            .integrations
            .iter()
            .map(|i| i.source_text.as_str())
            .collect();
        assert!(
            texts[0].contains("url = \"***\"") && !texts[0].contains("db-pw-literal"),
            "{}",
            texts[0]
        );
        assert!(
            texts[1].contains("url = \"sqlite://warehouse.db\""),
            "{}",
            texts[1]
        );
        assert!(!texts[2].contains("probe-pw-literal"), "{}", texts[2]);
    }
}
