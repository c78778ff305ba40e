//! The state of authorization flows: interactions (a pending /authorize), consents, grants,
//! authorization codes and the issued-token register.

use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, QueryFilter, Set};

use super::entities::{auth_code, consent, grant, interaction, issued_token, session, user};
use super::{Grant, Interaction, Session, Store, User, from_json_list, to_json_list};
use crate::secret::{hash, random_id};

pub use auth_code::Model as AuthCode;

/// An entry of the issued-token register.
pub struct TokenRecord<'a> {
    pub jti: &'a str,
    pub grant_id: &'a str,
    pub kind: &'a str,
    pub kid: &'a str,
    pub expires_at: i64,
}

/// Everything needed to decide whether an access token still stands.
pub struct ActiveToken {
    pub token: issued_token::Model,
    pub grant: Grant,
    pub user: Option<User>,
}

/// A grant: a user's (or, without a session, a client's own) authorisation of a client.
pub struct NewGrant<'a> {
    pub session: Option<&'a Session>,
    pub client_id: &'a str,
    pub scope: &'a str,
    pub expires_at: Option<i64>,
}

pub struct NewCode<'a> {
    pub grant_id: &'a str,
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub nonce: Option<&'a str>,
    pub code_challenge: Option<&'a str>,
}

impl Store {
    pub async fn create_interaction(
        &self,
        client_id: &str,
        request_json: String,
        now: i64,
        ttl: i64,
    ) -> Result<String, DbErr> {
        let id = random_id();
        interaction::ActiveModel {
            id: Set(id.clone()),
            client_id: Set(client_id.to_owned()),
            request: Set(request_json),
            session_id: Set(None),
            login_at: Set(None),
            created_at: Set(now),
            expires_at: Set(now + ttl),
            completed_at: Set(None),
        }
        .insert(&self.db)
        .await?;
        Ok(id)
    }

    /// A pending interaction: not expired and not completed.
    pub async fn pending_interaction(
        &self,
        id: &str,
        now: i64,
    ) -> Result<Option<Interaction>, DbErr> {
        interaction::Entity::find_by_id(id)
            .filter(interaction::Column::CompletedAt.is_null())
            .filter(interaction::Column::ExpiresAt.gt(now))
            .one(&self.db)
            .await
    }

    pub async fn interaction_logged_in(
        &self,
        id: &str,
        session_id: &str,
        now: i64,
    ) -> Result<(), DbErr> {
        interaction::Entity::update_many()
            .col_expr(interaction::Column::SessionId, Expr::value(session_id))
            .col_expr(interaction::Column::LoginAt, Expr::value(now))
            .filter(interaction::Column::Id.eq(id))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Marks the interaction done; false if another request completed it first.
    pub async fn complete_interaction(&self, id: &str, now: i64) -> Result<bool, DbErr> {
        let result = interaction::Entity::update_many()
            .col_expr(interaction::Column::CompletedAt, Expr::value(now))
            .filter(interaction::Column::Id.eq(id))
            .filter(interaction::Column::CompletedAt.is_null())
            .exec(&self.db)
            .await?;
        Ok(result.rows_affected == 1)
    }

    pub async fn consented_scopes(
        &self,
        user_id: &str,
        client_id: &str,
    ) -> Result<Vec<String>, DbErr> {
        let row = consent::Entity::find_by_id((user_id.to_owned(), client_id.to_owned()))
            .one(&self.db)
            .await?;
        Ok(row.map(|r| from_json_list(&r.scopes)).unwrap_or_default())
    }

    pub async fn save_consent(
        &self,
        user_id: &str,
        client_id: &str,
        scopes: &[String],
        now: i64,
    ) -> Result<(), DbErr> {
        let row = consent::ActiveModel {
            user_id: Set(user_id.to_owned()),
            client_id: Set(client_id.to_owned()),
            scopes: Set(to_json_list(scopes)),
            granted_at: Set(now),
        };
        consent::Entity::insert(row)
            .on_conflict(
                OnConflict::columns([consent::Column::UserId, consent::Column::ClientId])
                    .update_columns([consent::Column::Scopes, consent::Column::GrantedAt])
                    .to_owned(),
            )
            .exec(&self.db)
            .await?;
        Ok(())
    }

    pub async fn create_grant(&self, new: NewGrant<'_>, now: i64) -> Result<Grant, DbErr> {
        grant::ActiveModel {
            id: Set(random_id()),
            user_id: Set(new.session.map(|s| s.user_id.clone())),
            client_id: Set(new.client_id.to_owned()),
            session_id: Set(new.session.map(|s| s.id.clone())),
            scope: Set(new.scope.to_owned()),
            auth_time: Set(new.session.map(|s| s.auth_time)),
            created_at: Set(now),
            revoked_at: Set(None),
            expires_at: Set(new.expires_at),
        }
        .insert(&self.db)
        .await
    }

    pub async fn find_grant(&self, id: &str) -> Result<Option<Grant>, DbErr> {
        grant::Entity::find_by_id(id).one(&self.db).await
    }

    pub async fn revoke_grant(&self, id: &str, now: i64) -> Result<(), DbErr> {
        grant::Entity::update_many()
            .col_expr(grant::Column::RevokedAt, Expr::value(now))
            .filter(grant::Column::Id.eq(id))
            .filter(grant::Column::RevokedAt.is_null())
            .exec(&self.db)
            .await?;
        Ok(())
    }

    pub(super) async fn revoke_session_grants(
        &self,
        session_id: &str,
        now: i64,
    ) -> Result<(), DbErr> {
        grant::Entity::update_many()
            .col_expr(grant::Column::RevokedAt, Expr::value(now))
            .filter(grant::Column::SessionId.eq(session_id))
            .filter(grant::Column::RevokedAt.is_null())
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Stores a code by its hash; returns the code itself for the redirect.
    pub async fn create_code(
        &self,
        new: NewCode<'_>,
        code: &str,
        now: i64,
        ttl: i64,
    ) -> Result<(), DbErr> {
        auth_code::ActiveModel {
            code_hash: Set(hash(code)),
            grant_id: Set(new.grant_id.to_owned()),
            client_id: Set(new.client_id.to_owned()),
            redirect_uri: Set(new.redirect_uri.to_owned()),
            nonce: Set(new.nonce.map(str::to_owned)),
            code_challenge: Set(new.code_challenge.map(str::to_owned)),
            created_at: Set(now),
            expires_at: Set(now + ttl),
            used_at: Set(None),
        }
        .insert(&self.db)
        .await?;
        Ok(())
    }

    pub async fn find_code(&self, code: &str) -> Result<Option<AuthCode>, DbErr> {
        auth_code::Entity::find_by_id(hash(code))
            .one(&self.db)
            .await
    }

    /// Marks a code used with one conditional update, so of two concurrent redemptions exactly
    /// one wins.
    pub async fn claim_code(&self, code_hash: &str, now: i64) -> Result<bool, DbErr> {
        let claimed = auth_code::Entity::update_many()
            .col_expr(auth_code::Column::UsedAt, Expr::value(now))
            .filter(auth_code::Column::CodeHash.eq(code_hash))
            .filter(auth_code::Column::UsedAt.is_null())
            .exec(&self.db)
            .await?;
        Ok(claimed.rows_affected == 1)
    }

    pub async fn record_token(&self, record: TokenRecord<'_>) -> Result<(), DbErr> {
        issued_token::ActiveModel {
            jti: Set(record.jti.to_owned()),
            grant_id: Set(record.grant_id.to_owned()),
            kind: Set(record.kind.to_owned()),
            kid: Set(record.kid.to_owned()),
            expires_at: Set(record.expires_at),
            revoked_at: Set(None),
        }
        .insert(&self.db)
        .await?;
        Ok(())
    }

    /// The grant and user behind a token id, if the token, its grant, its session and its user
    /// all still stand.
    pub async fn active_token(&self, jti: &str, now: i64) -> Result<Option<ActiveToken>, DbErr> {
        let Some(token) = issued_token::Entity::find_by_id(jti).one(&self.db).await? else {
            return Ok(None);
        };
        if token.revoked_at.is_some() || token.expires_at <= now {
            return Ok(None);
        }
        Ok(self
            .live_grant(&token.grant_id, now)
            .await?
            .map(|(grant, user)| ActiveToken { token, grant, user }))
    }

    /// A grant that is not revoked or expired, whose session has not ended and whose user (if
    /// any) is enabled.
    pub async fn live_grant(
        &self,
        grant_id: &str,
        now: i64,
    ) -> Result<Option<(Grant, Option<User>)>, DbErr> {
        let Some(grant) = self.find_grant(grant_id).await? else {
            return Ok(None);
        };
        if grant.revoked_at.is_some() || grant.expires_at.is_some_and(|e| e <= now) {
            return Ok(None);
        }
        if let Some(sid) = &grant.session_id {
            let live = session::Entity::find_by_id(sid.as_str())
                .filter(session::Column::EndedAt.is_null())
                .one(&self.db)
                .await?;
            if live.is_none() {
                return Ok(None);
            }
        }
        let user = match &grant.user_id {
            Some(id) => match user::Entity::find_by_id(id.as_str()).one(&self.db).await? {
                Some(u) if !u.disabled => Some(u),
                _ => return Ok(None),
            },
            None => None,
        };
        Ok(Some((grant, user)))
    }
}
