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
        super::with_retry(|| self.rotate_once(old_hash, successor, grant_id, now, expires_at)).await
    }

    async fn rotate_once(
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

impl Store {
    /// When the key is locked out, until when.
    pub async fn locked_until(&self, key: &str, now: i64) -> Result<Option<i64>, DbErr> {
        let row = super::entities::throttle::Entity::find_by_id(key)
            .one(&self.db)
            .await?;
        Ok(row
            .and_then(|r| r.locked_until)
            .filter(|until| *until > now))
    }

    /// Counts a failure in the current window; locks the key when it reaches `max`.
    /// Returns the failures counted in the window. Concurrent failures may be counted once:
    /// throttling needs the order of magnitude, not the exact number.
    pub async fn record_failure(
        &self,
        key: &str,
        now: i64,
        window: i64,
        max: i64,
        lockout: i64,
    ) -> Result<i64, DbErr> {
        use super::entities::throttle;
        let row = throttle::Entity::find_by_id(key).one(&self.db).await?;
        let (failures, window_start) = match &row {
            Some(r) if now - r.window_start < window => (r.failures + 1, r.window_start),
            _ => (1, now),
        };
        let locked_until = (failures >= max).then_some(now + lockout);
        let model = throttle::ActiveModel {
            key: Set(key.to_owned()),
            failures: Set(failures),
            window_start: Set(window_start),
            locked_until: Set(locked_until),
        };
        if row.is_some() {
            model.update(&self.db).await?;
        } else {
            throttle::Entity::insert(model)
                .on_conflict(
                    sea_orm::sea_query::OnConflict::column(throttle::Column::Key)
                        .update_columns([
                            throttle::Column::Failures,
                            throttle::Column::WindowStart,
                            throttle::Column::LockedUntil,
                        ])
                        .to_owned(),
                )
                .exec(&self.db)
                .await?;
        }
        Ok(failures)
    }

    pub async fn clear_failures(&self, key: &str) -> Result<(), DbErr> {
        super::entities::throttle::Entity::delete_by_id(key)
            .exec(&self.db)
            .await?;
        Ok(())
    }
}

impl Store {
    /// Deletes rows nothing can use any more: expired interactions, codes, token records,
    /// refresh tokens and throttling counters. Returns how many rows went.
    pub async fn purge_expired(&self, now: i64) -> Result<u64, DbErr> {
        use super::entities::{auth_code, interaction, throttle};
        // Codes and interactions linger a day so that a late replay is still recognised.
        let day_ago = now - 86_400;
        let mut removed = 0;
        removed += interaction::Entity::delete_many()
            .filter(interaction::Column::ExpiresAt.lt(day_ago))
            .exec(&self.db)
            .await?
            .rows_affected;
        removed += auth_code::Entity::delete_many()
            .filter(auth_code::Column::ExpiresAt.lt(day_ago))
            .exec(&self.db)
            .await?
            .rows_affected;
        removed += issued_token::Entity::delete_many()
            .filter(issued_token::Column::ExpiresAt.lt(now))
            .exec(&self.db)
            .await?
            .rows_affected;
        removed += refresh_token::Entity::delete_many()
            .filter(refresh_token::Column::ExpiresAt.lt(now))
            .exec(&self.db)
            .await?
            .rows_affected;
        removed += throttle::Entity::delete_many()
            .filter(throttle::Column::WindowStart.lt(day_ago))
            .filter(
                sea_orm::Condition::any()
                    .add(throttle::Column::LockedUntil.is_null())
                    .add(throttle::Column::LockedUntil.lt(now)),
            )
            .exec(&self.db)
            .await?
            .rows_affected;
        Ok(removed)
    }
}
