//! The condition language of health checks (after Gatus):
//!
//! ```text
//! [STATUS] == 200                 [STATUS] == any(200, 204)
//! [RESPONSE_TIME] < 500           [RESPONSE_TIME] < 2s
//! [BODY].status == "UP"           [BODY] contains "ok"      [BODY].items[0].id > 3
//! [HEADER].content-type contains "json"
//! [CONNECTED] == true             [CERTIFICATE_EXPIRATION] > 14d
//! [BODY].version matches "^2\."   [BODY][0].id == 1         any(200, 429) == [STATUS]
//! [BODY].user.firstName != [BODY].user.lastName
//! [ROWS] > 0                      [VALUE] < 30              (a `sql` probe)
//! ```
//!
//! As in Gatus, a placeholder may stand on either side, or on both; array elements
//! are `[1]` (or `.1`).
//!
//! Times are written as everywhere in the config (`500ms`, `2s`, `14d`, `1h30m`); a bare
//! number is milliseconds. Parsed
//! when the config loads; a failed condition says what it saw:
//! `[RESPONSE_TIME] < 500 failed: 812 ms`.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use regex::Regex;
use serde_json::Value;

use super::lang::{duration_millis, lookup, parse_path, split_comparison};
use crate::compare::CompareOp as Op;

/// What a probe saw, for conditions to judge.
#[derive(Debug, Clone, Default)]
pub struct Observation {
    pub connected: bool,
    pub status: Option<u16>,
    pub response_time: Duration,
    pub body: Option<String>,
    pub headers: HashMap<String, String>,
    /// When the server's certificate expires.
    pub certificate_not_after: Option<chrono::DateTime<chrono::Utc>>,
    /// Rows a `sql` probe's query returned.
    pub rows: Option<u64>,
    /// The first column of the first row a `sql` probe's query returned.
    pub value: Option<Value>,
    /// What the server said when the probe got an error instead of an answer.
    pub error: Option<String>,
}

impl Observation {
    /// Until the server's certificate expires (negative once it has).
    pub fn certificate_expires_in(&self) -> Option<chrono::Duration> {
        self.certificate_not_after.map(|at| at - chrono::Utc::now())
    }
}

#[derive(Clone)]
pub struct Condition {
    source: String,
    subject: Subject,
    op: Op,
    expected: Expected,
}

#[derive(Debug, Clone, PartialEq)]
enum Subject {
    Status,
    ResponseTime,
    Body(Vec<String>),
    Header(String),
    Connected,
    CertificateExpiration,
    Rows,
    Value,
}

#[derive(Debug, Clone)]
enum Expected {
    /// Another placeholder's value, as this probe saw it.
    Placeholder(Subject),
    Number(f64),
    /// Milliseconds.
    Duration(f64),
    Text(String),
    Bool(bool),
    AnyOf(Vec<Expected>),
    Pattern(Regex),
}

/// The value a subject had, as the failure message shows it.
#[derive(Debug, Clone, PartialEq)]
enum Actual {
    Number(f64),
    Millis(f64),
    Text(String),
    Bool(bool),
    Missing,
}

impl fmt::Display for Actual {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Number(n) => write!(f, "{n}"),
            Self::Millis(ms) if *ms >= 172_800_000.0 => write!(f, "{:.0} d", ms / 86_400_000.0),
            Self::Millis(ms) => write!(f, "{ms:.0} ms"),
            Self::Text(t) if t.chars().count() > 60 => {
                write!(f, "\"{}…\"", t.chars().take(60).collect::<String>())
            }
            Self::Text(t) => write!(f, "\"{t}\""),
            Self::Bool(b) => write!(f, "{b}"),
            Self::Missing => f.write_str("nothing"),
        }
    }
}

impl Condition {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let fail = |why: String| format!("condition `{text}`: {why}");
        let (left, op, right) = split_comparison(text).ok_or_else(|| {
            fail("expected an operator: ==, !=, <, <=, >, >=, contains, matches".into())
        })?;
        if right.is_empty() {
            return Err(fail("expected a value after the operator".into()));
        }
        // A placeholder on the right only (`any(200, 429) == [STATUS]`) is the same
        // condition turned round.
        let right_is_placeholder = right.starts_with('[');
        let (subject_text, op, value) = if !left.starts_with('[') && right_is_placeholder {
            let mirrored = op.mirrored().ok_or_else(|| {
                fail(format!(
                    "`{}` needs the placeholder on its left",
                    op.spelling()
                ))
            })?;
            (right, mirrored, left)
        } else {
            (left, op, right)
        };
        let subject = parse_subject(subject_text).map_err(fail)?;
        let expected = if op == Op::Matches {
            let pattern =
                unquote(value).ok_or_else(|| fail("`matches` takes a regex in quotes".into()))?;
            Expected::Pattern(
                Regex::new(&pattern).map_err(|e| fail(format!("invalid regex: {e}")))?,
            )
        } else if value.starts_with('[') {
            Expected::Placeholder(parse_subject(value).map_err(fail)?)
        } else {
            parse_expected(value).map_err(fail)?
        };
        Ok(Self {
            source: text.to_owned(),
            subject,
            op,
            expected,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// `Ok(())` when the observation meets the condition; else what was seen.
    pub fn check(&self, seen: &Observation) -> Result<(), String> {
        let actual = self.actual(seen);
        if self.holds(&actual, &self.expected, seen) {
            Ok(())
        } else {
            Err(format!("{} failed: {actual}", self.source))
        }
    }

    fn actual(&self, seen: &Observation) -> Actual {
        actual(&self.subject, seen)
    }

    fn holds(&self, seen_here: &Actual, expected: &Expected, seen: &Observation) -> bool {
        match expected {
            Expected::AnyOf(options) => {
                let any = options.iter().any(|o| compare(seen_here, Op::Eq, o));
                if self.op == Op::Ne { !any } else { any }
            }
            Expected::Placeholder(other) => match as_expected(actual(other, seen)) {
                Some(other) => compare(seen_here, self.op, &other),
                // Nothing to compare with: only `!=` can hold, and only if this side
                // has a value.
                None => self.op == Op::Ne && *seen_here != Actual::Missing,
            },
            expected => compare(seen_here, self.op, expected),
        }
    }
}

/// The value `subject` had in `seen`.
fn actual(subject: &Subject, seen: &Observation) -> Actual {
    match subject {
        Subject::Status => seen
            .status
            .map_or(Actual::Missing, |s| Actual::Number(f64::from(s))),
        Subject::ResponseTime => Actual::Millis(seen.response_time.as_secs_f64() * 1000.0),
        Subject::Connected => Actual::Bool(seen.connected),
        Subject::Rows => seen
            .rows
            .map_or(Actual::Missing, |n| Actual::Number(n as f64)),
        Subject::Value => seen.value.as_ref().map_or(Actual::Missing, scalar),
        Subject::CertificateExpiration => {
            seen.certificate_expires_in().map_or(Actual::Missing, |d| {
                Actual::Millis(d.num_milliseconds() as f64)
            })
        }
        Subject::Header(name) => seen
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map_or(Actual::Missing, |(_, v)| Actual::Text(v.clone())),
        Subject::Body(path) if path.is_empty() => {
            seen.body.clone().map_or(Actual::Missing, Actual::Text)
        }
        Subject::Body(path) => {
            let Some(doc) = seen
                .body
                .as_deref()
                .and_then(|b| serde_json::from_str::<Value>(b).ok())
            else {
                return Actual::Missing;
            };
            lookup(&doc, path).map_or(Actual::Missing, scalar)
        }
    }
}

/// A JSON value as conditions compare it.
fn scalar(value: &Value) -> Actual {
    match value {
        Value::Number(n) => Actual::Number(n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => Actual::Text(s.clone()),
        Value::Bool(b) => Actual::Bool(*b),
        Value::Null => Actual::Missing,
        other => Actual::Text(other.to_string()),
    }
}

/// Another placeholder's value as something to compare with.
fn as_expected(actual: Actual) -> Option<Expected> {
    match actual {
        Actual::Number(n) => Some(Expected::Number(n)),
        Actual::Millis(ms) => Some(Expected::Duration(ms)),
        Actual::Text(t) => Some(Expected::Text(t)),
        Actual::Bool(b) => Some(Expected::Bool(b)),
        Actual::Missing => None,
    }
}

fn compare(actual: &Actual, op: Op, expected: &Expected) -> bool {
    use std::cmp::Ordering;
    let ordering: Option<Ordering> = match (actual, expected) {
        (Actual::Number(a) | Actual::Millis(a), Expected::Number(b) | Expected::Duration(b)) => {
            a.partial_cmp(b)
        }
        (Actual::Text(a), Expected::Number(b)) => {
            a.trim().parse::<f64>().ok().and_then(|a| a.partial_cmp(b))
        }
        (Actual::Text(a), Expected::Text(b)) => Some(a.as_str().cmp(b.as_str())),
        (Actual::Bool(a), Expected::Bool(b)) => Some(a.cmp(b)),
        _ => None,
    };
    match op {
        Op::Eq | Op::Ne | Op::Lt | Op::Le | Op::Gt | Op::Ge => op.accepts(ordering),
        Op::Contains => match (actual, expected) {
            (Actual::Text(a), Expected::Text(b)) => a.contains(b.as_str()),
            _ => false,
        },
        Op::Matches => match (actual, expected) {
            (Actual::Text(a), Expected::Pattern(p)) => p.is_match(a),
            (Actual::Number(n), Expected::Pattern(p)) => p.is_match(&n.to_string()),
            _ => false,
        },
    }
}

fn parse_subject(text: &str) -> Result<Subject, String> {
    let subjects: [(&str, Subject); 8] = [
        ("[STATUS]", Subject::Status),
        ("[RESPONSE_TIME]", Subject::ResponseTime),
        ("[CONNECTED]", Subject::Connected),
        ("[CERTIFICATE_EXPIRATION]", Subject::CertificateExpiration),
        ("[BODY]", Subject::Body(Vec::new())),
        ("[HEADER]", Subject::Header(String::new())),
        ("[ROWS]", Subject::Rows),
        ("[VALUE]", Subject::Value),
    ];
    let Some((prefix, subject)) = subjects.into_iter().find(|(p, _)| text.starts_with(p)) else {
        // `[BODY.status]`: the path belongs outside the brackets.
        if let Some(inner) = text.strip_prefix('[')
            && let Some((placeholder, rest)) = inner.split_once(']')
            && let Some((name, path)) = placeholder.split_once('.')
        {
            return Err(format!(
                "write `[{name}].{path}{rest}`: the path goes after the placeholder"
            ));
        }
        return Err("start with a placeholder: [STATUS], [RESPONSE_TIME], [BODY], [HEADER].name, [CONNECTED], [CERTIFICATE_EXPIRATION], [ROWS] or [VALUE]".into());
    };
    let path = text[prefix.len()..].trim_end();
    match subject {
        Subject::Body(_) => Ok(Subject::Body(parse_path(path)?)),
        Subject::Header(_) => {
            let name = path
                .strip_prefix('.')
                .filter(|n| !n.is_empty())
                .ok_or("[HEADER] needs a name: [HEADER].content-type")?;
            Ok(Subject::Header(name.to_owned()))
        }
        other if path.is_empty() => Ok(other),
        _ => Err(format!("`{prefix}` takes no path")),
    }
}

fn unquote(text: &str) -> Option<String> {
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    Some(inner.replace("\\\"", "\""))
}

fn parse_expected(text: &str) -> Result<Expected, String> {
    if let Some(inner) = text.strip_prefix("any(").and_then(|t| t.strip_suffix(')')) {
        let options = inner
            .split(',')
            .map(|part| parse_expected(part.trim()))
            .collect::<Result<Vec<_>, _>>()?;
        if options.is_empty() {
            return Err("any() needs at least one value".into());
        }
        return Ok(Expected::AnyOf(options));
    }
    if let Some(text) = unquote(text) {
        return Ok(Expected::Text(text));
    }
    match text {
        "true" => return Ok(Expected::Bool(true)),
        "false" => return Ok(Expected::Bool(false)),
        _ => {}
    }
    if text.ends_with(|c: char| c.is_ascii_alphabetic())
        && let Some(millis) = duration_millis(text)
    {
        return Ok(Expected::Duration(millis));
    }
    text.parse::<f64>()
        .map(Expected::Number)
        .map_err(|_| format!("`{text}` is not a value: use a number (with a unit like 500ms or 14d), \"text\", true, false or any(...)"))
}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Condition({})", self.source)
    }
}

crate::config::deserialize_with_parse!(Condition);

#[cfg(test)]
mod tests {
    use super::*;

    fn seen() -> Observation {
        Observation {
            connected: true,
            status: Some(200),
            response_time: Duration::from_millis(812),
            body: Some(r#"{"status": "UP", "version": "2.4.1", "items": [{"id": 7}]}"#.into()),
            headers: HashMap::from([("Content-Type".to_owned(), "application/json".to_owned())]),
            certificate_not_after: Some(chrono::Utc::now() + chrono::Duration::days(30)),
            rows: Some(3),
            value: Some(Value::from(12.5)),
            error: None,
        }
    }

    fn verdict(text: &str) -> Result<(), String> {
        Condition::parse(text)
            .unwrap_or_else(|e| panic!("{e}"))
            .check(&seen())
    }

    #[test]
    fn every_placeholder_and_operator() {
        for passing in [
            "[STATUS] == 200",
            "[STATUS] != 500",
            "[STATUS] == any(200, 204)",
            "[STATUS] != any(500, 502)",
            "[STATUS] < 300",
            "[STATUS] <= 200",
            "[STATUS] >= 200",
            "[RESPONSE_TIME] > 500",
            "[RESPONSE_TIME] < 1s",
            "[BODY].status == \"UP\"",
            "[BODY] contains \"UP\"",
            "[BODY].version matches \"^2\\.\"",
            "[BODY].items.0.id > 3",
            "[HEADER].content-type contains \"json\"",
            "[CONNECTED] == true",
            "[ROWS] == 3",
            "[ROWS] > 0",
            "[VALUE] < 30",
            "[VALUE] == 12.5",
            "[CERTIFICATE_EXPIRATION] > 14d",
        ] {
            assert_eq!(verdict(passing), Ok(()), "{passing}");
        }
        assert_eq!(
            verdict("[RESPONSE_TIME] < 500"),
            Err("[RESPONSE_TIME] < 500 failed: 812 ms".into())
        );
        assert_eq!(
            verdict("[BODY].status == \"DOWN\""),
            Err("[BODY].status == \"DOWN\" failed: \"UP\"".into())
        );
        assert_eq!(
            verdict("[CERTIFICATE_EXPIRATION] > 60d"),
            Err("[CERTIFICATE_EXPIRATION] > 60d failed: 30 d".into())
        );
        assert_eq!(
            verdict("[BODY].missing == 1"),
            Err("[BODY].missing == 1 failed: nothing".into())
        );
    }

    /// Conditions as Gatus users write them.
    #[test]
    fn gatus_forms_bracket_indexes_and_placeholders_on_either_side() {
        let seen = Observation {
            status: Some(429),
            body: Some(
                r#"{"data": [{"id": 1}, {"id": 2}], "user": {"firstName": "Ada", "lastName": "Lovelace"}}"#
                    .into(),
            ),
            ..Observation::default()
        };
        let top_level = Observation {
            body: Some(r#"[{"id": 1}]"#.into()),
            ..Observation::default()
        };
        let check = |text: &str, seen: &Observation| {
            Condition::parse(text)
                .unwrap_or_else(|e| panic!("{e}"))
                .check(seen)
        };
        for passing in [
            "[BODY].data[1].id == 2",
            "[BODY].data.1.id == 2",
            "[BODY].user.firstName != [BODY].user.lastName",
            "any(200, 429) == [STATUS]",
            "500 > [STATUS]",
            "[BODY].user.firstName == \"Ada\"",
        ] {
            assert_eq!(check(passing, &seen), Ok(()), "{passing}");
        }
        assert_eq!(check("[BODY][0].id == 1", &top_level), Ok(()));
        assert_eq!(
            check("[BODY].user.firstName == [BODY].user.lastName", &seen),
            Err("[BODY].user.firstName == [BODY].user.lastName failed: \"Ada\"".into())
        );
    }

    proptest::proptest! {
        #[test]
        fn any_text_parses_or_fails_without_panicking(text in ".{0,80}") {
            let _ = Condition::parse(&text);
        }

        #[test]
        fn operators_with_placeholders_always_parse(
            path in "[a-z]{1,6}(\\[[0-9]{1,2}\\]|\\.[a-z]{1,6}){0,3}",
            op in proptest::sample::select(vec!["==", "!=", "<", "<=", ">", ">="]),
            number in 0u32..100_000,
        ) {
            let text = format!("[BODY].{path} {op} {number}");
            proptest::prop_assert!(Condition::parse(&text).is_ok(), "{}", text);
        }
    }

    #[test]
    fn parse_errors_say_what_to_write() {
        for (text, expected) in [
            ("STATUS == 200", "start with a placeholder"),
            (
                "[BODY.status] == \"UP\"",
                "write `[BODY].status`: the path goes after the placeholder",
            ),
            ("[BODY].a[x] == 1", "`[x]` is not a list index"),
            ("[BODY].a..b == 1", "an empty name"),
            ("\"x\" contains [BODY]", "needs the placeholder on its left"),
            ("[STATUS] = 200", "expected an operator"),
            ("[STATUS] ==", "expected a value"),
            ("[STATUS] == fast", "is not a value"),
            ("[HEADER] == \"x\"", "[HEADER] needs a name"),
            ("[STATUS].code == 1", "takes no path"),
            ("[BODY] matches \"(\"", "invalid regex"),
            ("[BODY] matches 3", "takes a regex in quotes"),
        ] {
            let error = Condition::parse(text).unwrap_err();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }
}
