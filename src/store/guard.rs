//! Failing fast while the database is unreachable. Without this, each request that needs the
//! database would wait `acquire_timeout` for a connection that cannot be made, and under load
//! those waits pile up. Once one statement finds the database unreachable, every statement is
//! refused at once (the caller answers 503 with Retry-After) while a background task pings
//! the database every second; the first success lets everything through again. On
//! PostgreSQL, a statement still waiting after a second, or abandoned half-way (its client
//! gave up first), has the server's port tried in the background: a refused or silent port
//! is an outage noticed within about two seconds, whatever `acquire_timeout` and the
//! clients' own timeouts are, while a merely busy pool (the port answers) is left alone.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    ExecResult, IsolationLevel, QueryResult, RuntimeErr, Statement, TransactionError,
    TransactionOptions, TransactionTrait,
};

/// How often the background task tries the database while it is unreachable.
const PROBE_INTERVAL: Duration = Duration::from_secs(1);

/// How long a background ping may take before the database counts as unreachable: the pool
/// itself would wait `acquire_timeout`, retrying a refused connection all the while.
const PING_TIMEOUT: Duration = Duration::from_secs(1);

/// How long a statement waits before the database server's port is tried, and how long that
/// connection attempt may take.
const CHECK_AFTER: Duration = Duration::from_secs(1);

fn refused() -> DbErr {
    DbErr::Conn(RuntimeErr::Internal(
        "the database was unreachable moments ago; it is tried again every second".into(),
    ))
}

/// A ping through the pool, bounded by `PING_TIMEOUT`.
async fn ping(conn: &DatabaseConnection) -> Result<(), DbErr> {
    tokio::time::timeout(PING_TIMEOUT, conn.ping())
        .await
        .unwrap_or(Err(DbErr::ConnectionAcquire(
            sea_orm::ConnAcquireErr::Timeout,
        )))
}

/// Whether statements are refused; shared by the pools of one database.
#[derive(Debug, Default)]
struct Breaker {
    /// The database server's host and port (PostgreSQL), tried when a statement is slow.
    server: Option<(String, u16)>,
    refused: AtomicBool,
    /// A background ping is finding out whether the database is reachable.
    checking: AtomicBool,
    /// Wakes the statements waiting for a connection when the database becomes unreachable.
    opened: tokio::sync::Notify,
}

impl Breaker {
    fn admit(&self) -> Result<(), DbErr> {
        if self.refused.load(Ordering::Acquire) {
            return Err(refused());
        }
        Ok(())
    }

    /// Takes note of a statement's outcome; true when it made the database unreachable (the
    /// caller then starts the probe).
    fn record<T>(&self, result: &Result<T, DbErr>) -> bool {
        match result {
            Err(e) if super::errors::is_unreachable(e) => {
                let opened = !self.refused.swap(true, Ordering::AcqRel);
                if opened {
                    self.opened.notify_waiters();
                    tracing::warn!(error = %e, "database unreachable: refusing statements at once until it answers again");
                }
                opened
            }
            _ => false,
        }
    }

    fn close(&self) {
        if self.refused.swap(false, Ordering::AcqRel) {
            tracing::info!("database reachable again");
        }
    }
}

/// A statement under way; dropped unfinished, it has the database checked.
struct Pending<'a> {
    guarded: &'a Guarded,
    done: bool,
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.guarded.check_in_background();
        }
    }
}

/// A connection pool behind the guard. Every store statement goes through one.
#[derive(Clone, Debug)]
pub struct Guarded {
    conn: DatabaseConnection,
    breaker: Arc<Breaker>,
}

impl Guarded {
    /// Guards `conn`, a pool of connections to `server` (host and port; None for SQLite).
    pub fn new(conn: DatabaseConnection, server: Option<(String, u16)>) -> Self {
        let breaker = Arc::new(Breaker {
            server,
            ..Breaker::default()
        });
        Self { conn, breaker }
    }

    /// Guards another pool to the same database: both are refused together.
    pub fn sharing(conn: DatabaseConnection, other: &Guarded) -> Self {
        Self {
            conn,
            breaker: other.breaker.clone(),
        }
    }

    /// The pool itself, for what takes a `DatabaseConnection` (migrations).
    pub fn unguarded(&self) -> &DatabaseConnection {
        &self.conn
    }

    async fn guard<T>(&self, run: impl Future<Output = Result<T, DbErr>>) -> Result<T, DbErr> {
        // Registered before the check, so an outage noticed while this one waits for a
        // connection ends the wait at once.
        let opened = self.breaker.opened.notified();
        tokio::pin!(opened);
        opened.as_mut().enable();
        self.breaker.admit()?;
        let mut pending = Pending {
            guarded: self,
            done: false,
        };
        // A statement still waiting after CHECK_AFTER has the server checked meanwhile.
        let slow = tokio::time::sleep(CHECK_AFTER);
        tokio::pin!(run, slow);
        let mut checked = false;
        let result = loop {
            tokio::select! {
                result = &mut run => break result,
                () = &mut opened => break Err(refused()),
                () = &mut slow, if !checked => {
                    checked = true;
                    self.check_in_background();
                }
            }
        };
        pending.done = true;
        self.note(&result);
        result
    }

    /// Records an outcome; when it made the database unreachable, pings it every second in
    /// the background until it answers.
    fn note<T>(&self, result: &Result<T, DbErr>) {
        if self.breaker.record(result) {
            let (conn, breaker) = (self.conn.clone(), self.breaker.clone());
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(PROBE_INTERVAL).await;
                    if ping(&conn).await.is_ok() {
                        breaker.close();
                        break;
                    }
                }
            });
        }
    }

    /// A statement is slow, or was abandoned before it finished (its client went away, often
    /// because it waited too long): the database server's port is tried in the background,
    /// one attempt at a time, so an outage is noticed even when no caller waits out
    /// `acquire_timeout`. A port that answers says nothing (the pool may just be busy).
    fn check_in_background(&self) {
        let Some((host, port)) = self.breaker.server.clone() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.breaker.checking.swap(true, Ordering::AcqRel) {
            return;
        }
        let guarded = self.clone();
        runtime.spawn(async move {
            let attempt = tokio::net::TcpStream::connect((host.as_str(), port));
            let failure = match tokio::time::timeout(CHECK_AFTER, attempt).await {
                Ok(Ok(_)) => None,
                Ok(Err(e)) => Some(e.to_string()),
                Err(_) => Some("no answer within a second".to_owned()),
            };
            if let Some(why) = failure {
                let why = format!("cannot connect to {host}:{port}: {why}");
                guarded.note(&Err::<(), _>(DbErr::Conn(RuntimeErr::Internal(why))));
            }
            guarded.breaker.checking.store(false, Ordering::Release);
        });
    }

    pub async fn ping(&self) -> Result<(), DbErr> {
        self.guard(self.conn.ping()).await
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Guarded {
    fn get_database_backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.guard(self.conn.execute_raw(stmt)).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.guard(self.conn.execute_unprepared(sql)).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.guard(self.conn.query_one_raw(stmt)).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.guard(self.conn.query_all_raw(stmt)).await
    }

    fn support_returning(&self) -> bool {
        self.conn.support_returning()
    }
}

type Callback<'c, T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'c>>;

#[async_trait::async_trait]
impl TransactionTrait for Guarded {
    type Transaction = DatabaseTransaction;

    async fn begin(&self) -> Result<DatabaseTransaction, DbErr> {
        self.guard(self.conn.begin()).await
    }

    async fn begin_with_config(
        &self,
        isolation_level: Option<IsolationLevel>,
        access_mode: Option<AccessMode>,
    ) -> Result<DatabaseTransaction, DbErr> {
        self.guard(self.conn.begin_with_config(isolation_level, access_mode))
            .await
    }

    async fn begin_with_options(
        &self,
        options: TransactionOptions,
    ) -> Result<DatabaseTransaction, DbErr> {
        self.guard(self.conn.begin_with_options(options)).await
    }

    async fn transaction<F, T, E>(&self, callback: F) -> Result<T, TransactionError<E>>
    where
        F: for<'c> FnOnce(&'c DatabaseTransaction) -> Callback<'c, T, E> + Send,
        T: Send,
        E: std::fmt::Display + std::fmt::Debug + Send,
    {
        self.transaction_with_config(callback, None, None).await
    }

    async fn transaction_with_config<F, T, E>(
        &self,
        callback: F,
        isolation_level: Option<IsolationLevel>,
        access_mode: Option<AccessMode>,
    ) -> Result<T, TransactionError<E>>
    where
        F: for<'c> FnOnce(&'c DatabaseTransaction) -> Callback<'c, T, E> + Send,
        T: Send,
        E: std::fmt::Display + std::fmt::Debug + Send,
    {
        let txn = self
            .begin_with_config(isolation_level, access_mode)
            .await
            .map_err(TransactionError::Connection)?;
        match callback(&txn).await {
            Ok(value) => {
                txn.commit().await.map_err(TransactionError::Connection)?;
                Ok(value)
            }
            Err(e) => {
                txn.rollback().await.map_err(TransactionError::Connection)?;
                Err(TransactionError::Transaction(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreachable_database_refuses_at_once_until_it_answers() {
        let b = Breaker::default();
        assert!(b.admit().is_ok(), "reachable: everything goes through");
        let unreachable = Err::<(), _>(DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout));
        assert!(b.record(&unreachable), "the first failure starts the probe");
        assert!(!b.record(&unreachable), "and only the first");
        let refused = b.admit().expect_err("refused at once");
        assert!(
            super::super::errors::is_unreachable(&refused),
            "a 503, not a 500"
        );
        b.close();
        assert!(b.admit().is_ok());
    }

    /// A guard over an in-memory SQLite pool that believes its server is at `port`.
    async fn guard_for(port: u16) -> Guarded {
        let conn = sea_orm::Database::connect("sqlite::memory:").await.unwrap();
        Guarded::new(conn, Some(("127.0.0.1".into(), port)))
    }

    async fn refused_within(guarded: &Guarded, wait: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + wait;
        while tokio::time::Instant::now() < deadline {
            if guarded.breaker.refused.load(Ordering::Acquire) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }

    #[tokio::test]
    async fn a_refused_server_port_is_an_outage_a_listening_one_is_not() {
        let listening = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let up = guard_for(listening.local_addr().unwrap().port()).await;
        up.check_in_background();
        assert!(!refused_within(&up, Duration::from_millis(500)).await);

        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let down = guard_for(port).await;
        down.check_in_background();
        assert!(refused_within(&down, Duration::from_secs(2)).await);
        let statement = down.execute_unprepared("SELECT 1").await;
        assert!(
            statement.is_err(),
            "refused at once while the server is down"
        );
    }

    #[test]
    fn an_error_answer_is_not_an_outage() {
        let b = Breaker::default();
        assert!(!b.record(&Err::<(), _>(DbErr::RecordNotFound("x".into()))));
        assert!(b.admit().is_ok());
    }
}
