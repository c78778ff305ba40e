//! Keeping a signing key of every family in the database, and the keyring loaded from it.

use super::{Alg, KeyState, Keyring, MasterKey, SigningKey, StoredKey, generate};
use crate::store::Store;

/// Generates a current key for every family that has none (first start, or a new family).
pub async fn ensure_current_keys(
    store: &Store,
    master: &MasterKey,
    now: i64,
) -> Result<Vec<String>, String> {
    let existing = store.published_keys().await.map_err(|e| e.to_string())?;
    let mut created = Vec::new();
    for alg in Alg::ALL {
        if existing
            .iter()
            .any(|k| k.alg == alg && k.state == KeyState::Current)
        {
            continue;
        }
        let alg_for_task = alg;
        let new = tokio::task::spawn_blocking(move || generate(alg_for_task))
            .await
            .map_err(|e| e.to_string())??;
        let stored = StoredKey {
            sealed_private_key: master.seal(&new.kid, &new.pkcs8),
            kid: new.kid,
            alg,
            state: KeyState::Current,
            activates_at: now,
            public_jwk: new.public_jwk,
        };
        store
            .insert_key(&stored, now)
            .await
            .map_err(|e| e.to_string())?;
        tracing::info!(kid = %stored.kid, alg = %alg, "generated signing key");
        created.push(stored.kid);
    }
    Ok(created)
}

/// Loads and decrypts every published key.
pub async fn load_keyring(store: &Store, master: &MasterKey) -> Result<Keyring, String> {
    let stored = store.published_keys().await.map_err(|e| e.to_string())?;
    let keys = stored
        .iter()
        .map(|k| SigningKey::unseal(k, master))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Keyring::new(keys))
}
