//! Revocations are recorded, not every issued token: `revocations` holds the revoked access
//! tokens (by jti), grants and sessions until nothing they affect can still be valid, and the
//! `issued_tokens` register goes. `cache_versions` counts changes to what replicas cache
//! (clients, users, throttling counters, revocations); triggers bump it in the same
//! transaction as the change, whoever makes it, so each replica notices within its poll.

use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Revocations {
    Table,
    Key,
    Until,
    CreatedAt,
}

#[derive(DeriveIden)]
enum CacheVersions {
    Table,
    Topic,
    Version,
}

#[derive(DeriveIden)]
enum IssuedTokens {
    Table,
    Jti,
    GrantId,
    Kind,
    Kid,
    ExpiresAt,
    RevokedAt,
}

/// (topic, table) pairs: a change to the table bumps the topic's version.
const TOPICS: [(&str, &str); 4] = [
    ("clients", "clients"),
    ("users", "users"),
    ("throttles", "throttles"),
    ("revocations", "revocations"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Revocations::Table)
                .col(string(Revocations::Key).primary_key())
                .col(big_integer(Revocations::Until))
                .col(big_integer(Revocations::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(CacheVersions::Table)
                .col(string(CacheVersions::Topic).primary_key())
                .col(big_integer(CacheVersions::Version))
                .to_owned(),
        )
        .await?;
        let db = m.get_connection();
        for (topic, _) in TOPICS {
            db.execute_unprepared(&format!(
                "INSERT INTO cache_versions (topic, version) VALUES ('{topic}', 0)"
            ))
            .await?;
        }
        let postgres = m.get_database_backend() == DatabaseBackend::Postgres;
        if postgres {
            db.execute_unprepared(
                "CREATE FUNCTION tessera_bump_cache_version() RETURNS trigger AS $$ \
                 BEGIN UPDATE cache_versions SET version = version + 1 WHERE topic = TG_ARGV[0]; \
                 RETURN NULL; END $$ LANGUAGE plpgsql",
            )
            .await?;
        }
        for (topic, table) in TOPICS {
            if postgres {
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER {table}_changed AFTER INSERT OR UPDATE OR DELETE ON {table} \
                     FOR EACH ROW EXECUTE FUNCTION tessera_bump_cache_version('{topic}')"
                ))
                .await?;
            } else {
                for (suffix, event) in [("i", "INSERT"), ("u", "UPDATE"), ("d", "DELETE")] {
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER {table}_changed_{suffix} AFTER {event} ON {table} \
                         BEGIN UPDATE cache_versions SET version = version + 1 \
                         WHERE topic = '{topic}'; END"
                    ))
                    .await?;
                }
            }
        }
        m.drop_table(Table::drop().table(IssuedTokens::Table).to_owned())
            .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        let postgres = m.get_database_backend() == DatabaseBackend::Postgres;
        for (_, table) in TOPICS {
            if postgres {
                db.execute_unprepared(&format!("DROP TRIGGER {table}_changed ON {table}"))
                    .await?;
            } else {
                for suffix in ["i", "u", "d"] {
                    db.execute_unprepared(&format!("DROP TRIGGER {table}_changed_{suffix}"))
                        .await?;
                }
            }
        }
        if postgres {
            db.execute_unprepared("DROP FUNCTION tessera_bump_cache_version()")
                .await?;
        }
        m.drop_table(Table::drop().table(CacheVersions::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(Revocations::Table).to_owned())
            .await?;
        m.create_table(
            Table::create()
                .table(IssuedTokens::Table)
                .col(string(IssuedTokens::Jti).primary_key())
                .col(string(IssuedTokens::GrantId))
                .col(string(IssuedTokens::Kind))
                .col(string(IssuedTokens::Kid))
                .col(big_integer(IssuedTokens::ExpiresAt))
                .col(big_integer_null(IssuedTokens::RevokedAt))
                .to_owned(),
        )
        .await
    }
}
