//! `kind = "sql"`: a PostgreSQL, MySQL/MariaDB or SQLite database as a source (it has a
//! `query`) or an output (it has a `table`). The runtime is `connectors::sql`.

use std::collections::BTreeMap;
use std::path::Path;

use secrecy::{ExposeSecret, SecretString};

use serde::Deserialize;

use crate::config::credential::Credential;

/// Which database a URL names, by its scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    MySql,
    Sqlite,
}

impl Dialect {
    /// The dialect of `url`, from its scheme alone, so a URL kept in the vault is
    /// recognised without being read at load time.
    pub fn of_url(url: &str) -> Option<Self> {
        let scheme = url.split_once(':')?.0.to_ascii_lowercase();
        match scheme.as_str() {
            "postgres" | "postgresql" => Some(Self::Postgres),
            "mysql" | "mariadb" => Some(Self::MySql),
            "sqlite" => Some(Self::Sqlite),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Postgres => "PostgreSQL",
            Self::MySql => "MySQL/MariaDB",
            Self::Sqlite => "SQLite",
        }
    }
}

/// Where the database is: `url`, which may be `secret:NAME`, and optionally its
/// password on its own (`password = "secret:NAME"`) so the rest can stay readable.
#[derive(Debug, Clone)]
pub struct Connection {
    pub url: Credential,
    pub password: Option<Credential>,
    /// Connections kept open to this database.
    pub pool_size: u32,
}

impl Connection {
    /// A literal SQLite URL with a relative path is relative to connectors.toml, as a
    /// file output's path is, wherever patchbay was started.
    pub fn anchor(&mut self, base_dir: &Path) {
        let Credential::Literal(url) = &self.url else {
            return;
        };
        let url = url.expose_secret();
        let Some(rest) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        else {
            return;
        };
        if rest.starts_with('/') || rest.starts_with(":memory:") || rest.is_empty() {
            return;
        }
        let anchored = format!("sqlite://{}", base_dir.join(rest).display());
        self.url = Credential::Literal(SecretString::from(anchored));
    }
}

/// A value for a named parameter: always bound, never written into the SQL.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum ParamValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
}

/// The source side: `query` with `:name` parameters from `params`.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "SqlTable")]
pub struct SqlSourceSettings {
    pub connection: Connection,
    pub query: String,
    pub params: BTreeMap<String, ParamValue>,
    pub incremental: Option<Keyset>,
    /// Rows per page handed to the pipeline (and per keyset query).
    pub page_size: u32,
    /// The column that identifies a row, for change detection.
    pub primary_key: Option<String>,
}

/// `incremental = { cursor_field = "updated_at", tie_breaker = "id", start = "…" }`:
/// keyset paging, `(cursor_field, tie_breaker) > (last seen)`, never OFFSET.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Keyset {
    pub cursor_field: String,
    /// A unique column, so rows sharing one cursor value are neither lost nor
    /// delivered twice at a page edge.
    pub tie_breaker: String,
    /// Rows with `cursor_field >= start` are read on the first run.
    pub start: Option<String>,
}

/// The output side: rows written to `table`.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "SqlTable")]
pub struct SqlOutputSettings {
    pub connection: Connection,
    pub table: String,
    pub mode: WriteMode,
    /// The columns that identify a row: the conflict target of an upsert, and what a
    /// failure names.
    pub key: Vec<String>,
    /// Column → record field; without it, every column of the table that the records
    /// have a field of the same name for.
    pub columns: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteMode {
    #[default]
    Insert,
    Upsert,
}

/// Every key a `sql` integration may have, as written: one table decodes into the
/// source or the output settings, and a key of the other side is an error.
#[derive(Deserialize)]
struct SqlTable {
    url: Credential,
    password: Option<Credential>,
    pool_size: Option<u32>,
    query: Option<String>,
    params: Option<BTreeMap<String, ParamValue>>,
    incremental: Option<Keyset>,
    page_size: Option<u32>,
    primary_key: Option<String>,
    table: Option<String>,
    mode: Option<WriteMode>,
    key: Option<Vec<String>>,
    columns: Option<BTreeMap<String, String>>,
}

impl SqlTable {
    fn connection(&self) -> Result<Connection, String> {
        let pool_size = self.pool_size.unwrap_or(2);
        if pool_size == 0 {
            return Err("`pool_size` must be at least 1".into());
        }
        if let Credential::Literal(url) = &self.url
            && Dialect::of_url(url.expose_secret()).is_none()
        {
            return Err("`url` must start with postgres://, mysql:// or sqlite://".into());
        }
        Ok(Connection {
            url: self.url.clone(),
            password: self.password.clone(),
            pool_size,
        })
    }
}

/// `Err` naming the first key of `keys` that is set: it belongs to the other side.
fn refuse(side: &str, keys: &[(&str, bool)]) -> Result<(), String> {
    match keys.iter().find(|(_, set)| *set) {
        Some((key, _)) => Err(format!("`{key}` does not belong to a sql {side}")),
        None => Ok(()),
    }
}

impl TryFrom<SqlTable> for SqlSourceSettings {
    type Error = String;

    fn try_from(table: SqlTable) -> Result<Self, String> {
        let connection = table.connection()?;
        refuse(
            "source (it has `query`; an output has `table` instead)",
            &[
                ("mode", table.mode.is_some()),
                ("key", table.key.is_some()),
                ("columns", table.columns.is_some()),
            ],
        )?;
        let query = table
            .query
            .filter(|q| !q.trim().is_empty())
            .ok_or("a sql integration needs `query` (a source) or `table` (an output)")?;
        let page_size = table.page_size.unwrap_or(1000);
        if page_size == 0 {
            return Err("`page_size` must be at least 1".into());
        }
        Ok(Self {
            connection,
            query,
            params: table.params.unwrap_or_default(),
            incremental: table.incremental,
            page_size,
            primary_key: table.primary_key,
        })
    }
}

impl TryFrom<SqlTable> for SqlOutputSettings {
    type Error = String;

    fn try_from(table: SqlTable) -> Result<Self, String> {
        let connection = table.connection()?;
        refuse(
            "output (it has `table`; a source has `query` instead)",
            &[
                ("query", table.query.is_some()),
                ("params", table.params.is_some()),
                ("incremental", table.incremental.is_some()),
                ("page_size", table.page_size.is_some()),
                ("primary_key", table.primary_key.is_some()),
            ],
        )?;
        let mode = table.mode.unwrap_or_default();
        let key = table.key.unwrap_or_default();
        if mode == WriteMode::Upsert && key.is_empty() {
            return Err(
                "an upsert needs `key`, the columns of a unique index, e.g. key = [\"id\"]".into(),
            );
        }
        Ok(Self {
            connection,
            table: table.table.unwrap_or_default(),
            mode,
            key,
            columns: table.columns.unwrap_or_default(),
        })
    }
}
