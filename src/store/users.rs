//! Users.

use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use super::Store;
use super::Unique;
use super::entities::user;
use crate::core::error::StoreError;
use crate::core::model::User;
use crate::core::ports::UserRepo;

impl UserRepo for Store {
    async fn insert_user(&self, u: &User) -> Result<(), StoreError> {
        user::ActiveModel {
            id: Set(u.id.clone()),
            username: Set(u.username.clone()),
            email: Set(u.email.clone()),
            name: Set(u.name.clone()),
            password_hash: Set(u.password_hash.clone()),
            disabled: Set(u.disabled),
            password_changed_at: Set(u.password_changed_at),
            created_at: Set(u.created_at),
        }
        .insert(&self.writer)
        .await?;
        self.forget_user(&u.id);
        Ok(())
    }

    async fn find_user(&self, id: &str) -> Result<Option<User>, StoreError> {
        let load = async {
            Ok(user::Entity::find_by_id(id)
                .unique(&self.db)
                .await?
                .map(to_user))
        };
        self.cached(|c| &c.users, id, load).await
    }

    async fn find_user_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        Ok(user::Entity::find()
            .filter(user::Column::Username.eq(username))
            .unique(&self.db)
            .await?
            .map(to_user))
    }

    async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let rows = user::Entity::find()
            .order_by_asc(user::Column::Username)
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(to_user).collect())
    }

    async fn set_password(&self, user_id: &str, hash: &str, now: i64) -> Result<(), StoreError> {
        user::Entity::update_many()
            .col_expr(user::Column::PasswordHash, Expr::value(hash))
            .col_expr(user::Column::PasswordChangedAt, Expr::value(now))
            .filter(user::Column::Id.eq(user_id))
            .exec(&self.writer)
            .await?;
        self.forget_user(user_id);
        Ok(())
    }

    async fn set_disabled(&self, user_id: &str, disabled: bool) -> Result<(), StoreError> {
        user::Entity::update_many()
            .col_expr(user::Column::Disabled, Expr::value(disabled))
            .filter(user::Column::Id.eq(user_id))
            .exec(&self.writer)
            .await?;
        self.forget_user(user_id);
        Ok(())
    }
}

impl Store {
    fn forget_user(&self, id: &str) {
        if let Some(caches) = &self.caches {
            caches.users.forget(id);
        }
    }
}

fn to_user(row: user::Model) -> User {
    User {
        id: row.id,
        username: row.username,
        email: row.email,
        name: row.name,
        password_hash: row.password_hash,
        disabled: row.disabled,
        password_changed_at: row.password_changed_at,
        created_at: row.created_at,
    }
}
