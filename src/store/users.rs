use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, Set};

use super::entities::user;
use super::{Store, User};
use crate::secret::random_id;

impl Store {
    pub async fn create_user(
        &self,
        username: &str,
        email: Option<String>,
        name: Option<String>,
        password_hash: String,
        now: i64,
    ) -> Result<User, DbErr> {
        user::ActiveModel {
            id: Set(random_id()),
            username: Set(username.to_owned()),
            email: Set(email),
            name: Set(name),
            password_hash: Set(password_hash),
            disabled: Set(false),
            password_changed_at: Set(now),
            created_at: Set(now),
        }
        .insert(&self.db)
        .await
    }

    pub async fn find_user(&self, id: &str) -> Result<Option<User>, DbErr> {
        user::Entity::find_by_id(id).one(&self.db).await
    }

    pub async fn find_user_by_username(&self, username: &str) -> Result<Option<User>, DbErr> {
        user::Entity::find()
            .filter(user::Column::Username.eq(username))
            .one(&self.db)
            .await
    }

    pub async fn list_users(&self) -> Result<Vec<User>, DbErr> {
        user::Entity::find()
            .order_by_asc(user::Column::Username)
            .all(&self.db)
            .await
    }

    /// Returns false when no such user exists.
    pub async fn set_password(
        &self,
        username: &str,
        hash: String,
        now: i64,
    ) -> Result<bool, DbErr> {
        let result = user::Entity::update_many()
            .col_expr(user::Column::PasswordHash, Expr::value(hash))
            .col_expr(user::Column::PasswordChangedAt, Expr::value(now))
            .filter(user::Column::Username.eq(username))
            .exec(&self.db)
            .await?;
        Ok(result.rows_affected > 0)
    }

    pub async fn set_disabled(&self, username: &str, disabled: bool) -> Result<bool, DbErr> {
        let result = user::Entity::update_many()
            .col_expr(user::Column::Disabled, Expr::value(disabled))
            .filter(user::Column::Username.eq(username))
            .exec(&self.db)
            .await?;
        Ok(result.rows_affected > 0)
    }
}
