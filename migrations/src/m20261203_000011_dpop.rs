//! DPoP (RFC 9449): a client may be registered to require proofs (`clients.require_dpop`); an
//! authorization code may be bound to a key by the `dpop_jkt` parameter, and a public client's
//! refresh token is bound to the key of its first proof (`dpop_jkt`, the key's thumbprint).

use sea_orm_migration::{prelude::*, schema::*};

use crate::columns;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Clients {
    Table,
    RequireDpop,
}

#[derive(DeriveIden)]
enum AuthCodes {
    Table,
    DpopJkt,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    DpopJkt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let require = boolean(Clients::RequireDpop).default(false).to_owned();
        columns::add(m, Clients::Table, require).await?;
        columns::add(m, AuthCodes::Table, string_null(AuthCodes::DpopJkt)).await?;
        columns::add(m, RefreshTokens::Table, string_null(RefreshTokens::DpopJkt)).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        columns::drop(m, RefreshTokens::Table, RefreshTokens::DpopJkt).await?;
        columns::drop(m, AuthCodes::Table, AuthCodes::DpopJkt).await?;
        columns::drop(m, Clients::Table, Clients::RequireDpop).await
    }
}
