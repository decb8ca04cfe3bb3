//! `kind = "sql"`: PostgreSQL, MySQL/MariaDB and SQLite through sqlx. A source runs
//! its query with bound parameters and streams rows as JSON records, by keyset pages
//! when incremental; an output writes each page in one transaction of multi-row
//! INSERTs or upserts; a check probe runs a query and reports rows and first value.

mod bind;
mod failure;
mod keyset;
pub mod pool;
mod statement;
pub mod value;
mod write;

use std::time::{Duration, Instant};

use futures::TryStreamExt;
use serde_json::{Map, Value};
use sqlx::{Column, Executor, Statement, TypeInfo};
use tokio::sync::Mutex;

use self::bind::BindParam;
use self::failure::classify;
use self::keyset::Resume;
use self::pool::{Create, Database, Pool, on_database};
use self::statement::{Rewritten, rewrite_named};
use self::value::{ColumnType, Param, Undecodable};
use super::{BoxFuture, Fetch, Output, Pages, Source};
use crate::config::kinds::sql::{Connection, Dialect, SqlOutputSettings, SqlSourceSettings};
use crate::domain::run::ErrorClass;
use crate::domain::{Failure, Records};
use crate::runtime::context::RunContext;
use crate::runtime::counters::RunCounters;

pub struct SqlSource {
    settings: SqlSourceSettings,
    pool: Pool,
}

impl SqlSource {
    pub fn new(settings: SqlSourceSettings) -> Self {
        let pool = Pool::new(settings.connection.clone(), Create::Never);
        Self { settings, pool }
    }

    /// The query with `:name` parameters as placeholders, and their values in bind order.
    fn statement(&self, dialect: Dialect) -> Result<(Rewritten, Vec<Param>), Failure> {
        let rewritten = rewrite_named(dialect, &self.settings.query);
        let params = rewritten
            .binds
            .iter()
            .map(|name| {
                self.settings
                    .params
                    .get(name)
                    .map(Param::from)
                    .ok_or_else(|| {
                        Failure::config(
                            format!("the query uses `:{name}` but `params` has no `{name}`"),
                            format!("add it: params = {{ {name} = \"...\" }}"),
                        )
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok((rewritten, params))
    }

    /// Every row of the query, a page at a time, as the server streams them.
    async fn stream_all(
        &self,
        ctx: &RunContext,
        db: &Database,
        pages: &Pages,
    ) -> Result<Fetch, Failure> {
        let (query, params) = self.statement(db.dialect())?;
        let page_size = self.settings.page_size as usize;
        let mut fetch = Fetch::default();
        let mut page = Vec::with_capacity(page_size);
        let started = Instant::now();
        let connection = &self.settings.connection;
        let outcome: Result<(), Failure> = on_database!(db, |pool, record| {
            async {
                let mut rows = sqlx::query(&query.sql).bind_all(params).fetch(pool);
                while let Some(row) = rows
                    .try_next()
                    .await
                    .map_err(|e| classify(&e, connection, Some(&query.sql)))?
                {
                    page.push(Value::Object(record(&row).map_err(undecodable)?));
                    if page.len() == page_size {
                        fetch.pages += 1;
                        if !pages.send(std::mem::take(&mut page)).await {
                            break;
                        }
                    }
                }
                Ok(())
            }
            .await
        });
        count_query(ctx, outcome.is_ok(), started.elapsed());
        if let Err(failure) = outcome {
            return partial_or_err(fetch, failure);
        }
        if !page.is_empty() {
            fetch.pages += 1;
            pages.send(page).await;
        }
        Ok(fetch)
    }

    /// Keyset pages after the stored cursor; each page's last row is the cursor the
    /// run earns once the outputs accept it.
    async fn keyset_pages(
        &self,
        ctx: &RunContext,
        db: &Database,
        pages: &Pages,
        keyset: &crate::config::kinds::sql::Keyset,
    ) -> Result<Fetch, Failure> {
        let dialect = db.dialect();
        let (query, user_params) = self.statement(dialect)?;
        let connection = &self.settings.connection;
        let fail = |e: sqlx::Error, sql: &str| classify(&e, connection, Some(sql));
        let bad_cursor = |why: String| {
            Failure::config(
                format!("incremental: {why}"),
                "`cursor_field` and `tie_breaker` must be columns the query returns",
            )
        };
        let columns = column_types(db, &query.sql, connection).await?;
        let type_of = |name: &str| {
            columns
                .iter()
                .find(|(n, _)| n == name)
                .map_or_else(String::new, |(_, t)| t.clone())
        };
        let cursor_type = ColumnType::of(&type_of(&keyset.cursor_field));
        let mut from =
            Resume::from_stored(ctx.cursor.as_deref(), keyset, cursor_type).map_err(bad_cursor)?;
        let mut fetch = Fetch::default();
        loop {
            let (sql, cursor_params) = keyset::page(
                dialect,
                &query.sql,
                query.binds.len(),
                keyset,
                &from,
                self.settings.page_size,
            )
            .map_err(bad_cursor)?;
            let params = user_params.iter().cloned().chain(cursor_params);
            let started = Instant::now();
            let rows: Result<Vec<Map<String, Value>>, Failure> =
                on_database!(db, |pool, record| {
                    match sqlx::query(&sql).bind_all(params).fetch_all(pool).await {
                        Ok(rows) => rows
                            .iter()
                            .map(|row| record(row).map_err(undecodable))
                            .collect(),
                        Err(error) => Err(fail(error, &sql)),
                    }
                });
            count_query(ctx, rows.is_ok(), started.elapsed());
            let rows = match rows {
                Ok(rows) => rows,
                Err(failure) => return partial_or_err(fetch, failure),
            };
            let full = rows.len() == self.settings.page_size as usize;
            let Some(last) = rows.last() else { break };
            let position =
                keyset::position_of(dialect, keyset, last, type_of).map_err(bad_cursor)?;
            fetch.pages += 1;
            let accepted = pages
                .send(rows.into_iter().map(Value::Object).collect::<Vec<_>>())
                .await;
            fetch.cursor = Some(serde_json::to_string(&position).expect("a position serialises"));
            from = Resume::After(position);
            if !full || !accepted {
                break;
            }
        }
        Ok(fetch)
    }
}

/// A statement counts as a request of the run and in the integration's figures.
fn count_query(ctx: &RunContext, ok: bool, latency: Duration) {
    RunCounters::add(&ctx.counters.requests);
    ctx.metrics_request(ok, latency, false);
}

/// A failure after some pages went out makes the run partial; before, it failed.
fn partial_or_err(mut fetch: Fetch, failure: Failure) -> Result<Fetch, Failure> {
    if fetch.pages == 0 {
        return Err(failure);
    }
    fetch.partial = Some(failure);
    Ok(fetch)
}

fn undecodable(error: Undecodable) -> Failure {
    Failure::new(
        ErrorClass::Decode,
        format!(
            "column `{}` ({}) could not be read: {}",
            error.column, error.type_name, error.reason
        ),
        "cast it in the query to a type patchbay maps (see the type table in docs/connectors.md)",
    )
}

/// The columns `sql` returns and their type names, from preparing it.
async fn column_types(
    db: &Database,
    sql: &str,
    connection: &Connection,
) -> Result<Vec<(String, String)>, Failure> {
    on_database!(db, |pool, _record| {
        let statement = pool
            .prepare(sql)
            .await
            .map_err(|e| classify(&e, connection, Some(sql)))?;
        Ok(statement
            .columns()
            .iter()
            .map(|c| (c.name().to_owned(), c.type_info().name().to_owned()))
            .collect())
    })
}

async fn server_version(db: &Database, connection: &Connection) -> Result<String, Failure> {
    let sql = match db.dialect() {
        Dialect::Postgres => "SHOW server_version",
        Dialect::MySql => "SELECT VERSION()",
        Dialect::Sqlite => "SELECT sqlite_version()",
    };
    let version: String = on_database!(db, |pool, _record| {
        sqlx::query_scalar(sql)
            .fetch_one(pool)
            .await
            .map_err(|e| classify(&e, connection, Some(sql)))?
    });
    let name = match db.dialect() {
        Dialect::MySql if version.contains("MariaDB") => "MariaDB",
        Dialect::MySql => "MySQL",
        other => other.name(),
    };
    let number = version.split(['-', ' ']).next().unwrap_or(&version);
    Ok(format!("{name} {number}"))
}

fn describe_columns(columns: &[(String, String)]) -> String {
    columns
        .iter()
        .map(|(name, type_name)| format!("{name} {}", type_name.to_lowercase()))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Source for SqlSource {
    fn fetch<'a>(
        &'a self,
        ctx: &'a RunContext,
        pages: Pages,
    ) -> BoxFuture<'a, Result<Fetch, Failure>> {
        Box::pin(async move {
            let db = self.pool.get(ctx).await?;
            match &self.settings.incremental {
                Some(keyset) => self.keyset_pages(ctx, &db, &pages, keyset).await,
                None => self.stream_all(ctx, &db, &pages).await,
            }
        })
    }

    fn primary_key(&self) -> Option<&str> {
        self.settings.primary_key.as_deref()
    }

    /// Connects, runs the query for one row, and names the server and the columns.
    fn test<'a>(&'a self, ctx: &'a RunContext) -> BoxFuture<'a, Result<String, Failure>> {
        Box::pin(async move {
            let db = self.pool.get(ctx).await?;
            let version = server_version(&db, &self.settings.connection).await?;
            let (query, params) = self.statement(db.dialect())?;
            let sql = format!("SELECT * FROM ({}) AS patchbay_test LIMIT 1", query.sql);
            let connection = &self.settings.connection;
            let rows: usize = on_database!(&db, |pool, record| {
                let rows = sqlx::query(&sql)
                    .bind_all(params)
                    .fetch_all(pool)
                    .await
                    .map_err(|e| classify(&e, connection, Some(&sql)))?;
                for row in &rows {
                    record(row).map_err(undecodable)?;
                }
                rows.len()
            });
            let columns = column_types(&db, &query.sql, &self.settings.connection).await?;
            Ok(format!(
                "{version}; the query returned {rows} row{} (LIMIT 1); columns: {}",
                if rows == 1 { "" } else { "s" },
                describe_columns(&columns)
            ))
        })
    }
}

pub struct SqlOutput {
    settings: SqlOutputSettings,
    pool: Pool,
    /// The table's columns and type names, read once per pool.
    table: Mutex<Option<Vec<(String, String)>>>,
}

impl SqlOutput {
    pub fn new(settings: SqlOutputSettings) -> Self {
        let pool = Pool::new(settings.connection.clone(), Create::IfMissing);
        Self {
            settings,
            pool,
            table: Mutex::new(None),
        }
    }

    async fn table_columns(&self, db: &Database) -> Result<Vec<(String, String)>, Failure> {
        let mut cached = self.table.lock().await;
        if let Some(columns) = cached.as_ref() {
            return Ok(columns.clone());
        }
        let sql = format!(
            "SELECT * FROM {}",
            statement::quote(db.dialect(), &self.settings.table)
        );
        let columns = column_types(db, &sql, &self.settings.connection).await?;
        *cached = Some(columns.clone());
        Ok(columns)
    }

    /// Writes `records` in one transaction. A statement that fails is retried row by
    /// row, still inside nothing committed, to name the record the database refused.
    async fn write(&self, db: &Database, records: &[Value]) -> Result<(), Failure> {
        let dialect = db.dialect();
        let table = self.table_columns(db).await?;
        let targets = write::targets(dialect, &self.settings, &table, records)
            .map_err(|why| Failure::config(why, "fix `table` or `columns` of the output"))?;
        let mut rows = Vec::with_capacity(records.len());
        for (index, record) in records.iter().enumerate() {
            rows.push(write::row_params(&targets, record).map_err(|why| {
                Failure::new(
                    ErrorClass::Decode,
                    format!(
                        "{}: {why}",
                        write::describe_row(&self.settings, record, index)
                    ),
                    "fix the record in the source's pipeline, or map another field with `columns`",
                )
            })?);
        }
        let per_statement = write::rows_per_statement(targets.len());
        let connection = &self.settings.connection;
        let result: Result<(), (sqlx::Error, String)> = on_database!(db, |pool, _record| {
            async {
                let mut tx = pool.begin().await.map_err(|e| (e, String::new()))?;
                for chunk in rows.chunks(per_statement) {
                    let sql = write::statement(dialect, &self.settings, &targets, chunk.len());
                    sqlx::query(&sql)
                        .bind_all(chunk.iter().flatten().cloned())
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| (e, sql))?;
                }
                tx.commit().await.map_err(|e| (e, String::new()))
            }
            .await
        });
        let Err((error, sql)) = result else {
            return Ok(());
        };
        let failure = classify(&error, connection, Some(&sql));
        if failure.class != ErrorClass::Client || rows.len() == 1 {
            return Err(failure);
        }
        // Which record? Each on its own, in a transaction rolled back at the end.
        let one = write::statement(dialect, &self.settings, &targets, 1);
        let culprit: Option<(usize, sqlx::Error)> = on_database!(db, |pool, _record| {
            async {
                let mut tx = pool.begin().await.ok()?;
                for (index, row) in rows.iter().enumerate() {
                    if let Err(error) = sqlx::query(&one)
                        .bind_all(row.iter().cloned())
                        .execute(&mut *tx)
                        .await
                    {
                        return Some((index, error));
                    }
                }
                None
            }
            .await
        });
        Err(match culprit {
            Some((index, error)) => {
                let failure = classify(&error, connection, Some(&one));
                Failure::new(
                    failure.class,
                    format!(
                        "{}: {}",
                        write::describe_row(&self.settings, &records[index], index),
                        failure.message
                    ),
                    failure.hint,
                )
            }
            None => failure,
        })
    }
}

impl Output for SqlOutput {
    fn deliver<'a>(
        &'a self,
        ctx: &'a RunContext,
        _from: &'a str,
        records: &'a Records,
    ) -> BoxFuture<'a, Result<(), Failure>> {
        Box::pin(async move {
            let records = records.values();
            if records.is_empty() {
                return Ok(());
            }
            let db = self.pool.get(ctx).await?;
            let started = Instant::now();
            let result = self.write(&db, records).await;
            if result
                .as_ref()
                .is_err_and(|f| f.class == ErrorClass::Config)
            {
                // The table may have changed: read its columns again next time.
                *self.table.lock().await = None;
            }
            count_query(ctx, result.is_ok(), started.elapsed());
            result
        })
    }

    /// Connects and checks that the table and every configured column exist.
    fn test<'a>(&'a self, ctx: &'a RunContext) -> BoxFuture<'a, Result<String, Failure>> {
        Box::pin(async move {
            let db = self.pool.get(ctx).await?;
            let version = server_version(&db, &self.settings.connection).await?;
            let table = self.table_columns(&db).await?;
            let named = self.settings.columns.keys().chain(&self.settings.key);
            if let Some(missing) = named
                .into_iter()
                .find(|c| !table.iter().any(|(n, _)| n == *c))
            {
                return Err(Failure::config(
                    format!("table `{}` has no column `{missing}`", self.settings.table),
                    "fix `columns` or `key` of the output, or add the column",
                ));
            }
            Ok(format!(
                "{version}; table `{}` has columns: {}",
                self.settings.table,
                describe_columns(&table)
            ))
        })
    }
}

/// What a `probe = { sql = ..., query = ... }` saw: connected, rows, first value.
pub struct SqlProbe {
    pool: Pool,
    query: String,
}

/// A probe's findings, for the check's conditions.
#[derive(Debug, Default)]
pub struct ProbeResult {
    pub connected: bool,
    pub rows: Option<u64>,
    pub value: Option<Value>,
    pub error: Option<Failure>,
}

impl SqlProbe {
    pub fn new(connection: Connection, query: String) -> Self {
        Self {
            pool: Pool::new(connection, Create::Never),
            query,
        }
    }

    pub async fn observe(&self, ctx: &RunContext) -> ProbeResult {
        let db = match self.pool.get(ctx).await {
            Ok(db) => db,
            Err(error) => {
                return ProbeResult {
                    error: Some(error),
                    ..ProbeResult::default()
                };
            }
        };
        let connection = self.pool.connection();
        let sql = self.query.as_str();
        let rows: Result<Vec<Map<String, Value>>, Failure> = on_database!(&db, |pool, record| {
            match sqlx::query(sql).fetch_all(pool).await {
                Ok(rows) => rows
                    .iter()
                    .map(|r| record(r).map_err(undecodable))
                    .collect(),
                Err(error) => Err(classify(&error, connection, Some(sql))),
            }
        });
        match rows {
            Ok(rows) => ProbeResult {
                connected: true,
                rows: Some(rows.len() as u64),
                value: rows.first().and_then(|r| r.values().next().cloned()),
                error: None,
            },
            // The server answered with an error: it is up, the query is wrong.
            Err(failure) => ProbeResult {
                connected: !matches!(
                    failure.class,
                    ErrorClass::Network | ErrorClass::Timeout | ErrorClass::Auth
                ),
                error: Some(failure),
                ..ProbeResult::default()
            },
        }
    }
}
