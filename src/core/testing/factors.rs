//! The in-memory store's second factors (see `memory`).

use super::memory::{MemoryStore, find};
use crate::core::model::{PasskeyFactor, TotpFactor};
use crate::core::ports::{FactorRepo, Stored};

impl FactorRepo for MemoryStore {
    async fn totp(&self, user_id: &str) -> Stored<Option<TotpFactor>> {
        self.with(|t| find(&t.totp, |f| f.user_id == user_id)).await
    }
    async fn put_totp(&self, factor: &TotpFactor) -> Stored<()> {
        self.with(|t| {
            t.totp.retain(|f| f.user_id != factor.user_id);
            t.totp.push(factor.clone());
        })
        .await
    }
    async fn use_totp_step(
        &self,
        user_id: &str,
        step: i64,
        confirm_at: Option<i64>,
    ) -> Stored<bool> {
        self.with(|t| {
            let factor = t
                .totp
                .iter_mut()
                .find(|f| f.user_id == user_id && f.last_step.is_none_or(|last| last < step));
            factor
                .map(|f| {
                    f.last_step = Some(step);
                    if confirm_at.is_some() {
                        f.confirmed_at = confirm_at;
                    }
                })
                .is_some()
        })
        .await
    }
    async fn replace_recovery_codes(
        &self,
        user_id: &str,
        hashes: &[String],
        _now: i64,
    ) -> Stored<()> {
        self.with(|t| {
            t.recovery_codes.retain(|(user, _), _| user != user_id);
            for h in hashes {
                t.recovery_codes
                    .insert((user_id.to_owned(), h.clone()), None);
            }
        })
        .await
    }
    async fn use_recovery_code(&self, user_id: &str, hash: &str, now: i64) -> Stored<bool> {
        self.with(|t| {
            let key = (user_id.to_owned(), hash.to_owned());
            match t.recovery_codes.get_mut(&key) {
                Some(used @ None) => {
                    *used = Some(now);
                    true
                }
                _ => false,
            }
        })
        .await
    }
    async fn unused_recovery_codes(&self, user_id: &str) -> Stored<usize> {
        self.with(|t| {
            t.recovery_codes
                .iter()
                .filter(|((user, _), used)| user == user_id && used.is_none())
                .count()
        })
        .await
    }
    async fn delete_totp(&self, user_id: &str) -> Stored<bool> {
        self.with(|t| {
            let before = t.totp.len();
            t.totp.retain(|f| f.user_id != user_id);
            t.totp.len() < before
        })
        .await
    }
    async fn delete_factors(&self, user_id: &str) -> Stored<()> {
        self.with(|t| {
            t.totp.retain(|f| f.user_id != user_id);
            t.recovery_codes.retain(|(user, _), _| user != user_id);
            t.passkeys.retain(|p| p.user_id != user_id);
        })
        .await
    }
    async fn passkeys(&self, user_id: &str) -> Stored<Vec<PasskeyFactor>> {
        self.with(|t| {
            let mut mine: Vec<_> = t
                .passkeys
                .iter()
                .filter(|p| p.user_id == user_id)
                .cloned()
                .collect();
            mine.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
            mine
        })
        .await
    }
    async fn passkey_by_credential(&self, credential_id: &str) -> Stored<Option<PasskeyFactor>> {
        self.with(|t| find(&t.passkeys, |p| p.credential_id == credential_id))
            .await
    }
    async fn insert_passkey(&self, passkey: &PasskeyFactor) -> Stored<bool> {
        self.with(|t| {
            let taken = t
                .passkeys
                .iter()
                .any(|p| p.credential_id == passkey.credential_id);
            if !taken {
                t.passkeys.push(passkey.clone());
            }
            !taken
        })
        .await
    }
    async fn passkey_used(
        &self,
        id: &str,
        credential: &str,
        backup_eligible: bool,
        now: i64,
    ) -> Stored<()> {
        self.with(|t| {
            if let Some(p) = t.passkeys.iter_mut().find(|p| p.id == id) {
                credential.clone_into(&mut p.credential);
                p.backup_eligible = backup_eligible;
                p.last_used_at = Some(now);
            }
        })
        .await
    }
    async fn delete_passkey(&self, user_id: &str, id: &str) -> Stored<bool> {
        self.with(|t| {
            let before = t.passkeys.len();
            t.passkeys.retain(|p| !(p.user_id == user_id && p.id == id));
            t.passkeys.len() < before
        })
        .await
    }
}
