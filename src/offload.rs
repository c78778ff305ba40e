//! Where CPU-heavy work runs (the core's `Offload` port): tokio's blocking threads, so argon2id
//! and RSA key generation never stall the threads that serve requests.

use crate::core::ports::Offload;

#[derive(Clone, Copy, Default)]
pub struct BlockingPool;

impl Offload for BlockingPool {
    async fn run<T, F>(&self, job: F) -> Option<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        tokio::task::spawn_blocking(job).await.ok()
    }
}
