//! The revocation list, and keeping the caches current (see cache.rs).

use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};

use super::Store;
use super::cache::Caches;
use super::entities::{cache_version, revocation};
use crate::core::error::StoreError;
use crate::core::model::Revoked;
use crate::core::ports::RevocationList;

fn key(revoked: &Revoked) -> String {
    match revoked {
        Revoked::Token(jti) => format!("token:{jti}"),
        Revoked::Grant(id) => format!("grant:{id}"),
        Revoked::Session(sid) => format!("session:{sid}"),
    }
}

impl RevocationList for Store {
    async fn revoke(&self, revoked: &Revoked, until: i64, now: i64) -> Result<(), StoreError> {
        let key = key(revoked);
        let row = revocation::ActiveModel {
            key: Set(key.clone()),
            until: Set(until),
            created_at: Set(now),
        };
        // Revoking what is already revoked changes nothing.
        revocation::Entity::insert(row)
            .on_conflict_do_nothing()
            .exec(&self.writer)
            .await?;
        if let Some(caches) = &self.caches {
            caches.revoked_mut().until.insert(key, until);
        }
        Ok(())
    }

    async fn any_revoked(&self, revoked: &[Revoked], now: i64) -> Result<bool, StoreError> {
        let keys: Vec<String> = revoked.iter().map(key).collect();
        let Some(caches) = &self.caches else {
            let found = revocation::Entity::find()
                .filter(revocation::Column::Key.is_in(keys))
                .filter(revocation::Column::Until.gt(now))
                .count(&self.db)
                .await?;
            return Ok(found > 0);
        };
        if !caches.revoked().loaded {
            self.load_revocations(caches, now).await?;
        }
        let memory = caches.revoked();
        Ok(keys
            .iter()
            .any(|k| memory.until.get(k).is_some_and(|until| *until > now)))
    }
}

impl Store {
    /// Adds every live revocation in the database to memory. Revocations are never undone, so
    /// what memory already holds stays (a revocation this store just made may not be visible
    /// to the query yet).
    async fn load_revocations(&self, caches: &Caches, now: i64) -> Result<(), StoreError> {
        let rows = revocation::Entity::find()
            .filter(revocation::Column::Until.gt(now))
            .all(&self.db)
            .await?;
        let mut memory = caches.revoked_mut();
        memory
            .until
            .extend(rows.into_iter().map(|r| (r.key, r.until)));
        memory.until.retain(|_, until| *until > now);
        memory.loaded = true;
        Ok(())
    }

    /// Drops or reloads what another replica, the CLI or this store changed since the last
    /// call. The server runs it every `cache_refresh_interval`.
    pub async fn refresh_caches(&self, now: i64) -> Result<(), StoreError> {
        let Some(caches) = &self.caches else {
            return Ok(());
        };
        let versions = cache_version::Entity::find().all(&self.db).await?;
        for row in versions {
            let seen = caches
                .versions
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&row.topic)
                .copied();
            if seen == Some(row.version) {
                continue;
            }
            match row.topic.as_str() {
                "clients" => {
                    caches.clients.clear();
                    caches.client_list.clear();
                }
                "users" => caches.users.clear(),
                "throttles" => caches.throttles.clear(),
                "revocations" => self.load_revocations(caches, now).await?,
                _ => {}
            }
            caches
                .versions
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(row.topic, row.version);
        }
        caches.revoked_mut().until.retain(|_, until| *until > now);
        Ok(())
    }
}
