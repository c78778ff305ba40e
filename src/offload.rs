//! Where CPU-heavy work runs (the core's `Offload` port): a fixed set of threads, about one per
//! core, so argon2id (19 MiB of working memory per hash) and RSA key generation never stall the
//! threads that serve requests and never run more than `cpu_workers` at a time. Work waits in
//! a bounded queue; work that has waited longer than `cpu_queue_timeout` is dropped unrun, and
//! the caller answers 503 with Retry-After. A flood of sign-ins therefore queues, it does not
//! grow the process.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::core::ports::Offload;

/// Work that may wait for a worker at most; more is refused at once.
const QUEUE_CAPACITY: usize = 1024;

struct Job {
    enqueued: Instant,
    work: Box<dyn FnOnce() + Send>,
}

#[derive(Clone)]
pub struct BlockingPool {
    queue: SyncSender<Job>,
}

impl BlockingPool {
    /// `workers` threads; queued work older than `timeout` is dropped.
    pub fn new(workers: usize, timeout: Duration) -> Self {
        let (queue, jobs) = sync_channel::<Job>(QUEUE_CAPACITY);
        let jobs = Arc::new(Mutex::new(jobs));
        for n in 0..workers.max(1) {
            let jobs = jobs.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("tessera-cpu-{n}"))
                .spawn(move || work(&jobs, timeout));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a CPU worker thread");
            }
        }
        Self { queue }
    }

    /// One worker per core.
    pub fn per_core(timeout: Duration) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::new(cores, timeout)
    }
}

fn work(jobs: &Mutex<Receiver<Job>>, timeout: Duration) {
    loop {
        let next = jobs.lock().unwrap_or_else(|e| e.into_inner()).recv();
        let Ok(job) = next else {
            return; // the pool is gone
        };
        if job.enqueued.elapsed() <= timeout {
            (job.work)();
        } else {
            tracing::warn!("dropped CPU work that waited longer than the queue timeout");
        }
    }
}

impl Offload for BlockingPool {
    async fn run<T, F>(&self, job: F) -> Option<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let work = Box::new(move || {
            let _ = reply.send(job());
        });
        let job = Job {
            enqueued: Instant::now(),
            work,
        };
        if self.queue.try_send(job).is_err() {
            tracing::warn!("the CPU work queue is full");
            return None;
        }
        // A job dropped unrun drops its reply sender: the answer is then an error.
        answer.await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_runs_on_the_pool_and_stale_work_is_refused() {
        let pool = BlockingPool::new(1, Duration::from_millis(50));
        assert_eq!(pool.run(|| 2 + 2).await, Some(4));
        // The one worker is busy for 200 ms; what queues behind it meanwhile goes stale.
        let busy = pool.run(|| std::thread::sleep(Duration::from_millis(200)));
        let stale = pool.run(|| "ran");
        let (busy, stale) = tokio::join!(busy, stale);
        assert_eq!(busy, Some(()));
        assert_eq!(stale, None, "waited longer than the timeout: dropped unrun");
        assert_eq!(pool.run(|| "fresh").await, Some("fresh"));
    }
}
