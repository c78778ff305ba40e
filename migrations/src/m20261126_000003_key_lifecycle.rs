//! Signing-key lifecycle by time: a key is next, current or retired according to its
//! activation time and its successor's, so every replica derives the same states. A unique
//! (alg, generation) lets exactly one replica create each new key.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SigningKeys {
    Table,
    State,
    RetiredAt,
    Generation,
    RevokedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for column in [SigningKeys::State, SigningKeys::RetiredAt] {
            m.alter_table(
                Table::alter()
                    .table(SigningKeys::Table)
                    .drop_column(column)
                    .to_owned(),
            )
            .await?;
        }
        let columns = [
            big_integer(SigningKeys::Generation).default(0).to_owned(),
            big_integer_null(SigningKeys::RevokedAt),
        ];
        for column in columns {
            m.alter_table(
                Table::alter()
                    .table(SigningKeys::Table)
                    .add_column(column)
                    .to_owned(),
            )
            .await?;
        }
        m.create_index(
            Index::create()
                .name("idx_signing_keys_generation")
                .table(SigningKeys::Table)
                .col(Alias::new("alg"))
                .col(SigningKeys::Generation)
                .unique()
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("idx_signing_keys_generation")
                .table(SigningKeys::Table)
                .to_owned(),
        )
        .await?;
        for column in [SigningKeys::Generation, SigningKeys::RevokedAt] {
            m.alter_table(
                Table::alter()
                    .table(SigningKeys::Table)
                    .drop_column(column)
                    .to_owned(),
            )
            .await?;
        }
        let columns = [
            string(SigningKeys::State).default("current").to_owned(),
            big_integer_null(SigningKeys::RetiredAt),
        ];
        for column in columns {
            m.alter_table(
                Table::alter()
                    .table(SigningKeys::Table)
                    .add_column(column)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
