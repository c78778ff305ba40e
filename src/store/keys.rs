use sea_orm::{ActiveModelTrait, DbErr, EntityTrait, QueryOrder, Set};

use super::Store;
use super::entities::signing_key;
use crate::keys::StoredKey;

impl Store {
    /// Every key still published, oldest first. Rows with unknown alg/state are skipped.
    pub async fn published_keys(&self) -> Result<Vec<StoredKey>, DbErr> {
        let rows = signing_key::Entity::find()
            .order_by_asc(signing_key::Column::ActivatesAt)
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|row| {
                Some(StoredKey {
                    alg: row.alg.parse().ok()?,
                    state: row.state.parse().ok()?,
                    kid: row.kid,
                    activates_at: row.activates_at,
                    sealed_private_key: row.sealed_private_key,
                    public_jwk: row.public_jwk,
                })
            })
            .collect())
    }

    pub async fn insert_key(&self, key: &StoredKey, now: i64) -> Result<(), DbErr> {
        signing_key::ActiveModel {
            kid: Set(key.kid.clone()),
            alg: Set(key.alg.to_string()),
            state: Set(key.state.to_string()),
            sealed_private_key: Set(key.sealed_private_key.clone()),
            public_jwk: Set(key.public_jwk.clone()),
            created_at: Set(now),
            activates_at: Set(key.activates_at),
            retired_at: Set(None::<i64>),
        }
        .insert(&self.db)
        .await?;
        Ok(())
    }
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}
