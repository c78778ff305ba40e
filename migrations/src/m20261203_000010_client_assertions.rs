//! private_key_jwt (RFC 7523 §2.2): a client's registered public keys (`clients.jwks`, a JWK
//! Set document, or `clients.jwks_uri`), and the assertions already used, kept until they
//! expire so a replayed one is refused (`client_assertions`, keyed by a hash of client and jti).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Clients {
    Table,
    Jwks,
    JwksUri,
}

#[derive(DeriveIden)]
enum ClientAssertions {
    Table,
    Id,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let clients = || Table::alter().table(Clients::Table).to_owned();
        m.alter_table(clients().add_column(text_null(Clients::Jwks)).to_owned())
            .await?;
        m.alter_table(
            clients()
                .add_column(string_null(Clients::JwksUri))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ClientAssertions::Table)
                .col(string(ClientAssertions::Id).primary_key())
                .col(big_integer(ClientAssertions::ExpiresAt))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(ClientAssertions::Table).to_owned())
            .await?;
        let clients = || Table::alter().table(Clients::Table).to_owned();
        m.alter_table(clients().drop_column(Clients::JwksUri).to_owned())
            .await?;
        m.alter_table(clients().drop_column(Clients::Jwks).to_owned())
            .await
    }
}
