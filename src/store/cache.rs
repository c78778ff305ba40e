//! What a replica keeps in memory in front of the database, so the hot paths (client
//! authentication, access-token checks) read nothing: clients, users by id, throttling
//! counters, and the revocation list. Every change to those tables bumps a version in
//! `cache_versions` (database triggers, so changes by another replica or the CLI count too);
//! `Store::refresh_caches` compares the versions every `cache_refresh_interval` and drops
//! (or, for revocations, reloads) what changed. Writes through this store update its own
//! memory at once. A read that raced with a change never caches the old value: each cache has
//! a generation, bumped when it is cleared, and a value read under an older one is discarded.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, RwLock};

use crate::core::model::{Client, Failures, User};

/// Entries a cache holds at most; it starts over when full (keys such as client ids and IP
/// addresses come from requests, so the size must not be theirs to choose).
const MAX_ENTRIES: usize = 10_000;

pub(super) struct Cache<K, V> {
    inner: RwLock<(u64, HashMap<K, V>)>,
}

impl<K: Eq + Hash, V: Clone> Default for Cache<K, V> {
    fn default() -> Self {
        Self {
            inner: RwLock::new((0, HashMap::new())),
        }
    }
}

impl<K: Eq + Hash, V: Clone> Cache<K, V> {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, (u64, HashMap<K, V>)> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, (u64, HashMap<K, V>)> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The cached value, and the generation to insert a fresh read under when there is none.
    pub(super) fn get<Q>(&self, key: &Q) -> Result<V, u64>
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        let guard = self.read();
        guard.1.get(key).cloned().ok_or(guard.0)
    }

    /// Caches a value read from the database under `generation`, unless the cache was cleared
    /// since (then the value may be older than the change that cleared it).
    pub(super) fn insert(&self, generation: u64, key: K, value: V) {
        let mut guard = self.write();
        if guard.0 != generation {
            return;
        }
        if guard.1.len() >= MAX_ENTRIES {
            guard.1.clear();
        }
        guard.1.insert(key, value);
    }

    /// A value this store just wrote: cached whatever the generation.
    pub(super) fn put(&self, key: K, value: V) {
        let mut guard = self.write();
        if guard.1.len() >= MAX_ENTRIES {
            guard.1.clear();
        }
        guard.1.insert(key, value);
    }

    /// Drops one entry that changed (and any read of it in flight).
    pub(super) fn forget<Q>(&self, key: &Q)
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        let mut guard = self.write();
        guard.0 += 1;
        guard.1.remove(key);
    }

    pub(super) fn clear(&self) {
        let mut guard = self.write();
        guard.0 += 1;
        guard.1.clear();
    }
}

/// The revocation list in memory: key → until.
#[derive(Default)]
pub(super) struct Revoked {
    pub(super) loaded: bool,
    pub(super) until: HashMap<String, i64>,
}

#[derive(Default)]
pub(super) struct Caches {
    pub(super) clients: Cache<String, Option<Client>>,
    pub(super) client_list: Cache<String, Arc<Vec<Client>>>,
    pub(super) users: Cache<String, Option<User>>,
    pub(super) throttles: Cache<String, Option<Failures>>,
    pub(super) revoked: RwLock<Revoked>,
    /// The versions of `cache_versions` this memory reflects.
    pub(super) versions: Mutex<HashMap<String, i64>>,
}

impl Caches {
    pub(super) fn revoked(&self) -> std::sync::RwLockReadGuard<'_, Revoked> {
        self.revoked.read().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn revoked_mut(&self) -> std::sync::RwLockWriteGuard<'_, Revoked> {
        self.revoked.write().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_that_raced_with_a_change_is_not_cached() {
        let cache: Cache<&str, i32> = Cache::default();
        let generation = cache.get("k").unwrap_err();
        cache.clear(); // a change arrives while the value is being read
        cache.insert(generation, "k", 1);
        assert!(cache.get("k").is_err(), "the stale read is dropped");
        let generation = cache.get("k").unwrap_err();
        cache.insert(generation, "k", 2);
        assert_eq!(cache.get("k"), Ok(2));
    }

    #[test]
    fn the_cache_is_bounded() {
        let cache: Cache<usize, ()> = Cache::default();
        for key in 0..MAX_ENTRIES + 5 {
            cache.put(key, ());
        }
        assert!(cache.read().1.len() <= MAX_ENTRIES);
    }
}
