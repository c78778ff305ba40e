use sea_orm::{ActiveModelTrait, EntityTrait, QueryOrder, Set};

use super::entities::client;
use super::{Store, from_json_list, to_json_list};
use crate::keys::Alg;
use crate::oauth::client::Client;
use crate::oauth::client::{AuthMethod, GrantType};

/// A client to register; the caller has generated (and will show once) its secret.
pub struct NewClient {
    pub id: String,
    pub name: String,
    pub secret_hash: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub auth_method: AuthMethod,
    pub grant_types: Vec<GrantType>,
    pub scopes: Vec<String>,
    pub id_token_alg: Alg,
    pub audience: Option<String>,
    pub access_token_ttl: Option<i64>,
    pub id_token_ttl: Option<i64>,
    pub refresh_token_ttl: Option<i64>,
    pub backchannel_logout_uri: Option<String>,
}

impl Store {
    pub async fn create_client(&self, new: NewClient, now: i64) -> Result<Client, sea_orm::DbErr> {
        let grants: Vec<String> = new.grant_types.iter().map(|g| g.to_string()).collect();
        let model = client::ActiveModel {
            id: Set(new.id),
            name: Set(new.name),
            secret_hash: Set(new.secret_hash),
            redirect_uris: Set(to_json_list(&new.redirect_uris)),
            post_logout_redirect_uris: Set(to_json_list(&new.post_logout_redirect_uris)),
            auth_method: Set(new.auth_method.to_string()),
            grant_types: Set(to_json_list(&grants)),
            scopes: Set(to_json_list(&new.scopes)),
            id_token_alg: Set(new.id_token_alg.to_string()),
            created_at: Set(now),
            audience: Set(new.audience),
            access_token_ttl: Set(new.access_token_ttl),
            id_token_ttl: Set(new.id_token_ttl),
            refresh_token_ttl: Set(new.refresh_token_ttl),
            backchannel_logout_uri: Set(new.backchannel_logout_uri),
        }
        .insert(&self.db)
        .await?;
        Ok(to_client(model))
    }

    pub async fn find_client(&self, id: &str) -> Result<Option<Client>, sea_orm::DbErr> {
        Ok(client::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .map(to_client))
    }

    pub async fn list_clients(&self) -> Result<Vec<Client>, sea_orm::DbErr> {
        let rows = client::Entity::find()
            .order_by_asc(client::Column::CreatedAt)
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(to_client).collect())
    }

    pub async fn delete_client(&self, id: &str) -> Result<bool, sea_orm::DbErr> {
        let result = client::Entity::delete_by_id(id).exec(&self.db).await?;
        Ok(result.rows_affected > 0)
    }
}

/// Rows are only written by `create_client`, so unknown values mean a hand-edited row: such a
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
        backchannel_logout_uri: row.backchannel_logout_uri,
    }
}
