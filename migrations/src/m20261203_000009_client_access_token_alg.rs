//! A client may have its access tokens signed with another algorithm than the global one
//! (`clients.access_token_alg`; NULL follows the setting), for gateways that verify only RS256.

use sea_orm_migration::{prelude::*, schema::*};

use crate::columns;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Clients {
    Table,
    AccessTokenAlg,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        columns::add(m, Clients::Table, string_null(Clients::AccessTokenAlg)).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        columns::drop(m, Clients::Table, Clients::AccessTokenAlg).await
    }
}
