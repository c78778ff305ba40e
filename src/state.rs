//! What every request handler shares: configuration, the store, the keyring and the clock.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};

use crate::config::Config;
use crate::keys::{Keyring, MasterKey};
use crate::store::Store;

/// The time source; tests substitute a fixed, movable clock.
#[derive(Clone, Debug, Default)]
pub enum Clock {
    #[default]
    System,
    Fixed(Arc<AtomicI64>),
}

impl Clock {
    /// Unix seconds.
    pub fn now(&self) -> i64 {
        match self {
            Clock::System => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0),
            Clock::Fixed(t) => t.load(Ordering::SeqCst),
        }
    }
}

/// The keyring snapshot in use; replaced whole when the keys change.
#[derive(Default)]
pub struct KeyringHandle(RwLock<Option<Arc<Keyring>>>);

impl KeyringHandle {
    pub fn snapshot(&self) -> Option<Arc<Keyring>> {
        match self.0.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn replace(&self, keyring: Keyring) {
        let keyring = Some(Arc::new(keyring));
        match self.0.write() {
            Ok(mut guard) => *guard = keyring,
            Err(poisoned) => *poisoned.into_inner() = keyring,
        }
    }
}

pub struct AppState {
    pub config: Config,
    pub store: Store,
    pub keys: KeyringHandle,
    pub master: MasterKey,
    pub clock: Clock,
    pub metrics: crate::metrics::Metrics,
    /// Outgoing HTTP (back-channel logout); no redirects followed.
    pub http: reqwest::Client,
}

impl AppState {
    pub fn now(&self) -> i64 {
        self.clock.now()
    }
}
