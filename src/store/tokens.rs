//! Refresh tokens (stored by hash, rotated with a conditional update) and the revocation of
//! issued JWTs by jti.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, QueryFilter, Set, TransactionTrait,
};

use super::Store;
use super::entities::{issued_token, refresh_token};
use crate::secret::hash;

pub use refresh_token::Model as RefreshToken;

impl Store {
    pub async fn insert_refresh_token(
        &self,
        token: &str,
        grant_id: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), DbErr> {
        refresh_token::ActiveModel {
            token_hash: Set(hash(token)),
            grant_id: Set(grant_id.to_owned()),
            created_at: Set(now),
            expires_at: Set(expires_at),
            rotated_at: Set(None),
        }
        .insert(&self.db)
        .await?;
        Ok(())
    }

    pub async fn find_refresh_token(&self, token: &str) -> Result<Option<RefreshToken>, DbErr> {
        refresh_token::Entity::find_by_id(hash(token))
            .one(&self.db)
            .await
    }

    /// Marks `old_hash` rotated and stores its successor in one transaction. Returns false when
    /// another request rotated it first: exactly one of any number of concurrent calls wins.
    pub async fn rotate_refresh_token(
        &self,
        old_hash: &str,
        successor: &str,
        grant_id: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<bool, DbErr> {
        let txn = self.db.begin().await?;
        let claimed = refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::RotatedAt, Expr::value(now))
            .filter(refresh_token::Column::TokenHash.eq(old_hash))
            .filter(refresh_token::Column::RotatedAt.is_null())
            .exec(&txn)
            .await?;
        if claimed.rows_affected != 1 {
            txn.rollback().await?;
            return Ok(false);
        }
        refresh_token::ActiveModel {
            token_hash: Set(hash(successor)),
            grant_id: Set(grant_id.to_owned()),
            created_at: Set(now),
            expires_at: Set(expires_at),
            rotated_at: Set(None),
        }
        .insert(&txn)
        .await?;
        txn.commit().await?;
        Ok(true)
    }

    pub async fn find_issued_token(&self, jti: &str) -> Result<Option<issued_token::Model>, DbErr> {
        issued_token::Entity::find_by_id(jti).one(&self.db).await
    }

    /// Puts one JWT on the revocation list; it stays there until the token's own expiry.
    pub async fn revoke_jti(&self, jti: &str, now: i64) -> Result<(), DbErr> {
        issued_token::Entity::update_many()
            .col_expr(issued_token::Column::RevokedAt, Expr::value(now))
            .filter(issued_token::Column::Jti.eq(jti))
            .filter(issued_token::Column::RevokedAt.is_null())
            .exec(&self.db)
            .await?;
        Ok(())
    }
}
