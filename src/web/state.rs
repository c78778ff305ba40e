//! What every request handler shares, built once by `app::prepare`: the settings, the store,
//! the keyring, the clock, metrics and the outbound adapters. Handlers turn it into the
//! narrow `core::Ctx` a use case takes.

use std::sync::{Arc, RwLock};

use bytes::Bytes;

use crate::backchannel::Backchannel;
use crate::client_keys::JwksFetcher;
use crate::clock::Clock;
use crate::config::Config;
use crate::core::rotation::Keys;
use crate::core::{Ctx, Policy};
use crate::keys::{Keyring, MasterKey};
use crate::metrics::Metrics;
use crate::offload::BlockingPool;
use crate::store::Store;

/// The keyring snapshot in use; replaced whole when the keys change.
pub struct KeyringHandle(RwLock<Arc<Keyring>>);

impl KeyringHandle {
    pub fn new(keyring: Keyring) -> Self {
        Self(RwLock::new(Arc::new(keyring)))
    }

    pub fn snapshot(&self) -> Arc<Keyring> {
        match self.0.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn replace(&self, keyring: Keyring) {
        let keyring = Arc::new(keyring);
        match self.0.write() {
            Ok(mut guard) => *guard = keyring,
            Err(poisoned) => *poisoned.into_inner() = keyring,
        }
    }
}

/// A document rendered once per keyring (discovery lists the algorithms that can sign).
#[derive(Default)]
pub struct PerKeyring(RwLock<Option<(String, Bytes)>>);

impl PerKeyring {
    /// The document for `keyring`, rendering it only when the keyring changed.
    pub fn get(&self, keyring: &Keyring, render: impl FnOnce() -> Bytes) -> Bytes {
        let current = |cached: &Option<(String, Bytes)>| match cached {
            Some((etag, bytes)) if etag == keyring.etag() => Some(bytes.clone()),
            _ => None,
        };
        if let Some(bytes) = current(&self.0.read().unwrap_or_else(|e| e.into_inner())) {
            return bytes;
        }
        let bytes = render();
        *self.0.write().unwrap_or_else(|e| e.into_inner()) =
            Some((keyring.etag().to_owned(), bytes.clone()));
        bytes
    }
}

pub struct AppState {
    pub config: Config,
    pub policy: Policy,
    pub store: Store,
    pub keys: KeyringHandle,
    pub master: MasterKey,
    pub clock: Clock,
    pub metrics: Metrics,
    /// Back-channel logout delivery, in the background.
    pub notifier: Backchannel,
    /// The keys private_key_jwt clients publish at their jwks_uri, fetched and cached.
    pub client_keys: JwksFetcher,
    pub offload: BlockingPool,
    /// The discovery document, served from bytes.
    pub discovery: PerKeyring,
}

impl AppState {
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// The context of one request's use case: this instant and the current keyring.
    pub fn ctx(&self) -> Ctx<'_, Store> {
        let now_ms = self.clock.now_ms();
        Ctx {
            store: &self.store,
            policy: &self.policy,
            keys: self.keys.snapshot(),
            secrets: &self.master,
            now: now_ms.div_euclid(1000),
            now_ms,
        }
    }

    /// The signing keys' use cases.
    pub fn key_ops(&self) -> Keys<'_, Store, BlockingPool> {
        Keys {
            repo: &self.store,
            master: &self.master,
            offload: &self.offload,
            rotation: self.config.rotation(),
        }
    }
}
