//! Tessera's schema. Every change is a new migration; the same migrations build the same
//! schema on SQLite and PostgreSQL. Times are Unix seconds (BIGINT) on both,
//! except columns named `…_ms` (Unix milliseconds).

pub use sea_orm_migration::prelude::*;

mod columns;
mod m20261126_000001_init;
mod m20261126_000002_token_lifecycle;
mod m20261126_000003_key_lifecycle;
mod m20261126_000004_throttles;
mod m20261203_000005_drop_interaction_login_at;
mod m20261203_000006_revocations;
mod m20261203_000007_refresh_reuse;
mod m20261203_000008_introspect_any;
mod m20261203_000009_client_access_token_alg;
mod m20261203_000010_client_assertions;
mod m20261203_000011_dpop;
mod m20261203_000012_pushed_requests;
mod m20261203_000013_client_profile;
mod m20261203_000014_resources;
mod m20261203_000015_client_secret_jwt;
mod m20261203_000016_second_factors;
mod m20261203_000017_passkeys;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_init::Migration),
            Box::new(m20261126_000002_token_lifecycle::Migration),
            Box::new(m20261126_000003_key_lifecycle::Migration),
            Box::new(m20261126_000004_throttles::Migration),
            Box::new(m20261203_000005_drop_interaction_login_at::Migration),
            Box::new(m20261203_000006_revocations::Migration),
            Box::new(m20261203_000007_refresh_reuse::Migration),
            Box::new(m20261203_000008_introspect_any::Migration),
            Box::new(m20261203_000009_client_access_token_alg::Migration),
            Box::new(m20261203_000010_client_assertions::Migration),
            Box::new(m20261203_000011_dpop::Migration),
            Box::new(m20261203_000012_pushed_requests::Migration),
            Box::new(m20261203_000013_client_profile::Migration),
            Box::new(m20261203_000014_resources::Migration),
            Box::new(m20261203_000015_client_secret_jwt::Migration),
            Box::new(m20261203_000016_second_factors::Migration),
            Box::new(m20261203_000017_passkeys::Migration),
        ]
    }
}
