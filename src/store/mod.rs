//! The database adapter: sea-orm entities and the implementation of the core's storage ports
//! (`core::ports`). SQLite by default, PostgreSQL for several replicas; the same code serves
//! both. Rows are mapped to the core's plain models here and nowhere else.

mod assertions;
mod batch;
mod cache;
mod clients;
mod entities;
mod errors;
mod factors;
mod flows;
mod guard;
mod keys;
mod purge;
mod pushed;
mod resources;
mod revocations;
mod sessions;
mod throttles;
mod tokens;
mod users;

use std::future::Future;

use batch::Writes;
use std::sync::Arc;
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DbErr};

use cache::Caches;
use errors::is_transient;
use guard::Guarded;

use crate::core::error::StoreError;

/// Connection pool settings (see the README's configuration table).
#[derive(Clone, Debug)]
pub struct PoolSettings {
    /// On SQLite: wait for the disk on every commit (`full`), or only at checkpoints
    /// (`normal`: a commit survives a crash of Tessera, not of the machine).
    pub sqlite_durable: bool,
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
            sqlite_durable: true,
            max_connections: None,
            acquire_timeout: Duration::from_secs(3),
            statement_timeout: Duration::from_secs(5),
        }
    }
}

#[derive(Clone)]
pub struct Store {
    /// Reads.
    db: Guarded,
    /// Writes. On SQLite, one connection: writers queue here for the file's single write
    /// lock instead of colliding in SQLite's busy handler, which waits by sleeping. On
    /// PostgreSQL, the same pool as reads.
    writer: Guarded,
    /// Multi-statement transactions on hot paths: group-committed on SQLite (batch.rs).
    writes: Writes,
    /// In-memory copies in front of the hot tables (see cache.rs); None reads everything from
    /// the database.
    caches: Option<Arc<Caches>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("cached", &self.caches.is_some())
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Connects (creating a SQLite file and its directory when needed); does not migrate.
    pub async fn connect(url: &str, pool: &PoolSettings) -> Result<Self, StoreError> {
        if let Some(path) = sqlite_path(url)
            && let Some(dir) = std::path::Path::new(path).parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Failed(format!("cannot create {}: {e}", dir.display())))?;
        }
        let sqlite = url.starts_with("sqlite");
        let synchronous = if pool.sqlite_durable {
            SqliteSynchronous::Full
        } else {
            SqliteSynchronous::Normal
        };
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .max_connections(pool.max_connections.unwrap_or(if sqlite { 8 } else { 16 }))
            .connect_timeout(pool.acquire_timeout)
            .acquire_timeout(pool.acquire_timeout)
            .statement_timeout(pool.statement_timeout)
            .sqlx_logging(false)
            .map_sqlx_sqlite_opts(move |o| {
                o.create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(synchronous)
                    .busy_timeout(Duration::from_secs(5))
                    .foreign_keys(true)
            });
        let server = if sqlite { None } else { server_address(url) };
        let db = Guarded::new(Database::connect(options.clone()).await?, server);
        let (writer, writes) = if sqlite {
            options.max_connections(1).min_connections(1);
            let writer = Guarded::sharing(Database::connect(options).await?, &db);
            (writer.clone(), Writes::batched(writer))
        } else {
            (db.clone(), Writes::Direct(db.clone()))
        };
        Ok(Self {
            db,
            writer,
            writes,
            caches: None,
        })
    }

    /// Keeps clients, users, throttling counters and the revocation list in memory, refreshed
    /// by `refresh_caches` (see cache.rs).
    pub fn with_caches(mut self) -> Self {
        self.caches = Some(Arc::new(Caches::default()));
        self
    }

    /// A read through one of the caches: the cached value, or `load` (then cached).
    async fn cached<V: Clone>(
        &self,
        pick: fn(&Caches) -> &cache::Cache<String, V>,
        key: &str,
        load: impl Future<Output = Result<V, StoreError>>,
    ) -> Result<V, StoreError> {
        let Some(caches) = &self.caches else {
            return load.await;
        };
        let cache = pick(caches);
        match cache.get(key) {
            Ok(value) => Ok(value),
            Err(generation) => {
                let value = load.await?;
                cache.insert(generation, key.to_owned(), value.clone());
                Ok(value)
            }
        }
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        Ok(Migrator::up(self.writer.unguarded(), None).await?)
    }

    /// Fails when the database cannot be written (a read-only SQLite file or directory), which
    /// would otherwise show only at the first sign-in. Writes the SQLite header's
    /// `user_version` back unchanged; PostgreSQL needs no check (a read-only role fails the
    /// migrations).
    pub async fn check_writable(&self) -> Result<(), StoreError> {
        use sea_orm::ConnectionTrait;
        if self.writer.get_database_backend() != sea_orm::DbBackend::Sqlite {
            return Ok(());
        }
        let read =
            sea_orm::Statement::from_string(sea_orm::DbBackend::Sqlite, "PRAGMA user_version");
        let version: i64 = match self.writer.query_one_raw(read).await? {
            Some(row) => row.try_get_by_index(0)?,
            None => 0,
        };
        self.writer
            .execute_unprepared(&format!("PRAGMA user_version = {version}"))
            .await?;
        Ok(())
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        Ok(self.db.ping().await?)
    }
}

/// A PostgreSQL URL's host and port (5432 by default); None for a Unix socket.
fn server_address(url: &str) -> Option<(String, u16)> {
    let parsed = url::Url::parse(url).ok()?;
    let host = parsed.host_str().filter(|h| !h.is_empty())?.to_owned();
    Some((host, parsed.port().unwrap_or(5432)))
}

fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then_some(path)
}

/// Runs a transaction again (up to three attempts, with a short pause) when the database
/// reports a transient conflict: a PostgreSQL serialization failure or deadlock, or a busy
/// SQLite file. Every statement in Tessera's transactions is safe to repeat as a whole.
async fn with_retry<T, F, Fut>(mut attempt: F) -> Result<T, DbErr>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, DbErr>>,
{
    let mut tries = 0;
    loop {
        match attempt().await {
            Err(e) if tries < 2 && is_transient(&e) => {
                tries += 1;
                tracing::info!(error = %e, tries, "retrying a transaction after a transient conflict");
                tokio::time::sleep(Duration::from_millis(20 * tries)).await;
            }
            other => return other,
        }
    }
}

/// A lookup by primary key or unique column. sea-orm's `.one()` binds its `LIMIT 1` as a
/// parameter, and SQLite (built with STAT4) then re-prepares the statement on every run,
/// parsing the SQL again; without the LIMIT the prepared statement is reused.
trait Unique<E: sea_orm::EntityTrait> {
    async fn unique(self, db: &Guarded) -> Result<Option<E::Model>, DbErr>;
}

impl<E: sea_orm::EntityTrait> Unique<E> for sea_orm::Select<E> {
    async fn unique(self, db: &Guarded) -> Result<Option<E::Model>, DbErr> {
        Ok(self.all(db).await?.into_iter().next())
    }
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
    #[tokio::test]
    async fn transient_conflicts_are_retried_others_are_not() {
        use std::sync::atomic::{AtomicU32, Ordering};
        let calls = AtomicU32::new(0);
        let result: Result<(), sea_orm::DbErr> = super::with_retry(|| async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(sea_orm::DbErr::Custom("not transient".into()))
        })
        .await;
        assert!(result.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn postgres_server_addresses() {
        let at = super::server_address;
        let expected = Some(("db.internal".to_owned(), 6432));
        assert_eq!(at("postgres://u:p@db.internal:6432/tessera"), expected);
        assert_eq!(
            at("postgres://u@10.0.0.5/tessera"),
            Some(("10.0.0.5".into(), 5432))
        );
        assert_eq!(at("postgres:///tessera?host=/var/run/postgresql"), None);
    }

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
