//! Who may introspect what (RFC 7662 §4): a client sees the tokens issued to it or meant for
//! it, and every token only with `clients.introspect_any`, an operator's explicit grant.

use sea_orm_migration::{prelude::*, schema::*};

use crate::columns;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Clients {
    Table,
    IntrospectAny,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        columns::add(
            m,
            Clients::Table,
            boolean(Clients::IntrospectAny).default(false),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        columns::drop(m, Clients::Table, Clients::IntrospectAny).await
    }
}
