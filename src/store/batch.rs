//! Group commit for SQLite. The file has one writer, and with durable commits every commit
//! waits for the disk, so writes queue behind each other's fsync. Here the transactions that
//! arrive while one commits run together in the next one, each inside its own savepoint (a
//! failing one is rolled back alone), and each caller is answered only once that single
//! commit is durable: as safe as one commit per write, with one fsync per batch.
//!
//! PostgreSQL commits concurrently (and groups commits itself), so there each transaction
//! simply runs on the pool.

use std::future::Future;
use std::pin::Pin;

use sea_orm::{DatabaseTransaction, DbErr, TransactionTrait};

use super::guard::Guarded;
use tokio::sync::{mpsc, oneshot};

/// Transactions waiting for the writer; beyond this, callers wait to enqueue.
const QUEUE: usize = 1024;
/// Transactions committed together at most.
const MAX_BATCH: usize = 64;

pub type TxnFuture<'t, T> = Pin<Box<dyn Future<Output = Result<T, DbErr>> + Send + 't>>;

/// Delivers a transaction's result once the batch's commit is known.
type Deliver = Box<dyn FnOnce(Result<(), DbErr>) + Send>;

/// One queued transaction: runs in the batch's transaction (or learns that it could not
/// start) and hands back how to deliver its result.
type Queued = Box<
    dyn for<'t> FnOnce(
            Result<&'t DatabaseTransaction, String>,
        ) -> Pin<Box<dyn Future<Output = Deliver> + Send + 't>>
        + Send,
>;

#[derive(Clone)]
pub enum Writes {
    /// SQLite: transactions go to the group-commit task.
    Batched(mpsc::Sender<Queued>),
    /// PostgreSQL: each transaction on the pool.
    Direct(Guarded),
}

impl Writes {
    /// Group commit over `writer` (a single-connection SQLite pool), on a task of the
    /// current runtime that ends when the last `Writes` is dropped.
    pub fn batched(writer: Guarded) -> Self {
        let (sender, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(group_commit(writer, receiver));
        Writes::Batched(sender)
    }

    /// Runs `body` in a transaction: committed when it returns Ok, rolled back when it
    /// returns an error; the result arrives after the commit is durable.
    pub async fn transaction<T, F>(&self, body: F) -> Result<T, DbErr>
    where
        T: Send + 'static,
        F: for<'t> FnOnce(&'t DatabaseTransaction) -> TxnFuture<'t, T> + Send + 'static,
    {
        match self {
            Writes::Direct(db) => {
                let txn = db.begin().await?;
                let value = body(&txn).await?;
                txn.commit().await?;
                Ok(value)
            }
            Writes::Batched(queue) => {
                let (done, result) = oneshot::channel();
                let queued: Queued = Box::new(move |batch| {
                    Box::pin(async move {
                        let outcome = match batch {
                            Ok(txn) => in_savepoint(txn, body).await,
                            Err(reason) => Err(DbErr::Custom(reason)),
                        };
                        Box::new(move |commit: Result<(), DbErr>| {
                            let _ = done.send(outcome.and_then(|v| commit.map(|()| v)));
                        }) as Deliver
                    })
                });
                let stopped = || DbErr::Custom("the database writer has stopped".into());
                queue.send(queued).await.map_err(|_| stopped())?;
                result.await.map_err(|_| stopped())?
            }
        }
    }
}

async fn in_savepoint<T, F>(txn: &DatabaseTransaction, body: F) -> Result<T, DbErr>
where
    F: for<'t> FnOnce(&'t DatabaseTransaction) -> TxnFuture<'t, T>,
{
    let savepoint = txn.begin().await?;
    match body(&savepoint).await {
        Ok(value) => {
            savepoint.commit().await?;
            Ok(value)
        }
        Err(e) => {
            savepoint.rollback().await?;
            Err(e)
        }
    }
}

async fn group_commit(writer: Guarded, mut queue: mpsc::Receiver<Queued>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        // Each batch on its own task: should a transaction panic, its batch's callers get an
        // error (their answers are dropped, the transaction rolled back) and the writer goes on.
        let run = tokio::spawn(commit_batch(writer.clone(), std::mem::take(&mut batch)));
        if let Err(e) = run.await {
            tracing::error!(error = %e, "a group commit panicked; its writes were rolled back");
        }
    }
}

async fn commit_batch(writer: Guarded, batch: Vec<Queued>) {
    let mut deliveries = Vec::with_capacity(batch.len());
    match writer.begin().await {
        Ok(txn) => {
            for queued in batch {
                deliveries.push(queued(Ok(&txn)).await);
            }
            let commit = txn.commit().await;
            if let Err(e) = &commit {
                tracing::error!(error = %e, writes = deliveries.len(), "a group commit failed");
            }
            for deliver in deliveries {
                deliver(commit.clone());
            }
        }
        Err(e) => {
            let reason = format!("cannot begin a transaction: {e}");
            for queued in batch {
                queued(Err(reason.clone())).await(Ok(()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};

    use super::*;

    async fn count(db: &DatabaseConnection) -> i64 {
        let row = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT COUNT(*) AS n FROM t",
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get("", "n").unwrap()
    }

    /// A SQLite file with one table, its writer connection and group commit over it.
    async fn table() -> (tempfile::TempDir, DatabaseConnection, Writes) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
        let writer = Database::connect(&url).await.unwrap();
        writer
            .execute_unprepared("CREATE TABLE t (k INTEGER PRIMARY KEY)")
            .await
            .unwrap();
        let writes = Writes::batched(Guarded::new(writer.clone(), None));
        (dir, writer, writes)
    }

    #[tokio::test]
    async fn a_batch_commits_the_good_transactions_and_rolls_back_the_bad_alone() {
        let (dir, _, writes) = table().await;
        let url = format!("sqlite://{}/t.db", dir.path().display());
        // 100 transactions at once, each inserting two rows; every fifth collides with
        // itself on its second row and must leave nothing behind.
        let all = (0..100i64).map(|i| {
            let writes = writes.clone();
            tokio::spawn(async move {
                writes
                    .transaction(move |txn| {
                        Box::pin(async move {
                            let insert = |k: i64| format!("INSERT INTO t (k) VALUES ({k})");
                            txn.execute_unprepared(&insert(2 * i)).await?;
                            let second = if i % 5 == 0 { 2 * i } else { 2 * i + 1 };
                            txn.execute_unprepared(&insert(second)).await?;
                            Ok(i)
                        })
                    })
                    .await
            })
        });
        let mut failed = 0;
        for (i, handle) in all.enumerate() {
            match handle.await.unwrap() {
                Ok(value) => assert_eq!(value, i as i64),
                Err(_) => {
                    assert_eq!(i % 5, 0, "only the colliding ones fail");
                    failed += 1;
                }
            }
        }
        assert_eq!(failed, 20);
        let reader = Database::connect(&url).await.unwrap();
        assert_eq!(
            count(&reader).await,
            80 * 2,
            "committed, and visible to others"
        );
    }

    #[tokio::test]
    async fn a_panicking_transaction_fails_its_batch_and_the_writer_goes_on() {
        let (_dir, writer, writes) = table().await;
        let panicked = writes
            .transaction::<(), _>(|_| Box::pin(async { panic!("a bug in a transaction") }))
            .await;
        assert!(panicked.is_err());
        let later = writes
            .transaction(|txn| {
                Box::pin(async move {
                    txn.execute_unprepared("INSERT INTO t (k) VALUES (1)")
                        .await?;
                    Ok(())
                })
            })
            .await;
        assert!(later.is_ok(), "{later:?}");
        assert_eq!(count(&writer).await, 1);
    }
}
