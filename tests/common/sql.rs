//! Real databases for the `sql` kind's tests: a SQLite file, and the PostgreSQL and
//! MariaDB/MySQL servers named by `PATCHBAY_TEST_POSTGRES_URL` / `PATCHBAY_TEST_MYSQL_URL`
//! (defaults: this machine kind's local servers). Each test uses tables of its own.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
    MySql,
}

pub struct Db {
    pub kind: Kind,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

static TABLES: AtomicUsize = AtomicUsize::new(0);

/// A SQLite file at `path` holding what `sql` creates, for tests of the CLI on a
/// `sql` source.
pub fn sqlite_file(path: &std::path::Path, sql: &str) {
    std::fs::File::create(path).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        sqlx::raw_sql(sql).execute(&pool).await.unwrap();
    });
}

impl Db {
    pub fn new(kind: Kind) -> Self {
        match kind {
            Kind::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}", dir.path().join("test.db").display());
                std::fs::File::create(dir.path().join("test.db")).unwrap();
                Self {
                    kind,
                    url,
                    _dir: Some(dir),
                }
            }
            Kind::Postgres => Self {
                kind,
                url: std::env::var("PATCHBAY_TEST_POSTGRES_URL")
                    .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into()),
                _dir: None,
            },
            Kind::MySql => Self {
                kind,
                url: std::env::var("PATCHBAY_TEST_MYSQL_URL")
                    .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into()),
                _dir: None,
            },
        }
    }

    /// A table name no other test (or test process) uses.
    pub fn table(&self, base: &str) -> String {
        let n = TABLES.fetch_add(1, Ordering::SeqCst);
        format!("pb_{base}_{}_{n}", std::process::id())
    }

    /// Runs `sql`, which may hold several statements.
    pub async fn exec(&self, sql: &str) {
        match self.kind {
            Kind::Sqlite => {
                let pool = sqlx::SqlitePool::connect(&self.url).await.unwrap();
                sqlx::raw_sql(sql).execute(&pool).await.unwrap();
                pool.close().await;
            }
            Kind::Postgres => {
                let pool = sqlx::PgPool::connect(&self.url).await.unwrap();
                sqlx::raw_sql(sql).execute(&pool).await.unwrap();
                pool.close().await;
            }
            Kind::MySql => {
                let pool = sqlx::MySqlPool::connect(&self.url).await.unwrap();
                sqlx::raw_sql(sql).execute(&pool).await.unwrap();
                pool.close().await;
            }
        }
    }

    /// The first column of the first row of `sql`, as text.
    pub async fn scalar(&self, sql: &str) -> String {
        let cast = format!("SELECT CAST(({sql}) AS CHAR(200))");
        let pg_cast = format!("SELECT CAST(({sql}) AS TEXT)");
        match self.kind {
            Kind::Sqlite => {
                let pool = sqlx::SqlitePool::connect(&self.url).await.unwrap();
                sqlx::query_scalar(&pg_cast).fetch_one(&pool).await.unwrap()
            }
            Kind::Postgres => {
                let pool = sqlx::PgPool::connect(&self.url).await.unwrap();
                sqlx::query_scalar(&pg_cast).fetch_one(&pool).await.unwrap()
            }
            Kind::MySql => {
                let pool = sqlx::MySqlPool::connect(&self.url).await.unwrap();
                sqlx::query_scalar(&cast).fetch_one(&pool).await.unwrap()
            }
        }
    }

    /// The URL through `proxy` instead of straight to the server.
    pub fn via(&self, proxy: &CuttingProxy) -> String {
        let port = match self.kind {
            Kind::Postgres => ":5432",
            Kind::MySql => ":3306",
            Kind::Sqlite => panic!("SQLite has no socket to cut"),
        };
        self.url.replacen(port, &format!(":{}", proxy.port), 1)
    }
}

/// A TCP proxy to a database server that drops every connection once the server has
/// sent more than `limit` bytes through it: a server going away mid-run, on a real
/// socket.
pub struct CuttingProxy {
    pub port: u16,
    /// Bytes the server sent through the proxy so far.
    pub sent: Arc<AtomicU64>,
    /// Past this many bytes every connection is cut (and new ones refused).
    pub limit: Arc<AtomicU64>,
}

impl CuttingProxy {
    pub async fn start(target: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let sent = Arc::new(AtomicU64::new(0));
        let limit = Arc::new(AtomicU64::new(u64::MAX));
        let (s, l) = (Arc::clone(&sent), Arc::clone(&limit));
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if s.load(Ordering::SeqCst) > l.load(Ordering::SeqCst) {
                    continue;
                }
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)).await else {
                    continue;
                };
                tokio::spawn(pipe(client, server, Arc::clone(&s), Arc::clone(&l)));
            }
        });
        Self { port, sent, limit }
    }
}

async fn pipe(client: TcpStream, server: TcpStream, sent: Arc<AtomicU64>, limit: Arc<AtomicU64>) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let upstream = async {
        let mut buf = vec![0u8; 16 * 1024];
        while let Ok(n) = client_read.read(&mut buf).await {
            if n == 0 || server_write.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    };
    let downstream = async {
        let mut buf = vec![0u8; 16 * 1024];
        while let Ok(n) = server_read.read(&mut buf).await {
            let total = sent.fetch_add(n as u64, Ordering::SeqCst) + n as u64;
            if n == 0 || total > limit.load(Ordering::SeqCst) {
                break;
            }
            if client_write.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    };
    // Whichever side ends first, both sockets close with it.
    tokio::select! {
        () = upstream => {}
        () = downstream => {}
    }
}
