//! A security profile a client is held to (`clients.profile`; NULL for none, `fapi2` for the
//! FAPI 2.0 Security Profile).

use sea_orm_migration::{prelude::*, schema::*};

use crate::columns;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Clients {
    Table,
    Profile,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        columns::add(m, Clients::Table, string_null(Clients::Profile)).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        columns::drop(m, Clients::Table, Clients::Profile).await
    }
}
