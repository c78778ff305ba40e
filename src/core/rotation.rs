//! The signing keys' lifecycle run against the store: the scheduled tick every replica runs
//! (pre-publishing successors, removing keys past retention), first-start keys, operator
//! rotations and revocations, re-sealing under a new master key, and loading the keyring.
//! Key states come from `keys::timeline`, the one place that says which key signs.

use std::sync::Arc;

use serde::Serialize;

use super::Policy;
use super::error::StoreError;
use super::model::Client;
use super::ports::{ClientRepo, KeyRepo, Offload};
use super::sessions::LOGOUT_TOKEN_TTL;
use crate::keys::{
    self, Alg, KeyError, KeyState, Keyring, MasterKey, Rotation, Schedule, SigningKey, StoredKey,
    Timeline, due_rotation, timeline,
};

#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no signing key '{0}'")]
    NotFound(String),
    #[error("key '{0}' is already revoked")]
    AlreadyRevoked(String),
    #[error("another replica rotated at the same moment; run `tessera keys list`")]
    Raced,
    #[error("the server is too busy to generate a key now")]
    Busy,
    #[error("no current signing key for {0:?}")]
    NoCurrentKey(Vec<Alg>),
}

/// What the key use cases need: the key rows, the master key that seals them, and a place to
/// generate keys (RSA generation takes long).
pub struct Keys<'a, R, O> {
    pub repo: &'a R,
    pub master: &'a MasterKey,
    pub offload: &'a O,
    pub rotation: Rotation,
}

/// The schedule for the current settings and clients: a retired key stays published for the
/// longest lifetime of any token it may have signed (per-client lifetimes count).
pub async fn schedule<S: ClientRepo>(
    store: &S,
    policy: &Policy,
    rotation: &Rotation,
) -> Result<Schedule, StoreError> {
    let clients = store.list_clients().await?;
    let longest = clients
        .iter()
        .flat_map(|c| [c.access_token_ttl, c.id_token_ttl])
        .flatten()
        .chain([
            policy.access_token_ttl,
            policy.id_token_ttl,
            LOGOUT_TOKEN_TTL,
        ])
        .max()
        .unwrap_or(policy.id_token_ttl);
    Ok(Schedule::new(rotation, longest))
}

impl<R: KeyRepo, O: Offload> Keys<'_, R, O> {
    /// Creates a key of `alg` that activates at `activates_at`. None when another replica
    /// created this generation first (the store's unique (alg, generation) decides).
    async fn create(
        &self,
        alg: Alg,
        generation: i64,
        activates_at: i64,
        now: i64,
    ) -> Result<Option<String>, RotationError> {
        let new = self
            .offload
            .run(move || keys::generate(alg))
            .await
            .ok_or(RotationError::Busy)??;
        let stored = new.seal(self.master, generation, now, activates_at);
        if self.repo.insert_key(&stored).await? {
            tracing::info!(kid = %stored.kid, %alg, activates_at, "created signing key");
            Ok(Some(stored.kid))
        } else {
            tracing::info!(%alg, generation, "another replica created this key first");
            Ok(None)
        }
    }

    /// First start (or a new family): a key that signs at once for every family without one.
    pub async fn ensure_current(&self, now: i64) -> Result<Vec<String>, RotationError> {
        let rows = self.repo.signing_keys().await?;
        // Retention does not matter to "is there a current key", so any schedule will do.
        let lines = timeline(&rows, &Schedule::new(&self.rotation, 0), now);
        let mut created = Vec::new();
        for alg in Alg::ALL {
            let has_current = lines
                .iter()
                .any(|t| t.alg == alg && t.state == KeyState::Current);
            if !has_current
                && let Some(kid) = self
                    .create(alg, next_generation(&rows, alg), now, now)
                    .await?
            {
                created.push(kid);
            }
        }
        Ok(created)
    }

    /// The scheduled work, run by every replica on every reload: pre-publish successors when
    /// rotation is due, and delete keys past their retention.
    pub async fn tick(&self, schedule: &Schedule, now: i64) -> Result<Vec<String>, RotationError> {
        let rows = self.repo.signing_keys().await?;
        let lines = timeline(&rows, schedule, now);
        let mut created = Vec::new();
        for alg in Alg::ALL {
            let family: Vec<&Timeline> = lines.iter().filter(|t| t.alg == alg).collect();
            if let Some(activates_at) = due_rotation(&family, schedule, now)
                && let Some(kid) = self
                    .create(alg, next_generation(&rows, alg), activates_at, now)
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
                self.repo.delete_key(&line.kid).await?;
                tracing::info!(kid = %line.kid, "removed signing key after its retention");
            }
        }
        Ok(created)
    }

    /// On-demand rotation. Without `immediately` the new key is pre-published like a scheduled
    /// one; with it, the family's successor (an existing next key, or a new one) signs at once.
    pub async fn rotate(
        &self,
        schedule: &Schedule,
        alg: Option<Alg>,
        immediately: bool,
        now: i64,
    ) -> Result<Vec<RotateOutcome>, RotationError> {
        let mut outcomes = Vec::new();
        for alg in alg.map_or(Alg::ALL.to_vec(), |a| vec![a]) {
            let rows = self.repo.signing_keys().await?;
            let lines = timeline(&rows, schedule, now);
            let pending = lines
                .iter()
                .find(|t| t.alg == alg && t.state == KeyState::Next);
            let outcome = match pending {
                Some(next) if immediately => {
                    self.repo.set_key_activation(&next.kid, now).await?;
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
                    let activates_at = if immediately {
                        now
                    } else {
                        now + schedule.prepublish
                    };
                    let kid = self
                        .create(alg, next_generation(&rows, alg), activates_at, now)
                        .await?
                        .ok_or(RotationError::Raced)?;
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

    /// Emergency: takes a key out of the JWKS at once. If it was signing, its family's
    /// successor signs from now on. Every unexpired token it signed stops verifying.
    pub async fn revoke(
        &self,
        schedule: &Schedule,
        kid: &str,
        now: i64,
    ) -> Result<Alg, RotationError> {
        let rows = self.repo.signing_keys().await?;
        let lines = timeline(&rows, schedule, now);
        let line = lines
            .iter()
            .find(|t| t.kid == kid)
            .ok_or_else(|| RotationError::NotFound(kid.to_owned()))?;
        if line.state == KeyState::Revoked {
            return Err(RotationError::AlreadyRevoked(kid.to_owned()));
        }
        self.repo.revoke_key(kid, now).await?;
        if line.state == KeyState::Current {
            self.rotate(schedule, Some(line.alg), true, now).await?;
        }
        tracing::warn!(%kid, "signing key revoked");
        Ok(line.alg)
    }

    /// Re-seals every private key and client secret under a new master key, in one
    /// transaction; the signing keys and secrets themselves do not change. Returns how many.
    pub async fn rewrap(&self, new: &MasterKey) -> Result<usize, RotationError> {
        let rows = self.repo.signing_keys().await?;
        let mut resealed = Vec::with_capacity(rows.len());
        for row in &rows {
            let pkcs8 = self.master.open(&row.kid, &row.sealed_private_key)?;
            resealed.push((row.kid.clone(), new.seal(&row.kid, &pkcs8)));
        }
        let mut secrets = Vec::new();
        for (id, sealed) in self.repo.sealed_client_secrets().await? {
            let label = Client::secret_label(&id);
            let secret = self.master.open(&label, &sealed)?;
            secrets.push((id, new.seal(&label, &secret)));
        }
        self.repo.replace_sealed(&resealed, &secrets).await?;
        Ok(resealed.len() + secrets.len())
    }

    /// Every published key (next, current, retired), decrypting only those `previous` does not
    /// already hold. Fails rather than hand out a keyring missing a family's signer.
    pub async fn load_keyring(
        &self,
        schedule: &Schedule,
        previous: Option<&Keyring>,
        now: i64,
    ) -> Result<Keyring, RotationError> {
        let keyring = self.read_keyring(schedule, previous, now).await?;
        let missing: Vec<Alg> = Alg::ALL
            .into_iter()
            .filter(|alg| keyring.current(*alg).is_none())
            .collect();
        if missing.is_empty() {
            Ok(keyring)
        } else {
            Err(RotationError::NoCurrentKey(missing))
        }
    }

    /// The published keys as they are, complete or not (for commands that only read).
    pub async fn read_keyring(
        &self,
        schedule: &Schedule,
        previous: Option<&Keyring>,
        now: i64,
    ) -> Result<Keyring, RotationError> {
        let rows = self.repo.signing_keys().await?;
        let lines = timeline(&rows, schedule, now);
        let mut published = Vec::new();
        for (row, line) in rows.iter().zip(&lines) {
            let signs = match line.state {
                KeyState::Current => true,
                KeyState::Next | KeyState::Retired => false,
                KeyState::Removed | KeyState::Revoked => continue,
            };
            let key = match previous.and_then(|k| k.reusable(row)) {
                Some(key) => key,
                None => Arc::new(SigningKey::unseal(row, self.master)?),
            };
            published.push((key, signs));
        }
        Ok(Keyring::new(published))
    }

    /// Every key with its timeline, for `tessera keys list`.
    pub async fn list(
        &self,
        schedule: &Schedule,
        now: i64,
    ) -> Result<Vec<Timeline>, RotationError> {
        Ok(timeline(&self.repo.signing_keys().await?, schedule, now))
    }
}

#[derive(Debug, Serialize)]
pub struct RotateOutcome {
    pub alg: Alg,
    pub kid: String,
    pub activates_at: i64,
    /// The key already existed (a scheduled successor), it was not created now.
    pub existing: bool,
}

fn next_generation(rows: &[StoredKey], alg: Alg) -> i64 {
    rows.iter()
        .filter(|k| k.alg == alg)
        .map(|k| k.generation)
        .max()
        .unwrap_or(0)
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testing::{Inline, MemoryStore, block_on, master};

    const ROTATION: Rotation = Rotation {
        period: 1000,
        jwks_max_age: 40,
        jwks_cache_bound: 0,
        reload_interval: 20,
        clock_skew: 0,
    };

    fn keys(store: &MemoryStore) -> Keys<'_, MemoryStore, Inline> {
        Keys {
            repo: store,
            master: master(),
            offload: &Inline,
            rotation: ROTATION,
        }
    }

    #[test]
    fn first_start_makes_one_signing_key_per_family_and_no_more() {
        let store = MemoryStore::default();
        let ops = keys(&store);
        let created = block_on(ops.ensure_current(0)).unwrap();
        assert_eq!(created.len(), 4, "RS256, ES256, EdDSA and PS256");
        assert!(block_on(ops.ensure_current(5)).unwrap().is_empty());
    }

    #[test]
    fn the_tick_prepublishes_then_the_successor_signs_and_the_old_key_goes() {
        let store = MemoryStore::default();
        let ops = keys(&store);
        block_on(ops.ensure_current(0)).unwrap();
        let schedule = Schedule::new(&ROTATION, 100);
        let signer = |now| {
            let keyring = block_on(ops.read_keyring(&schedule, None, now)).unwrap();
            keyring.current(Alg::ES256).map(|k| k.kid.clone())
        };
        let first = signer(0).unwrap();
        assert!(
            block_on(ops.tick(&schedule, 800)).unwrap().is_empty(),
            "not due yet"
        );
        let created = block_on(ops.tick(&schedule, 900)).unwrap();
        assert_eq!(
            created.len(),
            4,
            "a successor per family, {} s ahead",
            schedule.prepublish
        );
        let keyring = block_on(ops.read_keyring(&schedule, None, 950)).unwrap();
        assert_eq!(
            keyring.current(Alg::ES256).map(|k| k.kid.clone()),
            Some(first.clone())
        );
        assert!(
            String::from_utf8_lossy(&keyring.jwks()).contains(&created[2]),
            "published early"
        );
        assert_ne!(
            signer(1000),
            Some(first.clone()),
            "the successor signs on time"
        );
        let removal = 1000 + schedule.retention;
        block_on(ops.tick(&schedule, removal)).unwrap();
        let rows = block_on(store.signing_keys()).unwrap();
        assert!(
            !rows.iter().any(|k| k.kid == first),
            "removed after its retention"
        );
    }

    #[test]
    fn revoking_the_signing_key_hands_over_at_once() {
        let store = MemoryStore::default();
        let ops = keys(&store);
        block_on(ops.ensure_current(0)).unwrap();
        let schedule = Schedule::new(&ROTATION, 100);
        let keyring = block_on(ops.load_keyring(&schedule, None, 10)).unwrap();
        let kid = keyring.current(Alg::ES256).unwrap().kid.clone();
        let alg = block_on(ops.revoke(&schedule, &kid, 20)).unwrap();
        assert_eq!(alg, Alg::ES256);
        let after = block_on(ops.load_keyring(&schedule, Some(&keyring), 20)).unwrap();
        let successor = after.current(Alg::ES256).unwrap();
        assert_ne!(successor.kid, kid);
        assert!(after.find(&kid).is_none(), "out of the JWKS");
        assert!(matches!(
            block_on(ops.revoke(&schedule, &kid, 30)),
            Err(RotationError::AlreadyRevoked(_))
        ));
    }

    #[test]
    fn a_keyring_missing_a_family_is_refused() {
        let store = MemoryStore::default();
        let ops = keys(&store);
        let schedule = Schedule::new(&ROTATION, 100);
        assert!(matches!(
            block_on(ops.load_keyring(&schedule, None, 0)),
            Err(RotationError::NoCurrentKey(missing)) if missing.len() == 4
        ));
    }

    #[test]
    fn a_rewrap_reseals_the_keys_and_the_client_secrets() {
        let store = MemoryStore::default();
        let ops = keys(&store);
        block_on(ops.ensure_current(0)).unwrap();
        let label = Client::secret_label("mac-client");
        store.put_client(Client {
            id: "mac-client".into(),
            secret_sealed: Some(master().seal(&label, b"the secret")),
            ..crate::core::testing::client(crate::core::model::AuthMethod::ClientSecretJwt)
        });
        let new = MasterKey::parse(&"6b".repeat(32)).unwrap();
        assert_eq!(
            block_on(ops.rewrap(&new)).unwrap(),
            5,
            "4 keys and 1 secret"
        );
        let (_, sealed) = block_on(store.sealed_client_secrets()).unwrap().remove(0);
        assert_eq!(new.open(&label, &sealed).unwrap().as_slice(), b"the secret");
        assert!(master().open(&label, &sealed).is_err());
    }
}
