//! The APIs registered as resources (RFC 8707).

use sea_orm::{ActiveModelTrait, EntityTrait, QueryOrder, Set};

use super::entities::resource;
use super::{Store, Unique, from_json_list, to_json_list};
use crate::core::error::StoreError;
use crate::core::model::Resource;
use crate::core::ports::ResourceRepo;

impl ResourceRepo for Store {
    async fn insert_resource(&self, r: &Resource) -> Result<(), StoreError> {
        resource::ActiveModel {
            id: Set(r.id.clone()),
            access_token_alg: Set(r.access_token_alg.map(|a| a.to_string())),
            access_token_ttl: Set(r.access_token_ttl),
            scopes: Set(to_json_list(&r.scopes)),
            owner_client_id: Set(r.owner_client_id.clone()),
            created_at: Set(r.created_at),
        }
        .insert(&self.writer)
        .await?;
        Ok(())
    }

    async fn find_resource(&self, id: &str) -> Result<Option<Resource>, StoreError> {
        let row = resource::Entity::find_by_id(id).unique(&self.db).await?;
        Ok(row.map(to_resource))
    }

    async fn list_resources(&self) -> Result<Vec<Resource>, StoreError> {
        let rows = resource::Entity::find()
            .order_by_asc(resource::Column::Id)
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(to_resource).collect())
    }

    async fn delete_resource(&self, id: &str) -> Result<bool, StoreError> {
        let result = resource::Entity::delete_by_id(id)
            .exec(&self.writer)
            .await?;
        Ok(result.rows_affected == 1)
    }
}

fn to_resource(row: resource::Model) -> Resource {
    Resource {
        id: row.id,
        access_token_alg: row.access_token_alg.and_then(|a| a.parse().ok()),
        access_token_ttl: row.access_token_ttl,
        scopes: from_json_list(&row.scopes),
        owner_client_id: row.owner_client_id,
        created_at: row.created_at,
    }
}
