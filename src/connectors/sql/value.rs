//! Values between SQL and JSON, by the table in docs/connectors.md: rows become JSON
//! records (NUMERIC as a string so no digit is lost, timestamps as RFC 3339, bytes as
//! base64), and JSON fields become typed parameters for the column they are written
//! to, because PostgreSQL will not compare or store `text` as `timestamptz`.

use base64::Engine as _;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde_json::{Map, Number, Value};
use sqlx::{Column, Row, TypeInfo, ValueRef};

use crate::config::kinds::sql::{Dialect, ParamValue};

/// A value bound to a statement, typed for the column it meets.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    /// Typed, because PostgreSQL refuses a `text` NULL for an `int8` column.
    Null(ColumnType),
    Bool(bool),
    Int(i64),
    /// Above `i64::MAX`: MySQL's BIGINT UNSIGNED.
    UInt(u64),
    Float(f64),
    Text(String),
    Decimal(sqlx::types::BigDecimal),
    TimestampTz(DateTime<Utc>),
    Timestamp(NaiveDateTime),
    Date(NaiveDate),
    Time(NaiveTime),
    Uuid(sqlx::types::Uuid),
    Json(Value),
    Bytes(Vec<u8>),
}

impl From<&ParamValue> for Param {
    fn from(value: &ParamValue) -> Self {
        match value {
            ParamValue::Bool(b) => Self::Bool(*b),
            ParamValue::Int(n) => Self::Int(*n),
            ParamValue::Float(x) => Self::Float(*x),
            ParamValue::Text(t) => Self::Text(t.clone()),
        }
    }
}

/// How a column's values are typed, from its database type name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    Bool,
    Int,
    Float,
    Decimal,
    Text,
    /// A PostgreSQL array (`INT4[]`), written from a JSON array.
    Array,
    TimestampTz,
    Timestamp,
    Date,
    Time,
    Uuid,
    Json,
    Bytes,
    /// MySQL's BLOB family, which is also how text with a binary collation arrives:
    /// UTF-8 reads as text, anything else as base64, and writes back the same way.
    Blob,
    /// Anything else: values pass as text and the database converts them.
    Other,
}

impl ColumnType {
    /// The type of a column `dialect` reports as `name`.
    pub fn in_dialect(dialect: Dialect, name: &str) -> Self {
        match Self::of(name) {
            // A SQLite BLOB is bytes, always: nothing else shares its name there.
            Self::Blob if dialect == Dialect::Sqlite => Self::Bytes,
            other => other,
        }
    }

    /// From a type name as sqlx reports it for any of the three databases.
    pub fn of(name: &str) -> Self {
        let upper = name.to_ascii_uppercase();
        match upper.trim_end_matches(" UNSIGNED") {
            "BOOL" | "BOOLEAN" => Self::Bool,
            "INT2" | "INT4" | "INT8" | "OID" | "TINYINT" | "SMALLINT" | "MEDIUMINT" | "INT"
            | "INTEGER" | "BIGINT" | "YEAR" => Self::Int,
            "FLOAT4" | "FLOAT8" | "FLOAT" | "DOUBLE" | "REAL" => Self::Float,
            "NUMERIC" | "DECIMAL" | "MONEY" => Self::Decimal,
            "TEXT" | "VARCHAR" | "CHAR" | "BPCHAR" | "NAME" | "ENUM" | "SET" | "CITEXT" => {
                Self::Text
            }
            "TIMESTAMPTZ" => Self::TimestampTz,
            "TIMESTAMP" | "DATETIME" => Self::Timestamp,
            "DATE" => Self::Date,
            "TIME" => Self::Time,
            "UUID" => Self::Uuid,
            "JSON" | "JSONB" => Self::Json,
            "BYTEA" | "BINARY" | "VARBINARY" => Self::Bytes,
            "TINYBLOB" | "BLOB" | "MEDIUMBLOB" | "LONGBLOB" => Self::Blob,
            array if array.ends_with("[]") => Self::Array,
            _ => Self::Other,
        }
    }

    /// The parameter that writes `value` into a column of this type, or why it cannot.
    pub fn param(self, value: &Value) -> Result<Param, String> {
        let text = || match value {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            other => Err(format!("{} is not a scalar", kind_of(other))),
        };
        let bad = |what: &str| format!("{} is not {what}", short(value));
        Ok(match (self, value) {
            (_, Value::Null) => Param::Null(self),
            (Self::Json, value) => Param::Json(value.clone()),
            (Self::Array, Value::Array(_)) => Param::Json(value.clone()),
            (Self::Bool, Value::Bool(b)) => Param::Bool(*b),
            (Self::Bool, Value::Number(n)) => {
                Param::Bool(n.as_i64().ok_or_else(|| bad("0 or 1"))? != 0)
            }
            (Self::Int, Value::Number(n)) => match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => Param::Int(i),
                (None, Some(u)) => Param::UInt(u),
                _ => return Err(bad("an integer")),
            },
            (Self::Int, Value::String(s)) => {
                Param::Int(s.trim().parse().map_err(|_| bad("an integer"))?)
            }
            (Self::Int, Value::Bool(b)) => Param::Int(i64::from(*b)),
            (Self::Float, Value::Number(n)) => {
                Param::Float(n.as_f64().ok_or_else(|| bad("a number"))?)
            }
            (Self::Float, Value::String(s)) => {
                Param::Float(s.trim().parse().map_err(|_| bad("a number"))?)
            }
            (Self::Decimal, Value::Number(_) | Value::String(_)) => Param::Decimal(
                text()?
                    .trim()
                    .parse()
                    .map_err(|_| bad("a decimal number"))?,
            ),
            (Self::TimestampTz, Value::String(s)) => Param::TimestampTz(
                DateTime::parse_from_rfc3339(s)
                    .map_err(|_| bad("an RFC 3339 time"))?
                    .with_timezone(&Utc),
            ),
            (Self::Timestamp, Value::String(s)) => {
                Param::Timestamp(naive_timestamp(s).ok_or_else(|| bad("a timestamp"))?)
            }
            (Self::Date, Value::String(s)) => {
                Param::Date(s.parse().map_err(|_| bad("a date (YYYY-MM-DD)"))?)
            }
            (Self::Time, Value::String(s)) => {
                Param::Time(s.parse().map_err(|_| bad("a time (HH:MM:SS)"))?)
            }
            (Self::Uuid, Value::String(s)) => Param::Uuid(s.parse().map_err(|_| bad("a UUID"))?),
            (Self::Bytes, Value::String(s)) => Param::Bytes(
                base64::engine::general_purpose::STANDARD
                    .decode(s)
                    .map_err(|_| bad("base64"))?,
            ),
            (Self::Blob, Value::String(s)) => Param::Bytes(blob(s)),
            (Self::Text | Self::Other, Value::Array(_) | Value::Object(_)) => {
                Param::Text(value.to_string())
            }
            (Self::Text | Self::Other, _) => Param::Text(text()?),
            (_, other) => {
                return Err(format!(
                    "{} cannot be written to this column",
                    kind_of(other)
                ));
            }
        })
    }
}

/// The bytes a BLOB value read as `text` came from: the base64 it shows for bytes
/// that are not UTF-8, else the text itself.
fn blob(text: &str) -> Vec<u8> {
    match base64::engine::general_purpose::STANDARD.decode(text) {
        Ok(bytes) if std::str::from_utf8(&bytes).is_err() => bytes,
        _ => text.as_bytes().to_vec(),
    }
}

/// A timestamp without zone, as RFC 3339 without offset or with a space.
fn naive_timestamp(text: &str) -> Option<NaiveDateTime> {
    let text = text.trim();
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .or_else(|| {
            DateTime::parse_from_rfc3339(text)
                .ok()
                .map(|t| t.naive_utc())
        })
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A value as an error quotes it: short, since it is data from a record.
fn short(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(40) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// Why a column could not become JSON, naming the column and its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undecodable {
    pub column: String,
    pub type_name: String,
    pub reason: String,
}

fn float(x: f64) -> Value {
    Number::from_f64(x).map_or(Value::Null, Value::Number)
}

fn bytes(b: &[u8]) -> Value {
    Value::String(base64::engine::general_purpose::STANDARD.encode(b))
}

/// A row as a JSON object, by the type table; `decode` maps one column.
fn row_to_json<R: Row>(
    row: &R,
    decode: impl Fn(&R, usize, &str) -> Result<Value, sqlx::Error>,
) -> Result<Map<String, Value>, Undecodable>
where
    usize: sqlx::ColumnIndex<R>,
{
    let mut record = Map::with_capacity(row.len());
    for (index, column) in row.columns().iter().enumerate() {
        let type_name = column.type_info().name();
        let null = row.try_get_raw(index).map(|v| v.is_null()).unwrap_or(false);
        let value = if null {
            Value::Null
        } else {
            decode(row, index, type_name).map_err(|error| Undecodable {
                column: column.name().to_owned(),
                type_name: type_name.to_owned(),
                reason: error.to_string(),
            })?
        };
        record.insert(column.name().to_owned(), value);
    }
    Ok(record)
}

pub fn postgres_record(row: &sqlx::postgres::PgRow) -> Result<Map<String, Value>, Undecodable> {
    use sqlx::postgres::PgTypeKind;
    row_to_json(row, |row, i, name| {
        let array = |values: Vec<Value>| Value::Array(values);
        Ok(match name {
            "BOOL" => Value::Bool(row.try_get(i)?),
            "INT2" => Value::from(row.try_get::<i16, _>(i)?),
            "INT4" => Value::from(row.try_get::<i32, _>(i)?),
            "INT8" => Value::from(row.try_get::<i64, _>(i)?),
            "OID" => Value::from(row.try_get::<sqlx::postgres::types::Oid, _>(i)?.0),
            "FLOAT4" => float(f64::from(row.try_get::<f32, _>(i)?)),
            "FLOAT8" => float(row.try_get(i)?),
            "NUMERIC" => Value::String(postgres_numeric(row, i)?),
            "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "CHAR" | "CITEXT" => {
                Value::String(row.try_get(i)?)
            }
            "TIMESTAMPTZ" => Value::String(rfc3339(row.try_get::<DateTime<Utc>, _>(i)?)),
            "TIMESTAMP" => Value::String(naive_rfc3339(row.try_get(i)?)),
            "DATE" => Value::String(row.try_get::<NaiveDate, _>(i)?.to_string()),
            "TIME" => Value::String(row.try_get::<NaiveTime, _>(i)?.to_string()),
            "UUID" => Value::String(row.try_get::<sqlx::types::Uuid, _>(i)?.to_string()),
            "JSON" | "JSONB" => row.try_get::<sqlx::types::Json<Value>, _>(i)?.0,
            "BYTEA" => bytes(&row.try_get::<Vec<u8>, _>(i)?),
            "BOOL[]" => array(optional(
                row.try_get::<Vec<Option<bool>>, _>(i)?,
                Value::Bool,
            )),
            "INT2[]" => array(optional(
                row.try_get::<Vec<Option<i16>>, _>(i)?,
                Value::from,
            )),
            "INT4[]" => array(optional(
                row.try_get::<Vec<Option<i32>>, _>(i)?,
                Value::from,
            )),
            "INT8[]" => array(optional(
                row.try_get::<Vec<Option<i64>>, _>(i)?,
                Value::from,
            )),
            "FLOAT4[]" => array(optional(row.try_get::<Vec<Option<f32>>, _>(i)?, |x| {
                float(x.into())
            })),
            "FLOAT8[]" => array(optional(row.try_get::<Vec<Option<f64>>, _>(i)?, float)),
            "TEXT[]" | "VARCHAR[]" | "CHAR[]" | "NAME[]" => array(optional(
                row.try_get::<Vec<Option<String>>, _>(i)?,
                Value::String,
            )),
            "NUMERIC[]" => array(optional(
                row.try_get::<Vec<Option<sqlx::types::BigDecimal>>, _>(i)?,
                |d| Value::String(d.to_string()),
            )),
            "UUID[]" => array(optional(
                row.try_get::<Vec<Option<sqlx::types::Uuid>>, _>(i)?,
                |u| Value::String(u.to_string()),
            )),
            "TIMESTAMPTZ[]" => array(optional(
                row.try_get::<Vec<Option<DateTime<Utc>>>, _>(i)?,
                |t| Value::String(rfc3339(t)),
            )),
            "JSONB[]" | "JSON[]" => array(optional(
                row.try_get::<Vec<Option<sqlx::types::Json<Value>>>, _>(i)?,
                |j| j.0,
            )),
            _ => {
                let raw = row.try_get_raw(i)?;
                // An enum travels as its label, in text and binary alike.
                if matches!(raw.type_info().kind(), PgTypeKind::Enum(_)) {
                    Value::String(row.try_get_unchecked::<String, _>(i)?)
                } else {
                    return Err(unmapped(name));
                }
            }
        })
    })
}

/// NUMERIC with the column's own scale: `10.50` stays `10.50`. The binary form keeps
/// base-10000 digit groups, so the decoded value may carry extra zeros that the
/// display scale (bytes 6..8 of the value) trims.
fn postgres_numeric(row: &sqlx::postgres::PgRow, i: usize) -> Result<String, sqlx::Error> {
    use sqlx::postgres::PgValueFormat;
    let raw = row.try_get_raw(i)?;
    if raw.format() == PgValueFormat::Text {
        return Ok(raw.as_str().map_err(sqlx::Error::Decode)?.to_owned());
    }
    let bytes = raw.as_bytes().map_err(sqlx::Error::Decode)?;
    // A NaN has its own sign word; BigDecimal has no NaN.
    if bytes.get(4..6) == Some(&[0xC0, 0x00]) {
        return Ok("NaN".to_owned());
    }
    let scale = bytes
        .get(6..8)
        .map_or(0, |s| u16::from_be_bytes([s[0], s[1]]));
    let value: sqlx::types::BigDecimal = row.try_get(i)?;
    Ok(value.with_scale(i64::from(scale)).to_string())
}

pub fn mysql_record(row: &sqlx::mysql::MySqlRow) -> Result<Map<String, Value>, Undecodable> {
    row_to_json(row, |row, i, name| {
        Ok(match name {
            "BOOLEAN" => Value::Bool(row.try_get::<i8, _>(i)? != 0),
            "TINYINT" | "SMALLINT" | "MEDIUMINT" | "INT" | "BIGINT" | "YEAR" => {
                Value::from(row.try_get_unchecked::<i64, _>(i)?)
            }
            "TINYINT UNSIGNED" | "SMALLINT UNSIGNED" | "MEDIUMINT UNSIGNED" | "INT UNSIGNED"
            | "BIGINT UNSIGNED" => Value::from(row.try_get_unchecked::<u64, _>(i)?),
            "FLOAT" => float(f64::from(row.try_get::<f32, _>(i)?)),
            "DOUBLE" => float(row.try_get(i)?),
            "DECIMAL" => Value::String(row.try_get::<sqlx::types::BigDecimal, _>(i)?.to_string()),
            "TIMESTAMP" => Value::String(rfc3339(row.try_get::<DateTime<Utc>, _>(i)?)),
            "DATETIME" => Value::String(naive_rfc3339(row.try_get(i)?)),
            "DATE" => Value::String(row.try_get::<NaiveDate, _>(i)?.to_string()),
            "TIME" => Value::String(row.try_get::<NaiveTime, _>(i)?.to_string()),
            "JSON" => row.try_get::<sqlx::types::Json<Value>, _>(i)?.0,
            "BINARY" | "VARBINARY" | "BIT" | "GEOMETRY" => {
                bytes(&row.try_get_unchecked::<Vec<u8>, _>(i)?)
            }
            // The server flags text with a binary collation (MariaDB's JSON is
            // LONGTEXT COLLATE utf8mb4_bin) as it flags a BLOB: UTF-8 is text.
            "TINYBLOB" | "BLOB" | "MEDIUMBLOB" | "LONGBLOB" => {
                match String::from_utf8(row.try_get_unchecked::<Vec<u8>, _>(i)?) {
                    Ok(text) => Value::String(text),
                    Err(binary) => bytes(binary.as_bytes()),
                }
            }
            // CHAR, VARCHAR, TEXT and their sizes, ENUM, SET, and MariaDB's UUID and
            // JSON (which it stores as text).
            _ => Value::String(row.try_get_unchecked::<String, _>(i)?),
        })
    })
}

/// SQLite types each value, not each column: the value's own storage class decides,
/// and a column declared BOOLEAN refines it. Dates and JSON are whatever text the
/// column holds.
pub fn sqlite_record(row: &sqlx::sqlite::SqliteRow) -> Result<Map<String, Value>, Undecodable> {
    row_to_json(row, |row, i, declared| {
        let raw = row.try_get_raw(i)?;
        let stored = raw.type_info().name().to_owned();
        drop(raw);
        Ok(match (stored.as_str(), declared) {
            ("INTEGER", "BOOLEAN") => Value::Bool(row.try_get_unchecked::<i64, _>(i)? != 0),
            ("INTEGER", _) => Value::from(row.try_get_unchecked::<i64, _>(i)?),
            ("REAL", _) => float(row.try_get_unchecked(i)?),
            ("BLOB", _) => bytes(&row.try_get_unchecked::<Vec<u8>, _>(i)?),
            _ => Value::String(row.try_get_unchecked(i)?),
        })
    })
}

fn optional<T>(values: Vec<Option<T>>, map: impl Fn(T) -> Value) -> Vec<Value> {
    values
        .into_iter()
        .map(|v| v.map_or(Value::Null, &map))
        .collect()
}

fn unmapped(name: &str) -> sqlx::Error {
    sqlx::Error::Decode(
        format!("patchbay has no JSON mapping for {name}; cast it in the query, e.g. `col::text`")
            .into(),
    )
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

fn naive_rfc3339(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.f").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_fields_become_typed_params_for_their_column() {
        assert_eq!(ColumnType::of("INT8").param(&json!(7)), Ok(Param::Int(7)));
        assert_eq!(
            ColumnType::of("int4").param(&json!("42")),
            Ok(Param::Int(42))
        );
        assert_eq!(
            ColumnType::of("TIMESTAMPTZ").param(&json!("2026-11-30T10:00:00+01:00")),
            Ok(Param::TimestampTz("2026-11-30T09:00:00Z".parse().unwrap()))
        );
        assert_eq!(
            ColumnType::of("DATETIME").param(&json!("2026-11-30 10:00:00")),
            Ok(Param::Timestamp("2026-11-30T10:00:00".parse().unwrap()))
        );
        assert_eq!(
            ColumnType::of("NUMERIC").param(&json!("12345678901234567890.0001")),
            Ok(Param::Decimal("12345678901234567890.0001".parse().unwrap()))
        );
        assert_eq!(
            ColumnType::of("JSONB").param(&json!({"a": 1})),
            Ok(Param::Json(json!({"a": 1})))
        );
        assert_eq!(
            ColumnType::of("TEXT").param(&json!(null)),
            Ok(Param::Null(ColumnType::Text))
        );
        assert_eq!(
            ColumnType::of("VARCHAR").param(&json!([1, 2])),
            Ok(Param::Text("[1,2]".into()))
        );
        assert_eq!(
            ColumnType::of("BYTEA").param(&json!("aGk=")),
            Ok(Param::Bytes(b"hi".to_vec()))
        );
    }

    #[test]
    fn a_value_that_does_not_fit_its_column_says_which_and_why() {
        let error = ColumnType::of("INT8").param(&json!("twelve")).unwrap_err();
        assert_eq!(error, "\"twelve\" is not an integer");
        let error = ColumnType::of("UUID").param(&json!({"a": 1})).unwrap_err();
        assert_eq!(error, "an object cannot be written to this column");
    }

    proptest::proptest! {
        /// Whatever a record holds, turning it into a parameter answers, never panics,
        /// and a string that parses back is the same value.
        #[test]
        fn hostile_fields_are_refused_or_bound(text in ".{0,60}", n in proptest::num::f64::ANY, i in proptest::num::i64::ANY) {
            for type_name in ["INT8", "NUMERIC", "TIMESTAMPTZ", "DATETIME", "DATE", "TIME", "UUID", "BYTEA", "LONGBLOB", "BOOL", "FLOAT8", "INT4[]", "mood"] {
                let column = ColumnType::of(type_name);
                for value in [json!(text.clone()), json!(n), json!(i), json!([text.clone()]), json!({"k": i})] {
                    let _ = column.param(&value);
                }
            }
            if let Ok(Param::Int(parsed)) = ColumnType::Int.param(&json!(i.to_string())) {
                proptest::prop_assert_eq!(parsed, i);
            }
        }
    }

    #[test]
    fn unknown_types_pass_as_text() {
        assert_eq!(ColumnType::of("INTERVAL"), ColumnType::Other);
        assert_eq!(
            ColumnType::of("INTERVAL").param(&json!("1 day")),
            Ok(Param::Text("1 day".into()))
        );
    }
}
