//! The demo's SQLite warehouse: the `orders` table that the shipped `orders-db` output
//! upserts into and the `warehouse-orders` source reads back, so the demo shows the
//! `sql` kind with no database server.

use std::path::Path;
use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};

/// The table, as connectors.toml's header tells a user to create it by hand.
pub const ORDERS_TABLE: &str = "CREATE TABLE IF NOT EXISTS orders (
    id INTEGER PRIMARY KEY,
    customer TEXT NOT NULL,
    amount_cents INTEGER NOT NULL,
    status TEXT NOT NULL,
    updated_at TEXT NOT NULL
)";

/// Creates `path` with the `orders` table, if they are not there yet.
pub async fn create_warehouse(path: &Path) -> Result<(), sqlx::Error> {
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
        .create_if_missing(true);
    let pool = SqlitePool::connect_with(options).await?;
    sqlx::query(ORDERS_TABLE).execute(&pool).await?;
    pool.close().await;
    Ok(())
}
