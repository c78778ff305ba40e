//! Refresh tokens, per-client token settings, absolute grant lifetimes, back-channel logout.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Clients {
    Table,
    Audience,
    AccessTokenTtl,
    IdTokenTtl,
    RefreshTokenTtl,
    BackchannelLogoutUri,
}

#[derive(DeriveIden)]
enum Grants {
    Table,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    TokenHash,
    GrantId,
    CreatedAt,
    ExpiresAt,
    RotatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite alters one column per statement.
        let client_columns = [
            string_null(Clients::Audience),
            big_integer_null(Clients::AccessTokenTtl),
            big_integer_null(Clients::IdTokenTtl),
            big_integer_null(Clients::RefreshTokenTtl),
            text_null(Clients::BackchannelLogoutUri),
        ];
        for column in client_columns {
            m.alter_table(
                Table::alter()
                    .table(Clients::Table)
                    .add_column(column)
                    .to_owned(),
            )
            .await?;
        }
        m.alter_table(
            Table::alter()
                .table(Grants::Table)
                .add_column(big_integer_null(Grants::ExpiresAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(RefreshTokens::Table)
                .col(string(RefreshTokens::TokenHash).primary_key())
                .col(string(RefreshTokens::GrantId))
                .col(big_integer(RefreshTokens::CreatedAt))
                .col(big_integer(RefreshTokens::ExpiresAt))
                .col(big_integer_null(RefreshTokens::RotatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_refresh_tokens_grant")
                .table(RefreshTokens::Table)
                .col(RefreshTokens::GrantId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(RefreshTokens::Table).to_owned())
            .await?;
        m.alter_table(
            Table::alter()
                .table(Grants::Table)
                .drop_column(Grants::ExpiresAt)
                .to_owned(),
        )
        .await?;
        for column in [
            Clients::Audience,
            Clients::AccessTokenTtl,
            Clients::IdTokenTtl,
            Clients::RefreshTokenTtl,
            Clients::BackchannelLogoutUri,
        ] {
            m.alter_table(
                Table::alter()
                    .table(Clients::Table)
                    .drop_column(column)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
