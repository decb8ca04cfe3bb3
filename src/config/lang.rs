//! What the three small languages share, so they read alike and fail alike: the
//! pipeline's `drop_if`/`keep_if` (`expr.rs`), check conditions (`condition.rs`) and
//! alert rules' `when` (`alert.rs`). One way to find the comparison in a text, one
//! path model into JSON (`a.b[0].c`, or `a.b.0.c`), and one duration grammar (the
//! config's own, `HumanDuration`). Each language keeps its own surface on top.

use serde_json::Value;

use super::duration::HumanDuration;
use crate::compare::CompareOp;

/// `left OP right`, the first operator outside quotes, brackets and parentheses;
/// `contains` and `matches` only as whole words. `None` when there is none.
pub fn split_comparison(text: &str) -> Option<(&str, CompareOp, &str)> {
    let mut depth = 0i32;
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if quoted {
            match (escaped, c) {
                (false, '\\') => escaped = true,
                (false, '"') => quoted = false,
                _ => escaped = false,
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            '[' | '(' => depth += 1,
            ']' | ')' => depth -= 1,
            _ if depth == 0 => {
                let rest = &text[i..];
                let word_start = i == 0 || text[..i].ends_with(char::is_whitespace);
                for (spelling, op) in CompareOp::SPELLINGS {
                    let Some(after) = rest.strip_prefix(spelling) else {
                        continue;
                    };
                    let is_word = spelling.chars().all(char::is_alphabetic);
                    let boundary_after = after
                        .chars()
                        .next()
                        .is_none_or(|next| !is_word || next.is_whitespace());
                    if (!is_word || word_start) && boundary_after {
                        return Some((text[..i].trim(), op, after.trim()));
                    }
                }
            }
            _ => {}
        }
    }
    None
}

/// `a.b[1].c`, `.a.b.1.c` or `[0].id` → `["a", "b", "1", "c"]`: object keys and list
/// indexes, the same in every language.
pub fn parse_path(text: &str) -> Result<Vec<String>, String> {
    let mut keys = Vec::new();
    let mut rest = text;
    if !rest.starts_with(['.', '[']) && !rest.is_empty() {
        rest = take_name(rest, &mut keys, text)?;
    }
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('[') {
            let (index, after) = after
                .split_once(']')
                .ok_or_else(|| format!("`[` without `]` in `{text}`"))?;
            if index.parse::<usize>().is_err() {
                return Err(format!(
                    "`[{index}]` is not a list index: write a number, like [0]"
                ));
            }
            keys.push(index.to_owned());
            rest = after;
        } else if let Some(after) = rest.strip_prefix('.') {
            rest = take_name(after, &mut keys, text)?;
        } else {
            return Err(format!(
                "`{text}`: a path goes on with `.name` or `[index]`"
            ));
        }
    }
    Ok(keys)
}

fn take_name<'t>(text: &'t str, keys: &mut Vec<String>, whole: &str) -> Result<&'t str, String> {
    let end = text.find(['.', '[']).unwrap_or(text.len());
    if end == 0 {
        return Err(format!("an empty name in `{whole}`"));
    }
    keys.push(text[..end].to_owned());
    Ok(&text[end..])
}

/// The value at `path` in `value`: keys into objects, indexes into lists.
pub fn lookup<'a>(value: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(value, |value, key| match value {
        Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
        other => other.get(key),
    })
}

/// A duration in milliseconds, written as everywhere in the config (`500ms`, `2s`,
/// `14d`, `1h30m`); `None` when `text` is not one.
pub fn duration_millis(text: &str) -> Option<f64> {
    HumanDuration::parse(text)
        .ok()
        .map(|d| d.as_std().as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons_split_outside_quotes_brackets_and_parentheses() {
        assert_eq!(
            split_comparison(r#"[BODY].a == "x == y""#),
            Some(("[BODY].a", CompareOp::Eq, r#""x == y""#))
        );
        assert_eq!(
            split_comparison("failure_rate(1h) > 10%"),
            Some(("failure_rate(1h)", CompareOp::Gt, "10%"))
        );
        assert_eq!(
            split_comparison("tags contains \"a\""),
            Some(("tags", CompareOp::Contains, "\"a\""))
        );
        assert_eq!(split_comparison("containsx"), None);
        assert_eq!(split_comparison("auth_failed"), None);
    }

    #[test]
    fn one_path_model_for_every_language() {
        let doc = serde_json::json!({"a": {"b": [{"c": 1}, {"c": 2}]}});
        for written in ["a.b[1].c", "a.b.1.c", ".a.b[1].c"] {
            let path = parse_path(written).unwrap();
            assert_eq!(
                lookup(&doc, &path),
                Some(&serde_json::json!(2)),
                "{written}"
            );
        }
        assert_eq!(parse_path("[0].id").unwrap(), ["0", "id"]);
        assert!(parse_path("a[x]").unwrap_err().contains("not a list index"));
        assert!(parse_path("a..b").unwrap_err().contains("an empty name"));
    }

    #[test]
    fn durations_use_the_configs_grammar() {
        assert_eq!(duration_millis("500ms"), Some(500.0));
        assert_eq!(duration_millis("14d"), Some(14.0 * 86_400_000.0));
        assert_eq!(duration_millis("1h30m"), Some(5_400_000.0));
        assert_eq!(duration_millis("fast"), None);
    }
}
