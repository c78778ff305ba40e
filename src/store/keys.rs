use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    Set, SqlErr, TransactionTrait,
};

use super::Store;
use super::entities::{issued_token, signing_key};
use crate::keys::StoredKey;

impl Store {
    /// Every key row, oldest first. Rows with an unknown alg are skipped.
    pub async fn signing_keys(&self) -> Result<Vec<StoredKey>, DbErr> {
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

    /// Inserts a key; false if its (alg, generation) exists already (another replica won).
    pub async fn insert_key(&self, key: &StoredKey) -> Result<bool, DbErr> {
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
        .insert(&self.db)
        .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    pub async fn set_key_activation(&self, kid: &str, activates_at: i64) -> Result<(), DbErr> {
        signing_key::Entity::update_many()
            .col_expr(signing_key::Column::ActivatesAt, Expr::value(activates_at))
            .filter(signing_key::Column::Kid.eq(kid))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    pub async fn revoke_key(&self, kid: &str, now: i64) -> Result<(), DbErr> {
        signing_key::Entity::update_many()
            .col_expr(signing_key::Column::RevokedAt, Expr::value(now))
            .filter(signing_key::Column::Kid.eq(kid))
            .filter(signing_key::Column::RevokedAt.is_null())
            .exec(&self.db)
            .await?;
        Ok(())
    }

    pub async fn delete_key(&self, kid: &str) -> Result<(), DbErr> {
        signing_key::Entity::delete_by_id(kid)
            .exec(&self.db)
            .await?;
        Ok(())
    }

    pub async fn replace_sealed_keys(&self, sealed: &[(String, String)]) -> Result<(), DbErr> {
        super::with_retry(|| async {
            let txn = self.db.begin().await?;
            for (kid, value) in sealed {
                signing_key::Entity::update_many()
                    .col_expr(
                        signing_key::Column::SealedPrivateKey,
                        Expr::value(value.clone()),
                    )
                    .filter(signing_key::Column::Kid.eq(kid.as_str()))
                    .exec(&txn)
                    .await?;
            }
            txn.commit().await
        })
        .await
    }

    /// Unexpired, unrevoked tokens signed with a key.
    pub async fn live_tokens_signed_by(&self, kid: &str, now: i64) -> Result<u64, DbErr> {
        issued_token::Entity::find()
            .filter(issued_token::Column::Kid.eq(kid))
            .filter(issued_token::Column::ExpiresAt.gt(now))
            .filter(issued_token::Column::RevokedAt.is_null())
            .count(&self.db)
            .await
    }
}
