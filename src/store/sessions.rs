//! Browser sessions (devices).

use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use super::Store;
use super::Unique;
use super::entities::session;
use crate::core::error::StoreError;
use crate::core::model::{Device, Session};
use crate::core::ports::SessionRepo;

impl SessionRepo for Store {
    async fn insert_session(&self, s: &Session) -> Result<(), StoreError> {
        session::ActiveModel {
            id: Set(s.id.clone()),
            token_hash: Set(s.token_hash.clone()),
            user_id: Set(s.user_id.clone()),
            user_agent: Set(s.device.user_agent.clone()),
            ip: Set(s.device.ip.clone()),
            amr: Set(s.amr.clone()),
            auth_time: Set(s.auth_time),
            created_at: Set(s.created_at),
            last_seen_at: Set(s.last_seen_at),
            expires_at: Set(s.expires_at),
            ended_at: Set(s.ended_at),
        }
        .insert(&self.writer)
        .await?;
        Ok(())
    }

    async fn find_session(&self, id: &str) -> Result<Option<Session>, StoreError> {
        Ok(session::Entity::find_by_id(id)
            .unique(&self.db)
            .await?
            .map(to_session))
    }

    async fn live_session_by_token(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<Session>, StoreError> {
        Ok(session::Entity::find()
            .filter(session::Column::TokenHash.eq(token_hash))
            .filter(session::Column::EndedAt.is_null())
            .filter(session::Column::ExpiresAt.gt(now))
            .unique(&self.db)
            .await?
            .map(to_session))
    }

    async fn live_sessions(&self, user_id: &str, now: i64) -> Result<Vec<Session>, StoreError> {
        let rows = session::Entity::find()
            .filter(session::Column::UserId.eq(user_id))
            .filter(session::Column::EndedAt.is_null())
            .filter(session::Column::ExpiresAt.gt(now))
            .order_by_desc(session::Column::LastSeenAt)
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(to_session).collect())
    }

    async fn reauthenticate(&self, id: &str, amr: &str, now: i64) -> Result<(), StoreError> {
        session::Entity::update_many()
            .col_expr(session::Column::AuthTime, Expr::value(now))
            .col_expr(session::Column::Amr, Expr::value(amr))
            .col_expr(session::Column::LastSeenAt, Expr::value(now))
            .filter(session::Column::Id.eq(id))
            .exec(&self.writer)
            .await?;
        Ok(())
    }

    async fn touch_session(&self, id: &str, now: i64) -> Result<(), StoreError> {
        session::Entity::update_many()
            .col_expr(session::Column::LastSeenAt, Expr::value(now))
            .filter(session::Column::Id.eq(id))
            .exec(&self.writer)
            .await?;
        Ok(())
    }

    async fn end_session(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        let result = session::Entity::update_many()
            .col_expr(session::Column::EndedAt, Expr::value(now))
            .filter(session::Column::Id.eq(id))
            .filter(session::Column::EndedAt.is_null())
            .exec(&self.writer)
            .await?;
        Ok(result.rows_affected > 0)
    }
}

fn to_session(row: session::Model) -> Session {
    Session {
        id: row.id,
        token_hash: row.token_hash,
        user_id: row.user_id,
        device: Device {
            user_agent: row.user_agent,
            ip: row.ip,
        },
        amr: row.amr,
        auth_time: row.auth_time,
        created_at: row.created_at,
        last_seen_at: row.last_seen_at,
        expires_at: row.expires_at,
        ended_at: row.ended_at,
    }
}
