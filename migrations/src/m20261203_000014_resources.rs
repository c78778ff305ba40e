//! Resource indicators (RFC 8707): the APIs registered with Tessera (`resources`: the id a
//! `resource` parameter names, which becomes the access token's `aud`, with the algorithm,
//! lifetime and scopes of its tokens and the client that may introspect them), and the
//! resource a grant was authorized for (`grants.resource`).

use sea_orm_migration::{prelude::*, schema::*};

use crate::columns;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Resources {
    Table,
    Id,
    AccessTokenAlg,
    AccessTokenTtl,
    Scopes,
    OwnerClientId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Grants {
    Table,
    Resource,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Resources::Table)
                .col(string(Resources::Id).primary_key())
                .col(string_null(Resources::AccessTokenAlg))
                .col(big_integer_null(Resources::AccessTokenTtl))
                .col(text(Resources::Scopes))
                .col(string_null(Resources::OwnerClientId))
                .col(big_integer(Resources::CreatedAt))
                .to_owned(),
        )
        .await?;
        columns::add(m, Grants::Table, string_null(Grants::Resource)).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        columns::drop(m, Grants::Table, Grants::Resource).await?;
        m.drop_table(Table::drop().table(Resources::Table).to_owned())
            .await
    }
}
