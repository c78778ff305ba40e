//! Pushed authorization requests (RFC 9126): the validated parameters a client pushed, under the
//! hash of the request_uri handed back, used once before they expire; and clients that must push
//! theirs (`clients.require_par`).

use sea_orm_migration::{prelude::*, schema::*};

use crate::columns;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Clients {
    Table,
    RequirePar,
}

#[derive(DeriveIden)]
enum PushedRequests {
    Table,
    Id,
    ClientId,
    Params,
    ExpiresAt,
    UsedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let require = boolean(Clients::RequirePar).default(false).to_owned();
        columns::add(m, Clients::Table, require).await?;
        m.create_table(
            Table::create()
                .table(PushedRequests::Table)
                .col(string(PushedRequests::Id).primary_key())
                .col(string(PushedRequests::ClientId))
                .col(text(PushedRequests::Params))
                .col(big_integer(PushedRequests::ExpiresAt))
                .col(big_integer_null(PushedRequests::UsedAt))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(PushedRequests::Table).to_owned())
            .await?;
        columns::drop(m, Clients::Table, Clients::RequirePar).await
    }
}
