//! One connection pool per `sql` integration, opened on first use from its resolved
//! credentials and opened again when they change (a rotated secret).

use std::str::FromStr;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use sqlx::ConnectOptions;
use sqlx::mysql::{MySqlConnectOptions, MySqlPool};
use sqlx::pool::PoolOptions;
use sqlx::postgres::{PgConnectOptions, PgPool};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};
use tokio::sync::Mutex;

use super::failure::classify;
use crate::config::kinds::sql::{Connection, Dialect};
use crate::domain::Failure;
use crate::fingerprint::fnv1a;
use crate::redact;
use crate::runtime::context::RunContext;

/// An open pool of one of the three databases; clones share the pool.
#[derive(Clone)]
pub enum Database {
    Postgres(PgPool),
    MySql(MySqlPool),
    Sqlite(SqlitePool),
}

impl Database {
    pub fn dialect(&self) -> Dialect {
        match self {
            Self::Postgres(_) => Dialect::Postgres,
            Self::MySql(_) => Dialect::MySql,
            Self::Sqlite(_) => Dialect::Sqlite,
        }
    }
}

/// Runs `$body` with `$pool` bound to the concrete pool of `$db` and `$record` to
/// the function that turns one of its rows into a JSON object. The body is compiled
/// once per database, so it can use sqlx's typed API without a trait of our own.
macro_rules! on_database {
    ($db:expr, |$pool:ident, $record:ident| $body:expr) => {
        match $db {
            $crate::connectors::sql::pool::Database::Postgres($pool) => {
                let $record = $crate::connectors::sql::value::postgres_record;
                $body
            }
            $crate::connectors::sql::pool::Database::MySql($pool) => {
                let $record = $crate::connectors::sql::value::mysql_record;
                $body
            }
            $crate::connectors::sql::pool::Database::Sqlite($pool) => {
                let $record = $crate::connectors::sql::value::sqlite_record;
                $body
            }
        }
    };
}
pub(crate) use on_database;

/// Whether opening a SQLite file that is not there creates it: an output may, a
/// source reading a mistyped path must not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Create {
    IfMissing,
    Never,
}

pub struct Pool {
    connection: Connection,
    create: Create,
    open: Mutex<Option<(u64, Database)>>,
}

impl Pool {
    pub fn new(connection: Connection, create: Create) -> Self {
        Self {
            connection,
            create,
            open: Mutex::new(None),
        }
    }

    pub fn connection(&self) -> &Connection {
        &self.connection
    }

    /// The pool for the credentials as they are now. Connections open lazily, so a
    /// database that is down fails the first query, classed as `network`.
    pub async fn get(&self, ctx: &RunContext) -> Result<Database, Failure> {
        let url = ctx.resolve(&self.connection.url)?;
        let password = match &self.connection.password {
            Some(credential) => Some(ctx.resolve(credential)?),
            None => None,
        };
        let key = fnv1a(
            format!(
                "{}\u{0}{}",
                url.expose_secret(),
                password.as_ref().map_or("", |p| p.expose_secret())
            )
            .as_bytes(),
        );
        let mut open = self.open.lock().await;
        if let Some((opened_with, database)) = open.as_ref()
            && *opened_with == key
        {
            return Ok(database.clone());
        }
        let database = self.connect(&url, password.as_ref(), ctx.integration.request_timeout)?;
        *open = Some((key, database.clone()));
        Ok(database)
    }

    fn connect(
        &self,
        url: &SecretString,
        password: Option<&SecretString>,
        acquire_timeout: Duration,
    ) -> Result<Database, Failure> {
        let url = url.expose_secret();
        let dialect = Dialect::of_url(url).ok_or_else(|| {
            Failure::config(
                "the database URL must start with postgres://, mysql:// or sqlite://",
                format!("fix the value of {}", self.connection.url),
            )
        })?;
        redact_url_password(url);
        let invalid = |error: sqlx::Error| classify(&error, &self.connection, None);
        let size = self.connection.pool_size;
        Ok(match dialect {
            Dialect::Postgres => {
                let mut options = PgConnectOptions::from_str(url)
                    .map_err(invalid)?
                    .application_name("patchbay")
                    .disable_statement_logging();
                if let Some(password) = password {
                    options = options.password(password.expose_secret());
                }
                Database::Postgres(pool_options(size, acquire_timeout).connect_lazy_with(options))
            }
            Dialect::MySql => {
                let scheme_fixed = url.replacen("mariadb:", "mysql:", 1);
                let mut options = MySqlConnectOptions::from_str(&scheme_fixed)
                    .map_err(invalid)?
                    .disable_statement_logging();
                if let Some(password) = password {
                    options = options.password(password.expose_secret());
                }
                Database::MySql(pool_options(size, acquire_timeout).connect_lazy_with(options))
            }
            Dialect::Sqlite => {
                let options = SqliteConnectOptions::from_str(url)
                    .map_err(invalid)?
                    .create_if_missing(self.create == Create::IfMissing)
                    .disable_statement_logging();
                Database::Sqlite(pool_options(size, acquire_timeout).connect_lazy_with(options))
            }
        })
    }
}

/// The same pool for every database: `size` connections at most, and idle ones
/// closed after a while, since a hub of many databases should not hold every one open
/// between runs an hour apart.
fn pool_options<DB: sqlx::Database>(size: u32, acquire_timeout: Duration) -> PoolOptions<DB> {
    PoolOptions::new()
        .max_connections(size)
        .acquire_timeout(acquire_timeout)
        .idle_timeout(Some(Duration::from_secs(300)))
}

/// A password inside a URL is a secret of its own: errors may quote it without the
/// rest of the URL.
fn redact_url_password(url: &str) {
    if let Ok(parsed) = reqwest::Url::parse(url)
        && let Some(password) = parsed.password()
    {
        let decoded = percent_encoding::percent_decode_str(password).decode_utf8_lossy();
        redact::global().add(&SecretString::from(password.to_owned()));
        redact::global().add(&SecretString::from(decoded.into_owned()));
    }
}
