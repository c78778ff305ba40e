//! Refresh tokens: stored by hash, rotated with a conditional update inside a transaction.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set,
};

use super::Store;
use super::Unique;
use super::entities::refresh_token;
use crate::core::error::StoreError;
use crate::core::model::RefreshToken;
use crate::core::ports::RefreshTokenRepo;

impl RefreshTokenRepo for Store {
    async fn find_refresh_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<RefreshToken>, StoreError> {
        let row = refresh_token::Entity::find_by_id(token_hash)
            .unique(&self.db)
            .await?;
        Ok(row.map(|r| RefreshToken {
            token_hash: r.token_hash,
            grant_id: r.grant_id,
            created_at: r.created_at,
            expires_at: r.expires_at,
            rotated_at_ms: r.rotated_at_ms,
            dpop_jkt: r.dpop_jkt,
        }))
    }

    async fn rotate_refresh_token(
        &self,
        old_hash: &str,
        successor: &RefreshToken,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        Ok(super::with_retry(|| self.rotate_once(old_hash, successor, now_ms)).await?)
    }
}

impl Store {
    async fn rotate_once(
        &self,
        old_hash: &str,
        successor: &RefreshToken,
        now_ms: i64,
    ) -> Result<bool, DbErr> {
        let old_hash = old_hash.to_owned();
        let successor = successor.clone();
        self.writes
            .transaction(move |txn| {
                Box::pin(async move {
                    let claimed = refresh_token::Entity::update_many()
                        .col_expr(refresh_token::Column::RotatedAtMs, Expr::value(now_ms))
                        .filter(refresh_token::Column::TokenHash.eq(old_hash))
                        .filter(refresh_token::Column::RotatedAtMs.is_null())
                        .exec(txn)
                        .await?;
                    // Rotated by someone else: nothing was written, nothing to undo.
                    if claimed.rows_affected != 1 {
                        return Ok(false);
                    }
                    insert_refresh(txn, &successor).await?;
                    Ok(true)
                })
            })
            .await
    }
}

pub(super) async fn insert_refresh<C: ConnectionTrait>(
    db: &C,
    t: &RefreshToken,
) -> Result<(), DbErr> {
    refresh_token::ActiveModel {
        token_hash: Set(t.token_hash.clone()),
        grant_id: Set(t.grant_id.clone()),
        created_at: Set(t.created_at),
        expires_at: Set(t.expires_at),
        rotated_at_ms: Set(t.rotated_at_ms),
        dpop_jkt: Set(t.dpop_jkt.clone()),
    }
    .insert(db)
    .await?;
    Ok(())
}
