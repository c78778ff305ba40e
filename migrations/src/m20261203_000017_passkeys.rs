//! Passkeys (WebAuthn credentials): one row per credential a user registered, with its name,
//! the credential as the WebAuthn crate keeps it (public key, signature counter, backup
//! flags: JSON), whether it is backed up (synced), and when it was last used. A credential
//! id is registered once, to one account.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Passkeys {
    Table,
    Id,
    UserId,
    Name,
    CredentialId,
    Credential,
    BackupEligible,
    CreatedAt,
    LastUsedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Passkeys::Table)
                .col(string(Passkeys::Id).primary_key())
                .col(string(Passkeys::UserId))
                .col(string(Passkeys::Name))
                .col(text(Passkeys::CredentialId).unique_key())
                .col(text(Passkeys::Credential))
                .col(boolean(Passkeys::BackupEligible))
                .col(big_integer(Passkeys::CreatedAt))
                .col(big_integer_null(Passkeys::LastUsedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("passkeys_user")
                .table(Passkeys::Table)
                .col(Passkeys::UserId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Passkeys::Table).to_owned())
            .await
    }
}
