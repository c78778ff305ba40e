//! `interactions.login_at` was written but never read: the interaction's session says who
//! signed in, and the session's auth_time says when.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Interactions {
    Table,
    LoginAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Interactions::Table)
                .drop_column(Interactions::LoginAt)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Interactions::Table)
                .add_column(big_integer_null(Interactions::LoginAt))
                .to_owned(),
        )
        .await
    }
}
