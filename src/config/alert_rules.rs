//! Decoding the `[[alert]]` tables and checking them against the integrations: every
//! output a rule notifies and every integration it names must exist, located at the
//! place it is written.

use std::collections::HashSet;
use std::ops::Range;

use toml::de::DeValue;

use super::alert::{AlertRule, Glob};
use super::de::{OuterKeys, Value, decode};
use super::problem::Problem;
use crate::config::kinds::{KindSpec, Role};
use crate::domain::did_you_mean;

/// An integration as the rules are checked against it: its name and, when known, its kind.
pub(super) type Known<'a> = (&'a str, Option<&'static KindSpec>);

pub(super) fn decode_alerts(
    tables: &[&Value<'_>],
    integrations: &[Known<'_>],
    problems: &mut Vec<Problem>,
) -> Vec<AlertRule> {
    let mut rules = Vec::new();
    let mut names = HashSet::new();
    for table in tables {
        let decoded = decode::<AlertRule>(table, OuterKeys::Report);
        problems.extend(decoded.problems);
        check_references(table, "notify", problems, |name, span| {
            check_notify(name, span, integrations)
        });
        check_references(table, "integrations", problems, |name, span| {
            check_watched(name, span, integrations)
        });
        match decoded.value {
            Ok(rule) if !names.insert(rule.name.clone()) => problems.push(
                Problem::error(
                    format!("duplicate alert name `{}`", rule.name),
                    string_span(table, "name"),
                )
                .with_help(
                    "every alert rule needs a unique name: silences and history refer to it",
                ),
            ),
            Ok(rule) => {
                if rule.notify.is_empty() {
                    problems.push(
                        Problem::warning(
                            format!("alert `{}` notifies no one", rule.name),
                            string_span(table, "name"),
                        )
                        .with_help("add `notify = [\"OUTPUT\"]`; until then it shows only in the console and `patchbay alerts`"),
                    );
                }
                rules.push(rule);
            }
            Err(error) => problems.push(error.into_problem()),
        }
    }
    rules
}

fn check_notify(name: &str, span: Range<usize>, integrations: &[Known<'_>]) -> Option<Problem> {
    let help =
        "name an integration of an output kind (webhook, slack, discord, file, sql with `table`)";
    match integrations.iter().find(|(n, _)| *n == name) {
        None => Some(
            Problem::error(
                format!("alert output `{name}` is not an integration"),
                Some(span),
            )
            .with_help(suggest(name, integrations).unwrap_or_else(|| help.to_owned())),
        ),
        Some((_, Some(kind))) if !kind.roles.contains(&Role::Output) => Some(
            Problem::error(
                format!(
                    "`{name}` is a `{}` integration and cannot deliver a notification",
                    kind.name
                ),
                Some(span),
            )
            .with_help(help),
        ),
        Some(_) => None,
    }
}

fn check_watched(pattern: &str, span: Range<usize>, integrations: &[Known<'_>]) -> Option<Problem> {
    let glob = Glob(pattern.to_owned());
    if integrations.iter().any(|(name, _)| glob.matches(name)) {
        return None;
    }
    Some(if glob.is_pattern() {
        Problem::warning(format!("`{pattern}` matches no integration"), Some(span))
            .with_help("the rule watches nothing until an integration's name matches")
    } else {
        Problem::error(
            format!("alert watches `{pattern}`, which is not an integration"),
            Some(span),
        )
        .with_help(
            suggest(pattern, integrations)
                .unwrap_or_else(|| "name an integration, or a glob like \"orders-*\"".to_owned()),
        )
    })
}

fn suggest(name: &str, integrations: &[Known<'_>]) -> Option<String> {
    did_you_mean(name, integrations.iter().map(|(n, _)| *n))
        .map(|close| format!("did you mean `{close}`?"))
}

/// Runs `check` on every string of the array at `key`, with the string's location.
fn check_references(
    table: &Value<'_>,
    key: &str,
    problems: &mut Vec<Problem>,
    check: impl Fn(&str, Range<usize>) -> Option<Problem>,
) {
    let Some(DeValue::Array(items)) = entry(table, key).map(|v| v.get_ref()) else {
        return;
    };
    for item in items {
        if let Some(text) = item.get_ref().as_str() {
            problems.extend(check(text, item.span()));
        }
    }
}

fn entry<'a, 'i>(table: &'a Value<'i>, key: &str) -> Option<&'a Value<'i>> {
    table
        .get_ref()
        .as_table()?
        .iter()
        .find(|(k, _)| k.get_ref() == key)
        .map(|(_, v)| v)
}

fn string_span(table: &Value<'_>, key: &str) -> Option<Range<usize>> {
    entry(table, key).map(|v| v.span())
}
