//! SQL text that patchbay writes: quoted identifiers, placeholders in each dialect's
//! spelling, and the user's `:name` parameters turned into placeholders. Values never
//! enter the text; only placeholders and quoted names do.

use crate::config::kinds::sql::Dialect;

/// `name` quoted as an identifier: `"a""b"` (PostgreSQL, SQLite) or `` `a``b` `` (MySQL).
/// A dotted name (`schema.table`) quotes each part.
pub fn quote(dialect: Dialect, name: &str) -> String {
    let q = match dialect {
        Dialect::MySql => '`',
        Dialect::Postgres | Dialect::Sqlite => '"',
    };
    name.split('.')
        .map(|part| {
            let escaped = part.replace(q, &format!("{q}{q}"));
            format!("{q}{escaped}{q}")
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// Numbers placeholders as the dialect spells them: `$1, $2` or `?, ?`.
#[derive(Debug)]
pub struct Placeholders {
    dialect: Dialect,
    next: usize,
}

impl Placeholders {
    /// Starting after `used` placeholders already in the statement.
    pub fn after(dialect: Dialect, used: usize) -> Self {
        Self {
            dialect,
            next: used + 1,
        }
    }

    pub fn next(&mut self) -> String {
        let n = self.next;
        self.next += 1;
        match self.dialect {
            Dialect::Postgres => format!("${n}"),
            Dialect::MySql | Dialect::Sqlite => "?".to_owned(),
        }
    }
}

/// A query with its `:name` parameters replaced by placeholders, and the names in the
/// order their values must be bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewritten {
    pub sql: String,
    pub binds: Vec<String>,
}

/// Replaces every `:name` outside string literals, quoted identifiers and comments
/// with a placeholder. `::type` casts and `:=` are left alone. On PostgreSQL a name
/// used twice is one placeholder; the `?` dialects bind it twice.
pub fn rewrite_named(dialect: Dialect, sql: &str) -> Rewritten {
    let mut out = String::with_capacity(sql.len());
    let mut binds: Vec<String> = Vec::new();
    let chars: Vec<char> = sql.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\'' | '"' | '`' => {
                let end = closing_quote(&chars, i, c);
                out.extend(&chars[i..end]);
                i = end;
            }
            '-' if chars.get(i + 1) == Some(&'-') => {
                let end = chars[i..]
                    .iter()
                    .position(|&c| c == '\n')
                    .map_or(chars.len(), |p| i + p);
                out.extend(&chars[i..end]);
                i = end;
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                let end = (i + 2..chars.len().saturating_sub(1))
                    .find(|&j| chars[j] == '*' && chars[j + 1] == '/')
                    .map_or(chars.len(), |j| j + 2);
                out.extend(&chars[i..end]);
                i = end;
            }
            ':' if chars.get(i + 1) == Some(&':') => {
                out.push_str("::");
                i += 2;
            }
            ':' if i > 0 && chars[i - 1] == ':' => {
                out.push(c);
                i += 1;
            }
            ':' if chars
                .get(i + 1)
                .is_some_and(|c| c.is_ascii_alphabetic() || *c == '_') =>
            {
                let start = i + 1;
                let end = chars[start..]
                    .iter()
                    .position(|c| !(c.is_ascii_alphanumeric() || *c == '_'))
                    .map_or(chars.len(), |p| start + p);
                let name: String = chars[start..end].iter().collect();
                match dialect {
                    Dialect::Postgres => {
                        let n = match binds.iter().position(|b| *b == name) {
                            Some(p) => p + 1,
                            None => {
                                binds.push(name);
                                binds.len()
                            }
                        };
                        out.push_str(&format!("${n}"));
                    }
                    Dialect::MySql | Dialect::Sqlite => {
                        binds.push(name);
                        out.push('?');
                    }
                }
                i = end;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    Rewritten { sql: out, binds }
}

/// The index just past the quote that closes the one at `open`; a doubled quote is
/// an escaped one. Unclosed: the end of the text.
fn closing_quote(chars: &[char], open: usize, quote: char) -> usize {
    let mut j = open + 1;
    while j < chars.len() {
        if chars[j] == quote {
            if chars.get(j + 1) == Some(&quote) {
                j += 2;
                continue;
            }
            return j + 1;
        }
        // MySQL's backslash escapes inside strings.
        if chars[j] == '\\' && quote == '\'' {
            j += 2;
            continue;
        }
        j += 1;
    }
    chars.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn named_parameters_become_placeholders() {
        let r = rewrite_named(
            Dialect::Postgres,
            "SELECT * FROM t WHERE a = :tenant AND b > :min AND c = :tenant",
        );
        assert_eq!(r.sql, "SELECT * FROM t WHERE a = $1 AND b > $2 AND c = $1");
        assert_eq!(r.binds, ["tenant", "min"]);
        let r = rewrite_named(Dialect::MySql, "SELECT :a, :b, :a");
        assert_eq!(r.sql, "SELECT ?, ?, ?");
        assert_eq!(r.binds, ["a", "b", "a"]);
    }

    #[test]
    fn literals_comments_and_casts_keep_their_colons() {
        let sql = "SELECT ':x', \"a:b\", `c:d`, now()::date, 'it''s :y' -- :z\n/* :w */ FROM t WHERE x = :v";
        let r = rewrite_named(Dialect::Postgres, sql);
        assert_eq!(
            r.sql,
            "SELECT ':x', \"a:b\", `c:d`, now()::date, 'it''s :y' -- :z\n/* :w */ FROM t WHERE x = $1"
        );
        assert_eq!(r.binds, ["v"]);
    }

    #[test]
    fn identifiers_are_quoted_with_their_quotes_doubled() {
        assert_eq!(quote(Dialect::Postgres, "updated_at"), "\"updated_at\"");
        assert_eq!(quote(Dialect::Sqlite, "we\"ird"), "\"we\"\"ird\"");
        assert_eq!(quote(Dialect::MySql, "a`b"), "`a``b`");
        assert_eq!(quote(Dialect::Postgres, "app.users"), "\"app\".\"users\"");
    }

    proptest! {
        /// Whatever the text, the rewrite terminates, keeps everything that is not a
        /// parameter, and every bind names a parameter that was in the text.
        #[test]
        fn rewriting_never_loses_text(sql in "[ -~\n]{0,120}") {
            for dialect in [Dialect::Postgres, Dialect::MySql, Dialect::Sqlite] {
                let r = rewrite_named(dialect, &sql);
                for name in &r.binds {
                    let needle = format!(":{name}");
                    prop_assert!(sql.contains(&needle));
                }
                if dialect != Dialect::Postgres {
                    let added = r.sql.matches('?').count() - sql.matches('?').count();
                    prop_assert_eq!(added, r.binds.len());
                }
            }
        }
    }
}
