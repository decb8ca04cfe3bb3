//! What went wrong with a database, classed so retries and alerts treat it right: a
//! wrong password is `auth` and names the secret, a server that went away is
//! `network`, a query that does not parse is `config` and shows where.

use sqlx::error::{DatabaseError, ErrorKind};

use crate::config::credential::Credential;
use crate::config::kinds::sql::Connection;
use crate::domain::Failure;
use crate::domain::run::ErrorClass;

/// `sql` is the statement as sent, for pointing at a syntax error.
pub fn classify(error: &sqlx::Error, connection: &Connection, sql: Option<&str>) -> Failure {
    use sqlx::Error as E;
    match error {
        E::Database(db) => database(db.as_ref(), connection, sql),
        E::Io(io) => Failure::new(
            ErrorClass::Network,
            format!("the database connection failed: {io}"),
            "is the server running and reachable? the next run tries again",
        ),
        E::Tls(tls) => Failure::new(
            ErrorClass::Network,
            format!("TLS with the database failed: {tls}"),
            "check `sslmode` in the URL and the server's certificate",
        ),
        E::PoolTimedOut => Failure::new(
            ErrorClass::Timeout,
            "no database connection became free in time",
            "the server may be down or slow; raise `pool_size` or `request_timeout`",
        ),
        E::Protocol(_) | E::PoolClosed | E::WorkerCrashed => Failure::new(
            ErrorClass::Network,
            format!("the database connection broke: {error}"),
            "the next run reconnects",
        ),
        E::Configuration(why) => Failure::config(
            format!("the database URL is not valid: {why}"),
            format!("fix {}", where_the_url_is(connection)),
        ),
        E::ColumnDecode { .. } | E::Decode(_) | E::TypeNotFound { .. } => Failure::new(
            ErrorClass::Decode,
            format!("a column could not be read: {error}"),
            "cast the column in the query to a type patchbay maps (see docs/connectors.md)",
        ),
        other => Failure::new(
            ErrorClass::Server,
            format!("the database failed: {other}"),
            "see the database's log",
        ),
    }
}

fn database(db: &dyn DatabaseError, connection: &Connection, sql: Option<&str>) -> Failure {
    let code = db.code().unwrap_or_default();
    let message = db.message();
    let class = match (code.as_ref(), db.kind()) {
        // PostgreSQL's invalid_password and invalid_authorization; MySQL's 1045 has 28000.
        ("28P01" | "28000", _) => ErrorClass::Auth,
        (
            _,
            ErrorKind::UniqueViolation
            | ErrorKind::ForeignKeyViolation
            | ErrorKind::NotNullViolation
            | ErrorKind::CheckViolation,
        ) => ErrorClass::Client,
        (code, _) if code.starts_with("23") => ErrorClass::Client,
        // Syntax errors, missing tables and columns, wrong types, unknown databases.
        (code, _) if code.starts_with("42") || code == "3D000" => ErrorClass::Config,
        // Connection exceptions, and a server shutting down.
        (code, _) if code.starts_with("08") || code.starts_with("57P") => ErrorClass::Network,
        // SQLite names no SQLSTATE: its error text says what it is.
        _ if message.contains("syntax error")
            || message.starts_with("no such table")
            || message.starts_with("no such column") =>
        {
            ErrorClass::Config
        }
        _ => ErrorClass::Server,
    };
    let located = match (position(db), sql) {
        (Some(at), Some(sql)) => format!("{message} (at: {})", excerpt(sql, at)),
        _ => message.to_owned(),
    };
    let hint = match class {
        ErrorClass::Auth => format!(
            "the database refused the login: check the user and password in {}",
            where_the_password_is(connection)
        ),
        ErrorClass::Config => {
            "fix the query or the table in connectors.toml; the message is the database's own"
                .to_owned()
        }
        ErrorClass::Client => {
            "a row broke a constraint of the table; fix the record or the table".to_owned()
        }
        ErrorClass::Network => {
            "the server went away; the next run reconnects and resumes".to_owned()
        }
        _ => "see the database's log".to_owned(),
    };
    Failure::new(class, located, hint)
}

/// PostgreSQL's 1-based character position of a syntax error, if it gave one.
fn position(db: &dyn DatabaseError) -> Option<usize> {
    use sqlx::postgres::{PgDatabaseError, PgErrorPosition};
    match db.try_downcast_ref::<PgDatabaseError>()?.position()? {
        PgErrorPosition::Original(at) => Some(at),
        PgErrorPosition::Internal { .. } => None,
    }
}

/// The statement from the error's position on, one line, a few words: enough to see
/// where it went wrong.
fn excerpt(sql: &str, at: usize) -> String {
    let rest: String = sql
        .chars()
        .skip(at.saturating_sub(1))
        .take(40)
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .collect();
    format!("`{}`", rest.trim_end())
}

fn where_the_url_is(connection: &Connection) -> String {
    match &connection.url {
        Credential::Vault(name) => format!("secret `{name}` (patchbay secret set {name})"),
        Credential::Env(var) => format!("the environment variable {var}"),
        Credential::Literal(_) => "`url` in connectors.toml".to_owned(),
    }
}

fn where_the_password_is(connection: &Connection) -> String {
    match &connection.password {
        Some(Credential::Vault(name)) => format!("secret `{name}` (patchbay secret set {name})"),
        Some(Credential::Env(var)) => format!("the environment variable {var}"),
        Some(Credential::Literal(_)) => "`password` in connectors.toml".to_owned(),
        None => where_the_url_is(connection),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_excerpt_starts_at_the_error() {
        assert_eq!(excerpt("SELECT *\nFORM users", 10), "`FORM users`");
        assert_eq!(excerpt("SELECT", 99), "``");
    }
}
