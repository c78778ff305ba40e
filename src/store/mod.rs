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

#[derive(Clone, Debug)]
pub struct Store {
    db: DatabaseConnection,
}

impl Store {
    /// Connects (creating a SQLite file and its directory when needed); does not migrate.
    pub async fn connect(url: &str) -> Result<Self, DbErr> {
        if let Some(path) = sqlite_path(url)
            && let Some(dir) = std::path::Path::new(path).parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir)
                .map_err(|e| DbErr::Custom(format!("cannot create {}: {e}", dir.display())))?;
        }
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .max_connections(if url.starts_with("sqlite") { 8 } else { 16 })
            .connect_timeout(Duration::from_secs(5))
            .acquire_timeout(Duration::from_secs(5))
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
