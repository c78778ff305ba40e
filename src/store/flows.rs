//! The state of authorization flows: interactions (a pending /authorize), consents, grants
//! and authorization codes.

use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QuerySelect, Set};

use super::Unique;
use super::entities::{auth_code, consent, grant, interaction};
use super::{Store, from_json_list, to_json_list};
use crate::core::error::StoreError;
use crate::core::model::{AuthCode, Grant, Interaction, RefreshToken};
use crate::core::ports::{CodeRepo, ConsentRepo, GrantRepo, InteractionRepo};
use crate::core::scope::Scope;

impl InteractionRepo for Store {
    async fn insert_interaction(&self, i: &Interaction) -> Result<(), StoreError> {
        interaction::ActiveModel {
            id: Set(i.id.clone()),
            client_id: Set(i.client_id.clone()),
            request: Set(i.request.clone()),
            session_id: Set(i.session_id.clone()),
            created_at: Set(i.created_at),
            expires_at: Set(i.expires_at),
            completed_at: Set(i.completed_at),
        }
        .insert(&self.writer)
        .await?;
        Ok(())
    }

    async fn pending_interaction(
        &self,
        id: &str,
        now: i64,
    ) -> Result<Option<Interaction>, StoreError> {
        let row = interaction::Entity::find_by_id(id)
            .filter(interaction::Column::CompletedAt.is_null())
            .filter(interaction::Column::ExpiresAt.gt(now))
            .unique(&self.db)
            .await?;
        Ok(row.map(|r| Interaction {
            id: r.id,
            client_id: r.client_id,
            request: r.request,
            session_id: r.session_id,
            created_at: r.created_at,
            expires_at: r.expires_at,
            completed_at: r.completed_at,
        }))
    }

    async fn set_interaction_session(&self, id: &str, session_id: &str) -> Result<(), StoreError> {
        interaction::Entity::update_many()
            .col_expr(interaction::Column::SessionId, Expr::value(session_id))
            .filter(interaction::Column::Id.eq(id))
            .exec(&self.writer)
            .await?;
        Ok(())
    }

    async fn complete_interaction(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        let result = interaction::Entity::update_many()
            .col_expr(interaction::Column::CompletedAt, Expr::value(now))
            .filter(interaction::Column::Id.eq(id))
            .filter(interaction::Column::CompletedAt.is_null())
            .exec(&self.writer)
            .await?;
        Ok(result.rows_affected == 1)
    }
}

impl ConsentRepo for Store {
    async fn consented_scopes(
        &self,
        user_id: &str,
        client_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        let row = consent::Entity::find_by_id((user_id.to_owned(), client_id.to_owned()))
            .unique(&self.db)
            .await?;
        Ok(row.map(|r| from_json_list(&r.scopes)).unwrap_or_default())
    }

    async fn save_consent(
        &self,
        user_id: &str,
        client_id: &str,
        scopes: &[String],
        now: i64,
    ) -> Result<(), StoreError> {
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
            .exec(&self.writer)
            .await?;
        Ok(())
    }
}

impl GrantRepo for Store {
    async fn find_grant(&self, id: &str) -> Result<Option<Grant>, StoreError> {
        let row = grant::Entity::find_by_id(id).unique(&self.db).await?;
        Ok(row.map(|r| Grant {
            id: r.id,
            user_id: r.user_id,
            client_id: r.client_id,
            session_id: r.session_id,
            // Written only from a parsed Scope; a hand-edited row grants nothing.
            scope: Scope::parse(&r.scope).unwrap_or_default(),
            auth_time: r.auth_time,
            created_at: r.created_at,
            revoked_at: r.revoked_at,
            expires_at: r.expires_at,
            resource: r.resource,
        }))
    }

    async fn revoke_grant(&self, id: &str, now: i64) -> Result<(), StoreError> {
        grant::Entity::update_many()
            .col_expr(grant::Column::RevokedAt, Expr::value(now))
            .filter(grant::Column::Id.eq(id))
            .filter(grant::Column::RevokedAt.is_null())
            .exec(&self.writer)
            .await?;
        Ok(())
    }

    async fn revoke_session_grants(&self, session_id: &str, now: i64) -> Result<(), StoreError> {
        grant::Entity::update_many()
            .col_expr(grant::Column::RevokedAt, Expr::value(now))
            .filter(grant::Column::SessionId.eq(session_id))
            .filter(grant::Column::RevokedAt.is_null())
            .exec(&self.writer)
            .await?;
        Ok(())
    }

    async fn session_client_ids(&self, session_id: &str) -> Result<Vec<String>, StoreError> {
        let mut ids: Vec<String> = grant::Entity::find()
            .select_only()
            .column(grant::Column::ClientId)
            .filter(grant::Column::SessionId.eq(session_id))
            .into_tuple()
            .all(&self.db)
            .await?;
        ids.sort();
        ids.dedup();
        Ok(ids)
    }
}

impl CodeRepo for Store {
    async fn insert_grant_and_code(&self, g: &Grant, c: &AuthCode) -> Result<(), StoreError> {
        let inserted = super::with_retry(|| {
            let (grant, code) = (grant_row(g), code_row(c));
            self.writes.transaction(move |txn| {
                Box::pin(async move {
                    grant.insert(txn).await?;
                    code.insert(txn).await?;
                    Ok(())
                })
            })
        })
        .await;
        Ok(inserted?)
    }

    async fn find_code(&self, code_hash: &str) -> Result<Option<AuthCode>, StoreError> {
        let row = auth_code::Entity::find_by_id(code_hash)
            .unique(&self.db)
            .await?;
        Ok(row.map(|r| AuthCode {
            code_hash: r.code_hash,
            grant_id: r.grant_id,
            client_id: r.client_id,
            redirect_uri: r.redirect_uri,
            nonce: r.nonce,
            code_challenge: r.code_challenge,
            created_at: r.created_at,
            expires_at: r.expires_at,
            used_at: r.used_at,
            dpop_jkt: r.dpop_jkt,
        }))
    }

    async fn claim_code(
        &self,
        code_hash: &str,
        now: i64,
        first_refresh_token: Option<&RefreshToken>,
    ) -> Result<bool, StoreError> {
        let claimed = super::with_retry(|| {
            let code_hash = code_hash.to_owned();
            let token = first_refresh_token.cloned();
            self.writes.transaction(move |txn| {
                Box::pin(async move {
                    let claimed = auth_code::Entity::update_many()
                        .col_expr(auth_code::Column::UsedAt, Expr::value(now))
                        .filter(auth_code::Column::CodeHash.eq(code_hash))
                        .filter(auth_code::Column::UsedAt.is_null())
                        .exec(txn)
                        .await?;
                    // Not claimed: nothing was written, so there is nothing to undo.
                    if claimed.rows_affected != 1 {
                        return Ok(false);
                    }
                    if let Some(token) = &token {
                        super::tokens::insert_refresh(txn, token).await?;
                    }
                    Ok(true)
                })
            })
        })
        .await;
        Ok(claimed?)
    }
}

fn grant_row(g: &Grant) -> grant::ActiveModel {
    grant::ActiveModel {
        id: Set(g.id.clone()),
        user_id: Set(g.user_id.clone()),
        client_id: Set(g.client_id.clone()),
        session_id: Set(g.session_id.clone()),
        scope: Set(g.scope.to_string()),
        auth_time: Set(g.auth_time),
        created_at: Set(g.created_at),
        revoked_at: Set(g.revoked_at),
        expires_at: Set(g.expires_at),
        resource: Set(g.resource.clone()),
    }
}

fn code_row(c: &AuthCode) -> auth_code::ActiveModel {
    auth_code::ActiveModel {
        code_hash: Set(c.code_hash.clone()),
        grant_id: Set(c.grant_id.clone()),
        client_id: Set(c.client_id.clone()),
        redirect_uri: Set(c.redirect_uri.clone()),
        nonce: Set(c.nonce.clone()),
        code_challenge: Set(c.code_challenge.clone()),
        created_at: Set(c.created_at),
        expires_at: Set(c.expires_at),
        used_at: Set(c.used_at),
        dpop_jkt: Set(c.dpop_jkt.clone()),
    }
}
