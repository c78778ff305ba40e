//! The background work of every replica: the key schedule (pre-publishing successors,
//! removing expired keys, picking up keys another replica or the CLI changed) and the purge of
//! expired rows. The database decides races between replicas.

use std::time::Duration;

use actix_web::web;

use crate::core::rotation::{RotationError, schedule};
use crate::web::state::AppState;

/// Runs the key schedule and reloads the keyring, keeping the previous one on failure.
pub async fn refresh_keys(state: &AppState) -> Result<(), RotationError> {
    let now = state.now();
    let schedule = schedule(&state.store, &state.policy, &state.config.rotation()).await?;
    let keys = state.key_ops();
    keys.tick(&schedule, now).await?;
    let previous = state.keys.snapshot();
    let keyring = keys.load_keyring(&schedule, Some(&previous), now).await?;
    state.keys.replace(keyring);
    Ok(())
}

/// Every `key_reload_interval` the key schedule; about every ten minutes the purge; every
/// `cache_refresh_interval` a look for changes to what the store caches.
pub fn spawn(state: web::Data<AppState>) {
    if state.config.cache_refresh_interval > 0 {
        let state = state.clone();
        let interval = Duration::from_secs(state.config.cache_refresh_interval);
        actix_web::rt::spawn(async move {
            loop {
                actix_web::rt::time::sleep(interval).await;
                if let Err(e) = state.store.refresh_caches(state.now()).await {
                    tracing::warn!(error = %e, "cannot check for changes to the caches");
                }
            }
        });
    }
    let interval = Duration::from_secs(state.config.key_reload_interval.max(1));
    let purge_every = (600 / interval.as_secs()).max(1);
    actix_web::rt::spawn(async move {
        for round in 1u64.. {
            actix_web::rt::time::sleep(interval).await;
            if let Err(e) = refresh_keys(&state).await {
                tracing::warn!(error = %e, "key schedule failed; keeping the previous keyring");
            }
            if round % purge_every == 0 {
                match state.store.purge_expired(state.now()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(rows = n, "purged expired rows"),
                    Err(e) => tracing::warn!(error = %e, "purging expired rows failed"),
                }
            }
        }
    });
}
