//! Binding a [`Param`] to a statement of each database, with what each can store:
//! SQLite has no UUID, decimal or time types, so those travel as text there.

use sqlx::query::Query;

use super::value::{ColumnType, Param};

pub trait BindParam: Sized {
    fn bind_param(self, param: Param) -> Self;

    fn bind_all(self, params: impl IntoIterator<Item = Param>) -> Self {
        params.into_iter().fold(self, Self::bind_param)
    }
}

/// The arms both typed servers share; `$null` binds a typed NULL.
macro_rules! bind_typed {
    ($query:expr, $param:expr) => {
        match $param {
            Param::Null(column) => match column {
                ColumnType::Bool => $query.bind(None::<bool>),
                ColumnType::Int => $query.bind(None::<i64>),
                ColumnType::Float => $query.bind(None::<f64>),
                ColumnType::Decimal => $query.bind(None::<sqlx::types::BigDecimal>),
                ColumnType::TimestampTz => $query.bind(None::<chrono::DateTime<chrono::Utc>>),
                ColumnType::Timestamp => $query.bind(None::<chrono::NaiveDateTime>),
                ColumnType::Date => $query.bind(None::<chrono::NaiveDate>),
                ColumnType::Time => $query.bind(None::<chrono::NaiveTime>),
                ColumnType::Json | ColumnType::Array => {
                    $query.bind(None::<sqlx::types::Json<serde_json::Value>>)
                }
                ColumnType::Bytes | ColumnType::Blob => $query.bind(None::<Vec<u8>>),
                ColumnType::Uuid | ColumnType::Text | ColumnType::Other => {
                    $query.bind(None::<String>)
                }
            },
            Param::Bool(b) => $query.bind(b),
            Param::Int(n) => $query.bind(n),
            Param::Float(x) => $query.bind(x),
            Param::Text(t) => $query.bind(t),
            Param::Decimal(d) => $query.bind(d),
            Param::TimestampTz(t) => $query.bind(t),
            Param::Timestamp(t) => $query.bind(t),
            Param::Date(d) => $query.bind(d),
            Param::Time(t) => $query.bind(t),
            Param::Json(j) => $query.bind(sqlx::types::Json(j)),
            Param::Bytes(b) => $query.bind(b),
            Param::Uuid(u) => bind_uuid!($query, u),
            Param::UInt(u) => bind_unsigned!($query, u),
        }
    };
}

impl<'q> BindParam for Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    fn bind_param(self, param: Param) -> Self {
        macro_rules! bind_uuid {
            ($query:expr, $u:expr) => {
                $query.bind($u)
            };
        }
        // No unsigned types: NUMERIC holds it.
        macro_rules! bind_unsigned {
            ($query:expr, $u:expr) => {
                $query.bind(sqlx::types::BigDecimal::from($u))
            };
        }
        bind_typed!(self, param)
    }
}

impl<'q> BindParam for Query<'q, sqlx::MySql, sqlx::mysql::MySqlArguments> {
    fn bind_param(self, param: Param) -> Self {
        // MariaDB's UUID type and CHAR(36) columns both take the hyphenated text.
        macro_rules! bind_uuid {
            ($query:expr, $u:expr) => {
                $query.bind($u.hyphenated().to_string())
            };
        }
        macro_rules! bind_unsigned {
            ($query:expr, $u:expr) => {
                $query.bind($u)
            };
        }
        bind_typed!(self, param)
    }
}

impl<'q> BindParam for Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>> {
    fn bind_param(self, param: Param) -> Self {
        match param {
            Param::Null(_) => self.bind(None::<String>),
            Param::Bool(b) => self.bind(b),
            Param::Int(n) => self.bind(n),
            // Beyond SQLite's 64-bit integers: text keeps every digit.
            Param::UInt(u) => self.bind(u.to_string()),
            Param::Float(x) => self.bind(x),
            Param::Text(t) => self.bind(t),
            Param::Json(j) => self.bind(j.to_string()),
            Param::Bytes(b) => self.bind(b),
            Param::Decimal(d) => self.bind(d.to_string()),
            Param::Uuid(u) => self.bind(u.hyphenated().to_string()),
            Param::TimestampTz(t) => {
                self.bind(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
            }
            Param::Timestamp(t) => self.bind(t.format("%Y-%m-%dT%H:%M:%S%.f").to_string()),
            Param::Date(d) => self.bind(d.to_string()),
            Param::Time(t) => self.bind(t.to_string()),
        }
    }
}
