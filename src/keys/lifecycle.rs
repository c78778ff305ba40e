//! Running the lifecycle against the database: the scheduled tick, operator rotations and
//! revocations, re-wrapping under a new master key, and loading the keyring.

use std::sync::Arc;

use serde::Serialize;

use super::timeline::due_rotation;
use super::{
    Alg, KeyState, Keyring, MasterKey, Schedule, SigningKey, StoredKey, Timeline, generate,
    timeline,
};
use crate::state::AppState;
use crate::store::Store;

/// The schedule for the current configuration and clients (per-client lifetimes count).
pub async fn schedule(state: &AppState) -> Result<Schedule, String> {
    let config = &state.config;
    let clients = state
        .store
        .list_clients()
        .await
        .map_err(|e| e.to_string())?;
    let longest = clients
        .iter()
        .flat_map(|c| [c.access_token_ttl, c.id_token_ttl])
        .flatten()
        .chain([
            config.access_token_ttl,
            config.id_token_ttl,
            crate::oauth::logout::LOGOUT_TOKEN_TTL,
        ])
        .max()
        .unwrap_or(config.id_token_ttl);
    Ok(Schedule::new(config, longest))
}

/// Creates a key of `alg` that activates at `activates_at`. Returns None when another replica
/// created this generation first (the unique (alg, generation) index decides).
async fn create_key(
    store: &Store,
    master: &MasterKey,
    alg: Alg,
    generation: i64,
    activates_at: i64,
    now: i64,
) -> Result<Option<String>, String> {
    let new = tokio::task::spawn_blocking(move || generate(alg))
        .await
        .map_err(|e| e.to_string())??;
    let stored = StoredKey {
        sealed_private_key: master.seal(&new.kid, &new.pkcs8),
        kid: new.kid,
        alg,
        generation,
        created_at: now,
        activates_at,
        revoked_at: None,
        public_jwk: new.public_jwk,
    };
    if store.insert_key(&stored).await.map_err(|e| e.to_string())? {
        tracing::info!(kid = %stored.kid, %alg, activates_at, "created signing key");
        Ok(Some(stored.kid))
    } else {
        tracing::info!(%alg, generation, "another replica created this key first");
        Ok(None)
    }
}

fn next_generation(rows: &[StoredKey], alg: Alg) -> i64 {
    rows.iter()
        .filter(|k| k.alg == alg)
        .map(|k| k.generation)
        .max()
        .unwrap_or(0)
        + 1
}

/// First start (or a new family): a key that signs at once for every family without one.
pub async fn ensure_current_keys(
    store: &Store,
    master: &MasterKey,
    now: i64,
) -> Result<Vec<String>, String> {
    let rows = store.signing_keys().await.map_err(|e| e.to_string())?;
    let mut created = Vec::new();
    for alg in Alg::ALL {
        let has_current = rows
            .iter()
            .any(|k| k.alg == alg && k.revoked_at.is_none() && k.activates_at <= now);
        if !has_current
            && let Some(kid) =
                create_key(store, master, alg, next_generation(&rows, alg), now, now).await?
        {
            created.push(kid);
        }
    }
    Ok(created)
}

/// The scheduled work, run by every replica on every reload: pre-publish successors when
/// rotation is due, and delete keys past their retention.
pub async fn tick(state: &AppState, schedule: &Schedule) -> Result<Vec<String>, String> {
    let now = state.now();
    let rows = state
        .store
        .signing_keys()
        .await
        .map_err(|e| e.to_string())?;
    let lines = timeline(&rows, schedule, now);
    let mut created = Vec::new();
    for alg in Alg::ALL {
        let family: Vec<&Timeline> = lines.iter().filter(|t| t.alg == alg).collect();
        if let Some(activates_at) = due_rotation(&family, schedule, now)
            && let Some(kid) = create_key(
                &state.store,
                &state.master,
                alg,
                next_generation(&rows, alg),
                activates_at,
                now,
            )
            .await?
        {
            created.push(kid);
        }
    }
    for line in &lines {
        let expired_revocation = line
            .revoked_at
            .is_some_and(|at| now >= at + schedule.retention);
        if line.state == KeyState::Removed || expired_revocation {
            state
                .store
                .delete_key(&line.kid)
                .await
                .map_err(|e| e.to_string())?;
            tracing::info!(kid = %line.kid, "removed signing key after its retention");
        }
    }
    Ok(created)
}

/// Loads every published key (next, current, retired), decrypting only those the current
/// snapshot does not already hold.
pub async fn load_keyring(state: &AppState, schedule: &Schedule) -> Result<Keyring, String> {
    let now = state.now();
    let previous = state.keys.snapshot();
    let rows = state
        .store
        .signing_keys()
        .await
        .map_err(|e| e.to_string())?;
    let lines = timeline(&rows, schedule, now);
    let keys = rows
        .iter()
        .zip(&lines)
        .filter(|(_, line)| {
            matches!(
                line.state,
                KeyState::Next | KeyState::Current | KeyState::Retired
            )
        })
        .map(
            |(row, _)| match previous.as_ref().and_then(|k| k.reusable(row)) {
                Some(key) => Ok(key),
                None => SigningKey::unseal(row, &state.master).map(Arc::new),
            },
        )
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Keyring::from_shared(keys, now))
}

#[derive(Debug, Serialize)]
pub struct RotateOutcome {
    pub alg: Alg,
    pub kid: String,
    pub activates_at: i64,
    /// The key already existed (a scheduled successor), it was not created now.
    pub existing: bool,
}

/// On-demand rotation. Without `immediately` the new key is pre-published like a scheduled
/// one; with it, the family's successor (an existing next key, or a new one) signs at once.
pub async fn rotate(
    state: &AppState,
    alg: Option<Alg>,
    immediately: bool,
) -> Result<Vec<RotateOutcome>, String> {
    let now = state.now();
    let schedule = schedule(state).await?;
    let mut outcomes = Vec::new();
    for alg in alg.map_or(Alg::ALL.to_vec(), |a| vec![a]) {
        let rows = state
            .store
            .signing_keys()
            .await
            .map_err(|e| e.to_string())?;
        let lines = timeline(&rows, &schedule, now);
        let pending = lines
            .iter()
            .find(|t| t.alg == alg && t.state == KeyState::Next);
        let activates_at = if immediately {
            now
        } else {
            now + schedule.prepublish
        };
        let outcome = match pending {
            Some(next) if immediately => {
                state
                    .store
                    .set_key_activation(&next.kid, now)
                    .await
                    .map_err(|e| e.to_string())?;
                RotateOutcome {
                    alg,
                    kid: next.kid.clone(),
                    activates_at: now,
                    existing: true,
                }
            }
            Some(next) => RotateOutcome {
                alg,
                kid: next.kid.clone(),
                activates_at: next.activates_at,
                existing: true,
            },
            None => {
                let kid = create_key(
                    &state.store,
                    &state.master,
                    alg,
                    next_generation(&rows, alg),
                    activates_at,
                    now,
                )
                .await?
                .ok_or("another replica rotated at the same moment; run `tessera keys list`")?;
                RotateOutcome {
                    alg,
                    kid,
                    activates_at,
                    existing: false,
                }
            }
        };
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

/// Emergency: takes a key out of the JWKS at once. If it was signing, its family's successor
/// signs from now on. Returns how many unexpired tokens it had signed (they stop verifying).
pub async fn revoke(state: &AppState, kid: &str) -> Result<(Alg, u64), String> {
    let now = state.now();
    let rows = state
        .store
        .signing_keys()
        .await
        .map_err(|e| e.to_string())?;
    let schedule = schedule(state).await?;
    let lines = timeline(&rows, &schedule, now);
    let line = lines
        .iter()
        .find(|t| t.kid == kid)
        .ok_or_else(|| format!("no signing key '{kid}'"))?;
    if line.state == KeyState::Revoked {
        return Err(format!("key '{kid}' is already revoked"));
    }
    state
        .store
        .revoke_key(kid, now)
        .await
        .map_err(|e| e.to_string())?;
    if line.state == KeyState::Current {
        rotate(state, Some(line.alg), true).await?;
    }
    let live = state
        .store
        .live_tokens_signed_by(kid, now)
        .await
        .map_err(|e| e.to_string())?;
    tracing::warn!(%kid, live, "signing key revoked");
    Ok((line.alg, live))
}

/// Re-seals every private key under a new master key, in one transaction; the signing keys
/// themselves do not change.
pub async fn rewrap(store: &Store, old: &MasterKey, new: &MasterKey) -> Result<usize, String> {
    let rows = store.signing_keys().await.map_err(|e| e.to_string())?;
    let mut resealed = Vec::with_capacity(rows.len());
    for row in &rows {
        let pkcs8 = old.open(&row.kid, &row.sealed_private_key)?;
        resealed.push((row.kid.clone(), new.seal(&row.kid, &pkcs8)));
    }
    store
        .replace_sealed_keys(&resealed)
        .await
        .map_err(|e| e.to_string())?;
    Ok(resealed.len())
}

/// Every key with its timeline, for `tessera keys list`.
pub async fn list(state: &AppState) -> Result<Vec<Timeline>, String> {
    let rows = state
        .store
        .signing_keys()
        .await
        .map_err(|e| e.to_string())?;
    Ok(timeline(&rows, &schedule(state).await?, state.now()))
}
