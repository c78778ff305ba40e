use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, QueryFilter, Set};

use super::entities::session;
use super::{Session, Store};
use crate::secret::{hash, random_id, random_token};

/// Where a browser signed in from, as shown on the user's device list.
pub struct Device {
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

impl Store {
    /// Starts a session; the returned token goes into the browser's cookie and only its hash
    /// is stored.
    pub async fn create_session(
        &self,
        user_id: &str,
        device: Device,
        amr: &str,
        now: i64,
        ttl: i64,
    ) -> Result<(Session, String), DbErr> {
        let token = random_token();
        let row = session::ActiveModel {
            id: Set(random_id()),
            token_hash: Set(hash(&token)),
            user_id: Set(user_id.to_owned()),
            user_agent: Set(device.user_agent),
            ip: Set(device.ip),
            amr: Set(amr.to_owned()),
            auth_time: Set(now),
            created_at: Set(now),
            last_seen_at: Set(now),
            expires_at: Set(now + ttl),
            ended_at: Set(None),
        }
        .insert(&self.db)
        .await?;
        Ok((row, token))
    }

    /// The live session a cookie token belongs to.
    pub async fn session_by_token(&self, token: &str, now: i64) -> Result<Option<Session>, DbErr> {
        session::Entity::find()
            .filter(session::Column::TokenHash.eq(hash(token)))
            .filter(session::Column::EndedAt.is_null())
            .filter(session::Column::ExpiresAt.gt(now))
            .one(&self.db)
            .await
    }

    pub async fn find_session(&self, id: &str) -> Result<Option<Session>, DbErr> {
        session::Entity::find_by_id(id).one(&self.db).await
    }

    /// Records a fresh authentication in an existing session (prompt=login, max_age).
    pub async fn reauthenticate_session(&self, id: &str, now: i64) -> Result<(), DbErr> {
        session::Entity::update_many()
            .col_expr(session::Column::AuthTime, Expr::value(now))
            .col_expr(session::Column::LastSeenAt, Expr::value(now))
            .filter(session::Column::Id.eq(id))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    pub async fn touch_session(&self, id: &str, now: i64) -> Result<(), DbErr> {
        session::Entity::update_many()
            .col_expr(session::Column::LastSeenAt, Expr::value(now))
            .filter(session::Column::Id.eq(id))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Ends a session and revokes every grant made in it.
    pub async fn end_session(&self, id: &str, now: i64) -> Result<bool, DbErr> {
        let result = session::Entity::update_many()
            .col_expr(session::Column::EndedAt, Expr::value(now))
            .filter(session::Column::Id.eq(id))
            .filter(session::Column::EndedAt.is_null())
            .exec(&self.db)
            .await?;
        self.revoke_session_grants(id, now).await?;
        Ok(result.rows_affected > 0)
    }
}

impl Store {
    /// A user's sessions that have not ended or expired, newest first.
    pub async fn live_sessions(&self, user_id: &str, now: i64) -> Result<Vec<Session>, DbErr> {
        use sea_orm::QueryOrder;
        session::Entity::find()
            .filter(session::Column::UserId.eq(user_id))
            .filter(session::Column::EndedAt.is_null())
            .filter(session::Column::ExpiresAt.gt(now))
            .order_by_desc(session::Column::LastSeenAt)
            .all(&self.db)
            .await
    }

    /// The clients that hold grants made in a session.
    pub async fn session_client_ids(&self, session_id: &str) -> Result<Vec<String>, DbErr> {
        use super::entities::grant;
        let grants = grant::Entity::find()
            .filter(grant::Column::SessionId.eq(session_id))
            .all(&self.db)
            .await?;
        let mut ids: Vec<String> = grants.into_iter().map(|g| g.client_id).collect();
        ids.sort();
        ids.dedup();
        Ok(ids)
    }
}
