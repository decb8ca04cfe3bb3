//! Keyset paging for incremental `sql` sources: each page is the rows after the last
//! one delivered, `cursor > c OR (cursor = c AND tie > t)`, in `(cursor, tie)` order.
//! Unlike OFFSET, rows inserted or deleted meanwhile cannot shift a page, and rows
//! sharing one cursor value are split across pages by the tie-breaker, never lost or
//! repeated. The stored cursor is the last delivered row's pair with its types, so the
//! next run binds them as the columns' own types.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::statement::{Placeholders, quote};
use super::value::{ColumnType, Param};
use crate::config::kinds::sql::{Dialect, Keyset};

/// Where the last delivered row was: what the stored cursor holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Position {
    pub cursor: Typed,
    pub tie: Typed,
}

/// A column value with the type to bind it as.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Typed {
    #[serde(rename = "type")]
    pub column: ColumnType,
    pub value: Value,
}

impl Typed {
    fn param(&self) -> Result<Param, String> {
        self.column.param(&self.value)
    }
}

/// Where a page starts.
#[derive(Debug, Clone, PartialEq)]
pub enum Resume {
    /// The first run without `start`: every row.
    Beginning,
    /// The first run with `start`: rows with `cursor >= start`.
    Start(Typed),
    /// After a row delivered before.
    After(Position),
}

impl Resume {
    /// Where a run starts: after the stored cursor, else at `start`, typed as the
    /// cursor column is (`column`, from describing the query).
    pub fn from_stored(
        stored: Option<&str>,
        keyset: &Keyset,
        column: ColumnType,
    ) -> Result<Self, String> {
        if let Some(stored) = stored {
            let position: Position = serde_json::from_str(stored).map_err(|e| {
                format!("the stored cursor is not a keyset position ({e}); forget it with `patchbay cursor reset NAME`")
            })?;
            return Ok(Self::After(position));
        }
        Ok(match &keyset.start {
            Some(start) => Self::Start(Typed {
                column,
                value: Value::String(start.clone()),
            }),
            None => Self::Beginning,
        })
    }
}

/// The column type a cursor value is bound as. SQLite types each value, not each
/// column, and compares text as text: its values are bound as what they are.
pub fn bind_type(dialect: Dialect, type_name: &str, value: &Value) -> ColumnType {
    match (dialect, value) {
        (Dialect::Sqlite, Value::Number(n)) if n.is_i64() => ColumnType::Int,
        (Dialect::Sqlite, Value::Number(_)) => ColumnType::Float,
        (Dialect::Sqlite, _) => ColumnType::Text,
        _ => ColumnType::in_dialect(dialect, type_name),
    }
}

/// The position of `record`, the last row of a page, whose columns have the types in
/// `types` (name → type name).
pub fn position_of(
    dialect: Dialect,
    keyset: &Keyset,
    record: &Map<String, Value>,
    type_of: impl Fn(&str) -> String,
) -> Result<Position, String> {
    let typed = |field: &str| -> Result<Typed, String> {
        let value = record
            .get(field)
            .ok_or_else(|| format!("the query returns no column `{field}`"))?;
        Ok(Typed {
            column: bind_type(dialect, &type_of(field), value),
            value: value.clone(),
        })
    };
    Ok(Position {
        cursor: typed(&keyset.cursor_field)?,
        tie: typed(&keyset.tie_breaker)?,
    })
}

/// One page's statement around `inner` (the user's query, its parameters already
/// placeholders, `used` of them), and the parameters to bind after the user's.
pub fn page(
    dialect: Dialect,
    inner: &str,
    used: usize,
    keyset: &Keyset,
    from: &Resume,
    page_size: u32,
) -> Result<(String, Vec<Param>), String> {
    let cursor = quote(dialect, &keyset.cursor_field);
    let tie = quote(dialect, &keyset.tie_breaker);
    let mut placeholders = Placeholders::after(dialect, used);
    let mut params = Vec::new();
    let after = match from {
        Resume::Beginning => String::new(),
        Resume::Start(start) => {
            params.push(start.param()?);
            format!(" AND {cursor} >= {}", placeholders.next())
        }
        Resume::After(position) => {
            let c = position.cursor.param()?;
            let t = position.tie.param()?;
            match dialect {
                // A row-value comparison walks an index on (cursor, tie) directly;
                // the OR form below made PostgreSQL scan and sort every page.
                Dialect::Postgres | Dialect::Sqlite => {
                    params.extend([c, t]);
                    let (c, t) = (placeholders.next(), placeholders.next());
                    format!(" AND ({cursor}, {tie}) > ({c}, {t})")
                }
                // MySQL and MariaDB plan row values poorly: the leading `>=` gives
                // them a range on the cursor's index.
                Dialect::MySql => {
                    params.extend([c.clone(), c.clone(), c, t]);
                    let [c1, c2, c3, t1] = std::array::from_fn(|_| placeholders.next());
                    format!(
                        " AND {cursor} >= {c1} AND ({cursor} > {c2} OR ({cursor} = {c3} AND {tie} > {t1}))"
                    )
                }
            }
        }
    };
    // Rows without a cursor or tie value cannot be placed in the order: they are not
    // read (docs/connectors.md says so), rather than stall the cursor at NULL.
    let sql = format!(
        "SELECT * FROM ({inner}) AS patchbay_keyset \
         WHERE {cursor} IS NOT NULL AND {tie} IS NOT NULL{after} \
         ORDER BY {cursor}, {tie} LIMIT {page_size}"
    );
    Ok((sql, params))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keyset() -> Keyset {
        Keyset {
            cursor_field: "updated_at".into(),
            tie_breaker: "id".into(),
            start: None,
        }
    }

    #[test]
    fn pages_after_a_position_compare_the_pair() {
        let from = Resume::After(Position {
            cursor: Typed {
                column: ColumnType::TimestampTz,
                value: json!("2026-11-30T10:00:00Z"),
            },
            tie: Typed {
                column: ColumnType::Int,
                value: json!(41),
            },
        });
        let (sql, params) = page(
            Dialect::Postgres,
            "SELECT * FROM users WHERE org = $1",
            1,
            &keyset(),
            &from,
            500,
        )
        .unwrap();
        assert_eq!(
            sql,
            "SELECT * FROM (SELECT * FROM users WHERE org = $1) AS patchbay_keyset \
             WHERE \"updated_at\" IS NOT NULL AND \"id\" IS NOT NULL \
             AND (\"updated_at\", \"id\") > ($2, $3) \
             ORDER BY \"updated_at\", \"id\" LIMIT 500"
        );
        assert_eq!(params.len(), 2);
        let (sql, params) = page(Dialect::MySql, "SELECT 1", 0, &keyset(), &from, 10).unwrap();
        assert!(
            sql.contains(
                "`updated_at` >= ? AND (`updated_at` > ? OR (`updated_at` = ? AND `id` > ?))"
            ),
            "{sql}"
        );
        assert_eq!(params.len(), 4);
    }

    #[test]
    fn a_stored_position_round_trips_and_garbage_is_refused() {
        let position = Position {
            cursor: Typed {
                column: ColumnType::Decimal,
                value: json!("10.50"),
            },
            tie: Typed {
                column: ColumnType::Text,
                value: json!("a'b"),
            },
        };
        let stored = serde_json::to_string(&position).unwrap();
        assert_eq!(
            Resume::from_stored(Some(&stored), &keyset(), ColumnType::Text),
            Ok(Resume::After(position))
        );
        let error =
            Resume::from_stored(Some("2026-01-01"), &keyset(), ColumnType::Text).unwrap_err();
        assert!(error.contains("not a keyset position"), "{error}");
    }

    proptest::proptest! {
        /// A stored cursor is read back from the store, where anything may have
        /// landed: garbage is an error, never a panic.
        #[test]
        fn any_stored_text_is_a_position_or_an_error(stored in ".{0,80}") {
            let _ = Resume::from_stored(Some(&stored), &keyset(), ColumnType::Text);
        }
    }

    #[test]
    fn sqlite_binds_values_as_stored() {
        assert_eq!(
            bind_type(Dialect::Sqlite, "DATETIME", &json!("2026-01-01 10:00:00")),
            ColumnType::Text
        );
        assert_eq!(
            bind_type(Dialect::Sqlite, "INTEGER", &json!(3)),
            ColumnType::Int
        );
        assert_eq!(
            bind_type(Dialect::Postgres, "TIMESTAMPTZ", &json!("x")),
            ColumnType::TimestampTz
        );
    }
}
