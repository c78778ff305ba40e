//! Strict refresh-token reuse detection with an opt-in grace measured precisely:
//! `refresh_tokens.rotated_at` (whole seconds) becomes `rotated_at_ms` (Unix milliseconds),
//! and a client may register its own grace (`clients.refresh_reuse_grace`, seconds; NULL
//! follows the global setting).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    RotatedAt,
    RotatedAtMs,
}

#[derive(DeriveIden)]
enum Clients {
    Table,
    RefreshReuseGrace,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let tokens = || Table::alter().table(RefreshTokens::Table).to_owned();
        m.alter_table(
            tokens()
                .add_column(big_integer_null(RefreshTokens::RotatedAtMs))
                .to_owned(),
        )
        .await?;
        m.get_connection()
            .execute_unprepared("UPDATE refresh_tokens SET rotated_at_ms = rotated_at * 1000")
            .await?;
        m.alter_table(tokens().drop_column(RefreshTokens::RotatedAt).to_owned())
            .await?;
        m.alter_table(
            Table::alter()
                .table(Clients::Table)
                .add_column(big_integer_null(Clients::RefreshReuseGrace))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let tokens = || Table::alter().table(RefreshTokens::Table).to_owned();
        m.alter_table(
            tokens()
                .add_column(big_integer_null(RefreshTokens::RotatedAt))
                .to_owned(),
        )
        .await?;
        m.get_connection()
            .execute_unprepared("UPDATE refresh_tokens SET rotated_at = rotated_at_ms / 1000")
            .await?;
        m.alter_table(tokens().drop_column(RefreshTokens::RotatedAtMs).to_owned())
            .await?;
        m.alter_table(
            Table::alter()
                .table(Clients::Table)
                .drop_column(Clients::RefreshReuseGrace)
                .to_owned(),
        )
        .await
    }
}
