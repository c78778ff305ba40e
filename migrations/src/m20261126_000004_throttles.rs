//! Failed-attempt counters for login and client-authentication throttling, shared by replicas.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Throttles {
    Table,
    Key,
    Failures,
    WindowStart,
    LockedUntil,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Throttles::Table)
                .col(string(Throttles::Key).primary_key())
                .col(big_integer(Throttles::Failures))
                .col(big_integer(Throttles::WindowStart))
                .col(big_integer_null(Throttles::LockedUntil))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Throttles::Table).to_owned())
            .await
    }
}
