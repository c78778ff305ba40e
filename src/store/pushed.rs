//! Pushed authorization requests (RFC 9126), each used once.

use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

use super::Store;
use super::Unique;
use super::entities::pushed_request;
use crate::core::error::StoreError;
use crate::core::model::PushedRequest;
use crate::core::ports::PushedRequestRepo;

impl PushedRequestRepo for Store {
    async fn insert_pushed(&self, p: &PushedRequest) -> Result<(), StoreError> {
        pushed_request::ActiveModel {
            id: Set(p.id_hash.clone()),
            client_id: Set(p.client_id.clone()),
            params: Set(p.params.clone()),
            expires_at: Set(p.expires_at),
            used_at: Set(None),
        }
        .insert(&self.writer)
        .await?;
        Ok(())
    }

    async fn take_pushed(
        &self,
        id_hash: &str,
        now: i64,
    ) -> Result<Option<PushedRequest>, StoreError> {
        let claimed = pushed_request::Entity::update_many()
            .col_expr(pushed_request::Column::UsedAt, Expr::value(now))
            .filter(pushed_request::Column::Id.eq(id_hash))
            .filter(pushed_request::Column::UsedAt.is_null())
            .filter(pushed_request::Column::ExpiresAt.gt(now))
            .exec(&self.writer)
            .await?;
        if claimed.rows_affected != 1 {
            return Ok(None);
        }
        // Read where it was just written: a replica may not have it yet.
        let row = pushed_request::Entity::find_by_id(id_hash)
            .unique(&self.writer)
            .await?;
        Ok(row.map(|r| PushedRequest {
            id_hash: r.id,
            client_id: r.client_id,
            params: r.params,
            expires_at: r.expires_at,
        }))
    }
}
