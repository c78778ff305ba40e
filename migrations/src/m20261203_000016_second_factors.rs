//! Second factors: a user's authenticator app (`totp_factors`: the TOTP secret sealed under the
//! master key, when it was confirmed, and the last time step used, so a code works once), the
//! single-use recovery codes (`recovery_codes`, stored hashed), and clients whose users must
//! use a second factor (`clients.require_mfa`).

use sea_orm_migration::{prelude::*, schema::*};

use crate::columns;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Clients {
    Table,
    RequireMfa,
}

#[derive(DeriveIden)]
enum TotpFactors {
    Table,
    UserId,
    SecretSealed,
    ConfirmedAt,
    LastStep,
    CreatedAt,
}

#[derive(DeriveIden)]
enum RecoveryCodes {
    Table,
    UserId,
    CodeHash,
    CreatedAt,
    UsedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let require = boolean(Clients::RequireMfa).default(false).to_owned();
        columns::add(m, Clients::Table, require).await?;
        m.create_table(
            Table::create()
                .table(TotpFactors::Table)
                .col(string(TotpFactors::UserId).primary_key())
                .col(text(TotpFactors::SecretSealed))
                .col(big_integer_null(TotpFactors::ConfirmedAt))
                .col(big_integer_null(TotpFactors::LastStep))
                .col(big_integer(TotpFactors::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(RecoveryCodes::Table)
                .col(string(RecoveryCodes::UserId))
                .col(string(RecoveryCodes::CodeHash))
                .col(big_integer(RecoveryCodes::CreatedAt))
                .col(big_integer_null(RecoveryCodes::UsedAt))
                .primary_key(
                    Index::create()
                        .col(RecoveryCodes::UserId)
                        .col(RecoveryCodes::CodeHash),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(RecoveryCodes::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(TotpFactors::Table).to_owned())
            .await?;
        columns::drop(m, Clients::Table, Clients::RequireMfa).await
    }
}
