//! Deleting rows nothing can use any more.

use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter};

use super::Store;
use super::entities::{
    auth_code, client_assertion, interaction, pushed_request, refresh_token, revocation, throttle,
};
use crate::core::error::StoreError;

impl Store {
    /// Expired interactions, codes, revocations, refresh tokens, used client assertions,
    /// pushed requests and throttling counters.
    /// Returns how many rows went.
    pub async fn purge_expired(&self, now: i64) -> Result<u64, StoreError> {
        // Codes and interactions linger a day so that a late replay is still recognised.
        let day_ago = now - 86_400;
        let mut removed = 0;
        removed += interaction::Entity::delete_many()
            .filter(interaction::Column::ExpiresAt.lt(day_ago))
            .exec(&self.writer)
            .await?
            .rows_affected;
        removed += auth_code::Entity::delete_many()
            .filter(auth_code::Column::ExpiresAt.lt(day_ago))
            .exec(&self.writer)
            .await?
            .rows_affected;
        removed += revocation::Entity::delete_many()
            .filter(revocation::Column::Until.lt(now))
            .exec(&self.writer)
            .await?
            .rows_affected;
        removed += refresh_token::Entity::delete_many()
            .filter(refresh_token::Column::ExpiresAt.lt(now))
            .exec(&self.writer)
            .await?
            .rows_affected;
        // An expired assertion is refused for its exp: it need not be remembered.
        removed += client_assertion::Entity::delete_many()
            .filter(client_assertion::Column::ExpiresAt.lt(now))
            .exec(&self.writer)
            .await?
            .rows_affected;
        removed += pushed_request::Entity::delete_many()
            .filter(pushed_request::Column::ExpiresAt.lt(now))
            .exec(&self.writer)
            .await?
            .rows_affected;
        removed += throttle::Entity::delete_many()
            .filter(throttle::Column::WindowStart.lt(day_ago))
            .filter(
                Condition::any()
                    .add(throttle::Column::LockedUntil.is_null())
                    .add(throttle::Column::LockedUntil.lt(now)),
            )
            .exec(&self.writer)
            .await?
            .rows_affected;
        Ok(removed)
    }
}
