//! Signing keys, with their private halves sealed under the master key.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set, SqlErr,
    TransactionTrait,
};

use super::Store;
use super::entities::{client, signing_key};
use crate::core::error::StoreError;
use crate::core::ports::KeyRepo;
use crate::keys::StoredKey;

impl KeyRepo for Store {
    /// Rows with an unknown alg are skipped.
    async fn signing_keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        let rows = signing_key::Entity::find()
            .order_by_asc(signing_key::Column::ActivatesAt)
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|row| {
                Some(StoredKey {
                    alg: row.alg.parse().ok()?,
                    kid: row.kid,
                    generation: row.generation,
                    created_at: row.created_at,
                    activates_at: row.activates_at,
                    revoked_at: row.revoked_at,
                    sealed_private_key: row.sealed_private_key,
                    public_jwk: row.public_jwk,
                })
            })
            .collect())
    }

    async fn insert_key(&self, key: &StoredKey) -> Result<bool, StoreError> {
        let result = signing_key::ActiveModel {
            kid: Set(key.kid.clone()),
            alg: Set(key.alg.to_string()),
            sealed_private_key: Set(key.sealed_private_key.clone()),
            public_jwk: Set(key.public_jwk.clone()),
            created_at: Set(key.created_at),
            activates_at: Set(key.activates_at),
            generation: Set(key.generation),
            revoked_at: Set(key.revoked_at),
        }
        .insert(&self.writer)
        .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn set_key_activation(&self, kid: &str, activates_at: i64) -> Result<(), StoreError> {
        signing_key::Entity::update_many()
            .col_expr(signing_key::Column::ActivatesAt, Expr::value(activates_at))
            .filter(signing_key::Column::Kid.eq(kid))
            .exec(&self.writer)
            .await?;
        Ok(())
    }

    async fn revoke_key(&self, kid: &str, now: i64) -> Result<(), StoreError> {
        signing_key::Entity::update_many()
            .col_expr(signing_key::Column::RevokedAt, Expr::value(now))
            .filter(signing_key::Column::Kid.eq(kid))
            .filter(signing_key::Column::RevokedAt.is_null())
            .exec(&self.writer)
            .await?;
        Ok(())
    }

    async fn delete_key(&self, kid: &str) -> Result<(), StoreError> {
        signing_key::Entity::delete_by_id(kid)
            .exec(&self.writer)
            .await?;
        Ok(())
    }

    async fn sealed_client_secrets(&self) -> Result<Vec<(String, String)>, StoreError> {
        let rows = client::Entity::find()
            .filter(client::Column::SecretSealed.is_not_null())
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|row| Some((row.id, row.secret_sealed?)))
            .collect())
    }

    async fn replace_sealed(
        &self,
        keys: &[(String, String)],
        client_secrets: &[(String, String)],
    ) -> Result<(), StoreError> {
        let replaced = super::with_retry(|| async {
            let txn = self.writer.begin().await?;
            for (kid, value) in keys {
                signing_key::Entity::update_many()
                    .col_expr(
                        signing_key::Column::SealedPrivateKey,
                        Expr::value(value.clone()),
                    )
                    .filter(signing_key::Column::Kid.eq(kid.as_str()))
                    .exec(&txn)
                    .await?;
            }
            for (id, value) in client_secrets {
                client::Entity::update_many()
                    .col_expr(client::Column::SecretSealed, Expr::value(value.clone()))
                    .filter(client::Column::Id.eq(id.as_str()))
                    .exec(&txn)
                    .await?;
            }
            txn.commit().await
        })
        .await;
        replaced?;
        self.forget_clients();
        Ok(())
    }
}
