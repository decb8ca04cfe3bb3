//! The statements an `sql` output writes: multi-row INSERTs, as upserts in each
//! dialect's spelling, with every value a typed parameter.

use serde_json::Value;

use super::statement::{Placeholders, quote};
use super::value::{ColumnType, Param};
use crate::config::kinds::sql::{Dialect, SqlOutputSettings, WriteMode};

/// Parameters per statement: under SQLite's 32,766 and the 65,535 of the servers.
const MAX_PARAMS: usize = 30_000;
const MAX_ROWS: usize = 1_000;

/// A table column the output writes, the record field it comes from, and its type.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub column: String,
    pub field: String,
    pub column_type: ColumnType,
    /// The type's name, for a PostgreSQL `CAST` of values we bind as text.
    pub type_name: String,
}

/// Which columns to write: `columns` as configured, else every table column that a
/// record of the page has a field for. `Err` names a configured column the table
/// does not have.
pub fn targets(
    dialect: Dialect,
    settings: &SqlOutputSettings,
    table: &[(String, String)],
    records: &[Value],
) -> Result<Vec<Target>, String> {
    let target = |column: &str, field: &str| -> Result<Target, String> {
        let (_, type_name) = table
            .iter()
            .find(|(name, _)| name == column)
            .ok_or_else(|| format!("table `{}` has no column `{column}`", settings.table))?;
        Ok(Target {
            column: column.to_owned(),
            field: field.to_owned(),
            column_type: ColumnType::in_dialect(dialect, type_name),
            type_name: type_name.clone(),
        })
    };
    if !settings.columns.is_empty() {
        return settings
            .columns
            .iter()
            .map(|(column, field)| target(column, field))
            .collect();
    }
    let present = |name: &str| records.iter().any(|r| r.get(name).is_some());
    let chosen: Vec<Target> = table
        .iter()
        .filter(|(name, _)| present(name))
        .map(|(name, _)| target(name, name))
        .collect::<Result<_, _>>()?;
    if chosen.is_empty() {
        return Err(format!(
            "no field of the records matches a column of `{}`; map them with `columns = {{ column = \"field\" }}`",
            settings.table
        ));
    }
    Ok(chosen)
}

/// How many rows go in one statement with `columns` columns.
pub fn rows_per_statement(columns: usize) -> usize {
    (MAX_PARAMS / columns.max(1)).clamp(1, MAX_ROWS)
}

/// The statement for `rows` rows.
pub fn statement(
    dialect: Dialect,
    settings: &SqlOutputSettings,
    targets: &[Target],
    rows: usize,
) -> String {
    let table = quote(dialect, &settings.table);
    let columns: Vec<String> = targets.iter().map(|t| quote(dialect, &t.column)).collect();
    let mut placeholders = Placeholders::after(dialect, 0);
    let mut values = Vec::with_capacity(rows);
    for _ in 0..rows {
        let row: Vec<String> = targets
            .iter()
            .map(|t| {
                let p = placeholders.next();
                match (dialect, t.column_type) {
                    // Enums, intervals and other types we bind as text: the server
                    // converts, as it would a literal.
                    (Dialect::Postgres, ColumnType::Other) if is_type_name(&t.type_name) => {
                        format!("CAST({p} AS {})", t.type_name)
                    }
                    // A JSON array's elements, each cast to the element type; a
                    // JSON null stays NULL rather than an empty array.
                    (Dialect::Postgres, ColumnType::Array) if is_type_name(&t.type_name) => {
                        format!(
                            "(SELECT CASE WHEN j IS NULL THEN NULL ELSE CAST(ARRAY(SELECT jsonb_array_elements_text(j)) AS {}) END FROM (SELECT CAST({p} AS jsonb) AS j) AS a)",
                            t.type_name
                        )
                    }
                    _ => p,
                }
            })
            .collect();
        values.push(format!("({})", row.join(", ")));
    }
    let mut sql = format!(
        "INSERT INTO {table} ({}) VALUES {}",
        columns.join(", "),
        values.join(", ")
    );
    if settings.mode == WriteMode::Upsert {
        sql.push_str(&on_conflict(dialect, settings, &columns));
    }
    sql
}

fn on_conflict(dialect: Dialect, settings: &SqlOutputSettings, columns: &[String]) -> String {
    let keys: Vec<String> = settings.key.iter().map(|k| quote(dialect, k)).collect();
    let others: Vec<&String> = columns.iter().filter(|c| !keys.contains(c)).collect();
    match dialect {
        Dialect::Postgres | Dialect::Sqlite if others.is_empty() => {
            format!(" ON CONFLICT ({}) DO NOTHING", keys.join(", "))
        }
        Dialect::Postgres | Dialect::Sqlite => format!(
            " ON CONFLICT ({}) DO UPDATE SET {}",
            keys.join(", "),
            others
                .iter()
                .map(|c| format!("{c} = EXCLUDED.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        // `VALUES(col)`: MariaDB has no row alias; MySQL 8 still takes it.
        Dialect::MySql => {
            let set: Vec<String> = if others.is_empty() {
                keys.iter().map(|k| format!("{k} = {k}")).collect()
            } else {
                others
                    .iter()
                    .map(|c| format!("{c} = VALUES({c})"))
                    .collect()
            };
            format!(" ON DUPLICATE KEY UPDATE {}", set.join(", "))
        }
    }
}

/// A type name safe to write into a CAST: letters, digits, `_`, `.` and `[]`.
fn is_type_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '[' | ']' | ' '))
}

/// The parameters of one record, in `targets` order; `Err` names the column.
pub fn row_params(targets: &[Target], record: &Value) -> Result<Vec<Param>, String> {
    targets
        .iter()
        .map(|t| {
            let value = record.get(&t.field).unwrap_or(&Value::Null);
            t.column_type
                .param(value)
                .map_err(|why| format!("column `{}`: {why}", t.column))
        })
        .collect()
}

/// How a failure names a record: its `key` fields (`id=42`), else its place.
pub fn describe_row(settings: &SqlOutputSettings, record: &Value, index: usize) -> String {
    if settings.key.is_empty() {
        return format!("record {} of the page", index + 1);
    }
    settings
        .key
        .iter()
        .map(|k| {
            let value = record.get(k).unwrap_or(&Value::Null);
            let text = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            format!("{k}={}", text.chars().take(60).collect::<String>())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn settings(mode: WriteMode, key: &[&str]) -> SqlOutputSettings {
        SqlOutputSettings {
            connection: crate::config::kinds::sql::Connection {
                url: crate::config::credential::Credential::parse("sqlite://x.db"),
                password: None,
                pool_size: 1,
            },
            table: "users".into(),
            mode,
            key: key.iter().map(|k| (*k).to_owned()).collect(),
            columns: BTreeMap::new(),
        }
    }

    fn table() -> Vec<(String, String)> {
        [("id", "INT8"), ("name", "TEXT"), ("mood", "mood")]
            .iter()
            .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
            .collect()
    }

    #[test]
    fn upserts_in_each_dialect() {
        let s = settings(WriteMode::Upsert, &["id"]);
        let records = [json!({"id": 1, "name": "a", "mood": "ok", "extra": true})];
        let t = targets(Dialect::Postgres, &s, &table(), &records).unwrap();
        assert_eq!(
            statement(Dialect::Postgres, &s, &t, 2),
            "INSERT INTO \"users\" (\"id\", \"name\", \"mood\") VALUES ($1, $2, CAST($3 AS mood)), ($4, $5, CAST($6 AS mood)) \
             ON CONFLICT (\"id\") DO UPDATE SET \"name\" = EXCLUDED.\"name\", \"mood\" = EXCLUDED.\"mood\""
        );
        assert_eq!(
            statement(Dialect::MySql, &s, &t, 1),
            "INSERT INTO `users` (`id`, `name`, `mood`) VALUES (?, ?, ?) \
             ON DUPLICATE KEY UPDATE `name` = VALUES(`name`), `mood` = VALUES(`mood`)"
        );
        assert!(
            statement(Dialect::Sqlite, &settings(WriteMode::Insert, &[]), &t, 1)
                .ends_with("VALUES (?, ?, ?)")
        );
    }

    #[test]
    fn configured_columns_must_exist() {
        let mut s = settings(WriteMode::Insert, &[]);
        s.columns.insert("nope".into(), "id".into());
        assert_eq!(
            targets(Dialect::Postgres, &s, &table(), &[json!({"id": 1})]).unwrap_err(),
            "table `users` has no column `nope`"
        );
    }

    #[test]
    fn failures_name_the_row_by_its_key() {
        let s = settings(WriteMode::Upsert, &["id"]);
        assert_eq!(describe_row(&s, &json!({"id": 42}), 3), "id=42");
        assert_eq!(
            describe_row(&settings(WriteMode::Insert, &[]), &json!({}), 3),
            "record 4 of the page"
        );
    }

    #[test]
    fn statements_stay_under_the_parameter_limits() {
        assert_eq!(rows_per_statement(3), 1000);
        assert_eq!(rows_per_statement(100), 300);
        assert_eq!(rows_per_statement(40_000), 1);
    }
}
