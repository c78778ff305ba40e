//! Refresh tokens (stored by hash, rotated with a conditional update inside a transaction)
//! and the register of signed JWTs.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, Set, TransactionTrait,
};

use super::Store;
use super::entities::{issued_token, refresh_token};
use crate::core::error::StoreError;
use crate::core::model::{IssuedToken, RefreshToken, TokenKind};
use crate::core::ports::{RefreshTokenRepo, TokenRegister};

impl RefreshTokenRepo for Store {
    async fn insert_refresh_token(&self, token: &RefreshToken) -> Result<(), StoreError> {
        Ok(insert_refresh(&self.db, token).await?)
    }

    async fn find_refresh_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<RefreshToken>, StoreError> {
        let row = refresh_token::Entity::find_by_id(token_hash)
            .one(&self.db)
            .await?;
        Ok(row.map(|r| RefreshToken {
            token_hash: r.token_hash,
            grant_id: r.grant_id,
            created_at: r.created_at,
            expires_at: r.expires_at,
            rotated_at: r.rotated_at,
        }))
    }

    async fn rotate_refresh_token(
        &self,
        old_hash: &str,
        successor: &RefreshToken,
        now: i64,
    ) -> Result<bool, StoreError> {
        Ok(super::with_retry(|| self.rotate_once(old_hash, successor, now)).await?)
    }
}

impl Store {
    async fn rotate_once(
        &self,
        old_hash: &str,
        successor: &RefreshToken,
        now: i64,
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
        insert_refresh(&txn, successor).await?;
        txn.commit().await?;
        Ok(true)
    }
}

async fn insert_refresh<C: ConnectionTrait>(db: &C, t: &RefreshToken) -> Result<(), DbErr> {
    refresh_token::ActiveModel {
        token_hash: Set(t.token_hash.clone()),
        grant_id: Set(t.grant_id.clone()),
        created_at: Set(t.created_at),
        expires_at: Set(t.expires_at),
        rotated_at: Set(t.rotated_at),
    }
    .insert(db)
    .await?;
    Ok(())
}

impl TokenRegister for Store {
    async fn record_token(&self, t: &IssuedToken) -> Result<(), StoreError> {
        issued_token::ActiveModel {
            jti: Set(t.jti.clone()),
            grant_id: Set(t.grant_id.clone()),
            kind: Set(t.kind.to_string()),
            kid: Set(t.kid.clone()),
            expires_at: Set(t.expires_at),
            revoked_at: Set(t.revoked_at),
        }
        .insert(&self.db)
        .await?;
        Ok(())
    }

    async fn find_token(&self, jti: &str) -> Result<Option<IssuedToken>, StoreError> {
        let row = issued_token::Entity::find_by_id(jti).one(&self.db).await?;
        Ok(row.and_then(|r| {
            Some(IssuedToken {
                kind: r.kind.parse::<TokenKind>().ok()?,
                jti: r.jti,
                grant_id: r.grant_id,
                kid: r.kid,
                expires_at: r.expires_at,
                revoked_at: r.revoked_at,
            })
        }))
    }

    async fn revoke_token(&self, jti: &str, now: i64) -> Result<(), StoreError> {
        issued_token::Entity::update_many()
            .col_expr(issued_token::Column::RevokedAt, Expr::value(now))
            .filter(issued_token::Column::Jti.eq(jti))
            .filter(issued_token::Column::RevokedAt.is_null())
            .exec(&self.db)
            .await?;
        Ok(())
    }

    async fn live_tokens_signed_by(&self, kid: &str, now: i64) -> Result<u64, StoreError> {
        Ok(issued_token::Entity::find()
            .filter(issued_token::Column::Kid.eq(kid))
            .filter(issued_token::Column::ExpiresAt.gt(now))
            .filter(issued_token::Column::RevokedAt.is_null())
            .count(&self.db)
            .await?)
    }
}
