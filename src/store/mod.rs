//! The embedded store: one redb file, `patchbay.redb`, in the data dir.
//!
//! Values are JSON so that new optional fields need no migration, except the minute
//! rollups, one per integration per minute, which are packed (`rollup_codec`); keys
//! are chosen so that every listing the console needs is a range scan.

mod alerts;
mod audit;
mod backup;
mod batch;
mod record_hashes;
pub mod retention;
mod rollup_codec;
mod runs;
pub mod schema;
mod secrets;
mod state;

use std::path::{Path, PathBuf};
use std::sync::RwLock;

use redb::{
    Database, DatabaseError, ReadTransaction, ReadableDatabase, ReadableTable, StorageError,
    TableDefinition, WriteTransaction,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use batch::{Cursor, Progress, WriteOp};
pub use secrets::{SecretMeta, SecretRow};

use schema::{META, SCHEMA_VERSION, SCHEMA_VERSION_KEY};

pub const STORE_FILE: &str = "patchbay.redb";

/// redb's page cache. Its default grows toward a gigabyte on a big store, far past the
/// engine's memory budget. Measured (docs/performance.md): 16 MiB keeps appends at
/// ~63,000 runs/s and newest-100 listings under 0.3 ms (p99), the same as 64 MiB.
const CACHE_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the data directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "store {path} is in use by another patchbay process; stop it, or point --data-dir elsewhere"
    )]
    InUse { path: PathBuf },
    #[error(
        "{path} is not a patchbay store ({detail}); move it away or point --data-dir elsewhere"
    )]
    NotAStore { path: PathBuf, detail: String },
    #[error(
        "store {path} was written by a newer patchbay (schema v{found}, this build knows v{supported}); \
         upgrade patchbay to open it. The file was left untouched"
    )]
    NewerSchema {
        path: PathBuf,
        found: u64,
        supported: u64,
    },
    #[error("store entry {what} is damaged and cannot be read: {detail}")]
    Corrupt { what: String, detail: String },
    #[error("store error: {0}")]
    Database(#[from] redb::Error),
    #[error("backup failed: {0}")]
    Backup(String),
    #[error(
        "store {path} could not be reopened after a write error: {detail}; free disk space, writes are retried"
    )]
    Unavailable { path: PathBuf, detail: String },
}

impl StoreError {
    /// An I/O failure (the disk is full, say) after which redb must be reopened.
    fn is_io(&self) -> bool {
        matches!(
            self,
            Self::Database(redb::Error::Io(_) | redb::Error::PreviousIo)
        )
    }
}

macro_rules! from_redb_error {
    ($($ty:ty),*) => {$(
        impl From<$ty> for StoreError {
            fn from(error: $ty) -> Self {
                Self::Database(error.into())
            }
        }
    )*};
}
from_redb_error!(
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The open store. Cheap to share behind an `Arc`; redb serialises writers itself.
pub struct Store {
    /// `None` only between a failed I/O and a successful reopen: after an I/O error
    /// (a full disk) redb refuses every later transaction until it is reopened.
    db: RwLock<Option<Database>>,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens (or creates) `patchbay.redb` in `data_dir`.
    pub fn open_in(data_dir: &Path) -> Result<Self> {
        let wide = crate::paths::private_dir(data_dir).map_err(|source| StoreError::CreateDir {
            path: data_dir.to_owned(),
            source,
        })?;
        if let Some(warning) = wide {
            tracing::warn!("{warning}");
        }
        let path = data_dir.join(STORE_FILE);
        let created = !path.exists();
        let store = Self::open(&path)?;
        if created {
            // redb creates it with the process umask; it holds history and ciphertexts.
            if let Err(error) = crate::paths::private_file(&path) {
                tracing::warn!(path = %path.display(), %error, "cannot make the store private");
            }
        } else if let Some(warning) = crate::paths::readable_by_others(&path) {
            tracing::warn!("{warning}");
        }
        Ok(store)
    }

    /// Opens (or creates) a store file, refusing a file in use, a file that is not a
    /// store, and a store from a newer schema, then migrates an older one.
    pub fn open(path: &Path) -> Result<Self> {
        // Opening read-write rewrites redb's header, so a store we must refuse is first
        // looked at read-only: a newer store is then left byte for byte as it was.
        if std::fs::metadata(path).is_ok_and(|m| m.len() > 0) {
            match Database::builder()
                .set_cache_size(CACHE_BYTES)
                .open_read_only(path)
            {
                Ok(db) => {
                    check_schema(&db.begin_read()?, path)?;
                }
                // A store that needs crash recovery cannot be opened read-only; the
                // read-write open below repairs it and checks the schema after.
                Err(DatabaseError::RepairAborted) => {}
                Err(error) => return Err(open_error(error, path)),
            }
        }
        let db = open_read_write(path)?;
        let found = check_schema(&db.begin_read()?, path)?;
        let store = Self {
            db: RwLock::new(Some(db)),
            path: path.to_owned(),
        };
        if found < SCHEMA_VERSION {
            store.write(|txn| Ok(schema::migrate(txn, found)?))?;
        }
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` in one write transaction and commits it; an error aborts it whole.
    /// After an I/O failure the store is reopened, so the next write can succeed once
    /// the disk has room again.
    pub(crate) fn write<R>(&self, f: impl FnOnce(&WriteTransaction) -> Result<R>) -> Result<R> {
        let result = self.with_db(|db| Ok(db.begin_write()?)).and_then(|txn| {
            let result = f(&txn)?;
            txn.commit()?;
            Ok(result)
        });
        if let Err(error) = &result
            && error.is_io()
        {
            self.reopen(error);
        }
        result
    }

    /// Runs `f` on the open database, reopening it first if an earlier I/O failure
    /// closed it.
    fn with_db<T>(&self, f: impl FnOnce(&Database) -> Result<T>) -> Result<T> {
        {
            let db = self.db.read().unwrap_or_else(|e| e.into_inner());
            if let Some(db) = db.as_ref() {
                return f(db);
            }
        }
        let mut db = self.db.write().unwrap_or_else(|e| e.into_inner());
        if db.is_none() {
            *db = Some(
                open_read_write(&self.path).map_err(|e| StoreError::Unavailable {
                    path: self.path.clone(),
                    detail: e.to_string(),
                })?,
            );
            tracing::info!(path = %self.path.display(), "store reopened after a write error");
        }
        f(db.as_ref().expect("opened above"))
    }

    /// Closes the database after `error`; the next transaction opens it again.
    fn reopen(&self, error: &StoreError) {
        tracing::error!(path = %self.path.display(), %error, "store write failed; the store is reopened and writes are retried");
        let mut db = self.db.write().unwrap_or_else(|e| e.into_inner());
        // Dropping the database releases its file lock so it can be opened again.
        *db = None;
        match open_read_write(&self.path) {
            Ok(reopened) => *db = Some(reopened),
            Err(error) => {
                tracing::error!(path = %self.path.display(), %error, "store cannot be reopened yet; trying again at the next use")
            }
        }
    }

    /// Up to `limit` JSON values of a table keyed by ULID, newest first; `what` names
    /// one in the error when it cannot be read.
    pub(crate) fn newest_first<T: DeserializeOwned>(
        &self,
        table: TableDefinition<u128, &[u8]>,
        limit: usize,
        what: &str,
    ) -> Result<Vec<T>> {
        let txn = self.read()?;
        let table = txn.open_table(table)?;
        table
            .iter()?
            .rev()
            .take(limit)
            .map(|entry| {
                let (id, value) = entry?;
                decode(value.value(), || {
                    format!("{what} {}", ulid::Ulid(id.value()))
                })
            })
            .collect()
    }

    pub(crate) fn read(&self) -> Result<ReadTransaction> {
        let txn = self.with_db(|db| Ok(db.begin_read()?));
        if let Err(error) = &txn
            && error.is_io()
        {
            self.reopen(error);
        }
        txn
    }
}

fn open_read_write(path: &Path) -> Result<Database> {
    Database::builder()
        .set_cache_size(CACHE_BYTES)
        .create(path)
        .map_err(|error| open_error(error, path))
}

fn open_error(error: DatabaseError, path: &Path) -> StoreError {
    match error {
        DatabaseError::DatabaseAlreadyOpen | DatabaseError::LockProtocolMismatch => {
            StoreError::InUse {
                path: path.to_owned(),
            }
        }
        DatabaseError::Storage(StorageError::Io(io))
            if io.kind() == std::io::ErrorKind::InvalidData =>
        {
            StoreError::NotAStore {
                path: path.to_owned(),
                detail: io.to_string(),
            }
        }
        DatabaseError::Storage(StorageError::Corrupted(detail)) => StoreError::NotAStore {
            path: path.to_owned(),
            detail: format!("not a redb file: {detail}"),
        },
        DatabaseError::UpgradeRequired(version) => StoreError::NotAStore {
            path: path.to_owned(),
            detail: format!("redb file format {version} is too old"),
        },
        other => StoreError::Database(other.into()),
    }
}

/// The schema version recorded in the file (0 for a new, empty file), refusing a
/// newer one and a redb file that is not ours.
fn check_schema(txn: &ReadTransaction, path: &Path) -> Result<u64> {
    let found = match txn.open_table(META) {
        Ok(meta) => meta.get(SCHEMA_VERSION_KEY)?.map_or(0, |v| v.value()),
        Err(redb::TableError::TableDoesNotExist(_)) => {
            if txn.list_tables()?.next().is_some() {
                return Err(StoreError::NotAStore {
                    path: path.to_owned(),
                    detail: "a redb file without patchbay's tables".to_owned(),
                });
            }
            0
        }
        Err(other) => return Err(other.into()),
    };
    if found > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            path: path.to_owned(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(found)
}

pub(crate) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("store values serialise to JSON")
}

pub(crate) fn decode<T: DeserializeOwned>(
    bytes: &[u8],
    what: impl FnOnce() -> String,
) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        what: what(),
        detail: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_open_is_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let _first = Store::open_in(dir.path()).unwrap();
        let error = Store::open_in(dir.path()).unwrap_err();
        assert!(matches!(error, StoreError::InUse { .. }), "{error}");
        assert!(
            error
                .to_string()
                .contains("in use by another patchbay process")
        );
    }

    #[test]
    fn a_file_that_is_not_redb_is_refused_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(STORE_FILE);
        let content = b"my precious notes, not a database\n".repeat(200);
        std::fs::write(&path, &content).unwrap();
        let error = Store::open(&path).unwrap_err();
        assert!(matches!(error, StoreError::NotAStore { .. }), "{error}");
        assert!(
            std::fs::read(&path).unwrap() == content,
            "the file was changed"
        );
    }

    #[test]
    fn a_newer_schema_is_refused_and_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(STORE_FILE);
        {
            let store = Store::open(&path).unwrap();
            store
                .write(|txn| {
                    txn.open_table(META)?
                        .insert(SCHEMA_VERSION_KEY, SCHEMA_VERSION + 1)?;
                    Ok(())
                })
                .unwrap();
        }
        let before = std::fs::read(&path).unwrap();
        let error = Store::open(&path).unwrap_err();
        assert!(
            matches!(error, StoreError::NewerSchema { found, .. } if found == SCHEMA_VERSION + 1),
            "{error}"
        );
        assert!(error.to_string().contains("upgrade patchbay"));
        assert!(
            std::fs::read(&path).unwrap() == before,
            "the file was changed"
        );
    }

    #[test]
    fn reopening_keeps_the_schema_version() {
        let dir = tempfile::tempdir().unwrap();
        drop(Store::open_in(dir.path()).unwrap());
        let store = Store::open_in(dir.path()).unwrap();
        assert_eq!(
            check_schema(&store.read().unwrap(), store.path()).unwrap(),
            SCHEMA_VERSION
        );
    }
}
