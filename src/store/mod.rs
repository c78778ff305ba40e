//! The database: sea-orm entities and every query the rest of Tessera calls.
//! SQLite by default, PostgreSQL for several replicas; the same code serves both.

mod clients;
pub mod entities;
pub mod flows;
mod keys;
mod sessions;
mod tokens;
mod users;

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::SqliteJournalMode;
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};

pub use clients::NewClient;
pub use entities::grant::Model as Grant;
pub use entities::interaction::Model as Interaction;
pub use entities::session::Model as Session;
pub use entities::user::Model as User;
pub use flows::{ActiveToken, AuthCode, NewCode, NewGrant, TokenRecord};
pub use sessions::Device;
pub use tokens::RefreshToken;

/// Connection pool settings (see the README's configuration table).
#[derive(Clone, Debug)]
pub struct PoolSettings {
    /// Default: 8 for SQLite, 16 for PostgreSQL (per replica).
    pub max_connections: Option<u32>,
    /// How long a request waits for a connection before answering 503.
    pub acquire_timeout: Duration,
    /// PostgreSQL aborts any statement running longer than this.
    pub statement_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: None,
            acquire_timeout: Duration::from_secs(3),
            statement_timeout: Duration::from_secs(5),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Store {
    db: DatabaseConnection,
}

impl Store {
    /// Connects with default pool settings (see `connect_with`).
    pub async fn connect(url: &str) -> Result<Self, DbErr> {
        Self::connect_with(url, &PoolSettings::default()).await
    }

    /// Connects (creating a SQLite file and its directory when needed); does not migrate.
    pub async fn connect_with(url: &str, pool: &PoolSettings) -> Result<Self, DbErr> {
        if let Some(path) = sqlite_path(url)
            && let Some(dir) = std::path::Path::new(path).parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir)
                .map_err(|e| DbErr::Custom(format!("cannot create {}: {e}", dir.display())))?;
        }
        let sqlite = url.starts_with("sqlite");
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .max_connections(pool.max_connections.unwrap_or(if sqlite { 8 } else { 16 }))
            .connect_timeout(pool.acquire_timeout)
            .acquire_timeout(pool.acquire_timeout)
            .statement_timeout(pool.statement_timeout)
            .sqlx_logging(false)
            .map_sqlx_sqlite_opts(|o| {
                o.create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .busy_timeout(Duration::from_secs(5))
                    .foreign_keys(true)
            });
        let db = Database::connect(options).await?;
        Ok(Self { db })
    }

    pub async fn migrate(&self) -> Result<(), DbErr> {
        Migrator::up(&self.db, None).await
    }

    pub async fn ping(&self) -> Result<(), DbErr> {
        self.db.ping().await
    }
}

fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then_some(path)
}

/// Stored list columns are JSON arrays of strings.
fn to_json_list(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
}

fn from_json_list(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn sqlite_paths() {
        assert_eq!(
            super::sqlite_path("sqlite://data/t.db?mode=rwc"),
            Some("data/t.db")
        );
        assert_eq!(super::sqlite_path("sqlite::memory:"), None);
        assert_eq!(super::sqlite_path("postgres://x/y"), None);
    }
}
