//! Registered clients.

use sea_orm::{ActiveModelTrait, EntityTrait, QueryOrder, Set};

use super::Unique;
use super::entities::client;
use super::{Store, from_json_list, to_json_list};
use crate::core::error::StoreError;
use crate::core::model::{AuthMethod, Client};
use crate::core::ports::ClientRepo;
use crate::keys::Alg;

impl ClientRepo for Store {
    async fn insert_client(&self, c: &Client) -> Result<(), StoreError> {
        let grants: Vec<String> = c.grant_types.iter().map(|g| g.to_string()).collect();
        client::ActiveModel {
            id: Set(c.id.clone()),
            name: Set(c.name.clone()),
            secret_hash: Set(c.secret_hash.clone()),
            redirect_uris: Set(to_json_list(&c.redirect_uris)),
            post_logout_redirect_uris: Set(to_json_list(&c.post_logout_redirect_uris)),
            auth_method: Set(c.auth_method.to_string()),
            grant_types: Set(to_json_list(&grants)),
            scopes: Set(to_json_list(&c.scopes)),
            id_token_alg: Set(c.id_token_alg.to_string()),
            access_token_alg: Set(c.access_token_alg.map(|a| a.to_string())),
            created_at: Set(c.created_at),
            audience: Set(c.audience.clone()),
            access_token_ttl: Set(c.access_token_ttl),
            id_token_ttl: Set(c.id_token_ttl),
            refresh_token_ttl: Set(c.refresh_token_ttl),
            refresh_reuse_grace: Set(c.refresh_reuse_grace),
            backchannel_logout_uri: Set(c.backchannel_logout_uri.clone()),
            introspect_any: Set(c.introspect_any),
            jwks: Set(c.jwks.clone()),
            jwks_uri: Set(c.jwks_uri.clone()),
            require_dpop: Set(c.require_dpop),
            require_par: Set(c.require_par),
            require_mfa: Set(c.require_mfa),
            profile: Set(c.profile.map(|p| p.to_string())),
            secret_sealed: Set(c.secret_sealed.clone()),
        }
        .insert(&self.writer)
        .await?;
        self.forget_clients();
        Ok(())
    }

    async fn find_client(&self, id: &str) -> Result<Option<Client>, StoreError> {
        let load = async {
            Ok(client::Entity::find_by_id(id)
                .unique(&self.db)
                .await?
                .map(to_client))
        };
        self.cached(|c| &c.clients, id, load).await
    }

    async fn list_clients(&self) -> Result<Vec<Client>, StoreError> {
        let load = async {
            let rows = client::Entity::find()
                .order_by_asc(client::Column::CreatedAt)
                .all(&self.db)
                .await?;
            Ok(std::sync::Arc::new(
                rows.into_iter().map(to_client).collect::<Vec<_>>(),
            ))
        };
        let clients = self.cached(|c| &c.client_list, "", load).await?;
        Ok(clients.as_ref().clone())
    }

    async fn delete_client(&self, id: &str) -> Result<bool, StoreError> {
        let result = client::Entity::delete_by_id(id).exec(&self.writer).await?;
        self.forget_clients();
        Ok(result.rows_affected > 0)
    }
}

impl Store {
    pub(super) fn forget_clients(&self) {
        if let Some(caches) = &self.caches {
            caches.clients.clear();
            caches.client_list.clear();
        }
    }
}

/// Rows are only written by `insert_client`, so unknown values mean a hand-edited row: such a
/// row loses the unknown entries rather than gaining powers.
fn to_client(row: client::Model) -> Client {
    Client {
        auth_method: row
            .auth_method
            .parse()
            .unwrap_or(AuthMethod::ClientSecretBasic),
        grant_types: from_json_list(&row.grant_types)
            .iter()
            .filter_map(|g| g.parse().ok())
            .collect(),
        id_token_alg: row.id_token_alg.parse().unwrap_or(Alg::RS256),
        access_token_alg: row.access_token_alg.and_then(|a| a.parse().ok()),
        redirect_uris: from_json_list(&row.redirect_uris),
        post_logout_redirect_uris: from_json_list(&row.post_logout_redirect_uris),
        scopes: from_json_list(&row.scopes),
        id: row.id,
        name: row.name,
        secret_hash: row.secret_hash,
        created_at: row.created_at,
        audience: row.audience,
        access_token_ttl: row.access_token_ttl,
        id_token_ttl: row.id_token_ttl,
        refresh_token_ttl: row.refresh_token_ttl,
        refresh_reuse_grace: row.refresh_reuse_grace,
        backchannel_logout_uri: row.backchannel_logout_uri,
        introspect_any: row.introspect_any,
        jwks: row.jwks,
        jwks_uri: row.jwks_uri,
        require_dpop: row.require_dpop,
        require_par: row.require_par,
        require_mfa: row.require_mfa,
        profile: row.profile.and_then(|p| p.parse().ok()),
        secret_sealed: row.secret_sealed,
    }
}
