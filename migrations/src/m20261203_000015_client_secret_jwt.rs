//! client_secret_jwt (RFC 7523 §2.2 with HMAC, OIDC Core §9): Tessera must hold the secret
//! itself to check an HMAC, so such a client's secret is also kept sealed under the master key
//! (`clients.secret_sealed`, AES-256-GCM, like the signing keys), never in the clear.

use sea_orm_migration::{prelude::*, schema::*};

use crate::columns;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Clients {
    Table,
    SecretSealed,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        columns::add(m, Clients::Table, text_null(Clients::SecretSealed)).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        columns::drop(m, Clients::Table, Clients::SecretSealed).await
    }
}
