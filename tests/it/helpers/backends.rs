//! Every flow runs on SQLite and on PostgreSQL: the backend of the running test and a fresh
//! database on it.

use std::cell::Cell;

/// The database a test's servers use; each test sets it (see `on_both_backends!`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

thread_local! {
    static BACKEND: Cell<Backend> = const { Cell::new(Backend::Sqlite) };
}

pub fn use_backend(backend: Backend) {
    BACKEND.with(|b| b.set(backend));
}

pub fn backend() -> Backend {
    BACKEND.with(|b| b.get())
}

/// The PostgreSQL server tests use (`.ci/run` makes sure one runs there).
pub fn postgres_admin_url() -> String {
    std::env::var("TESSERA_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A fresh database: a SQLite file in `dir`, or a new PostgreSQL database.
pub async fn database_url(dir: &std::path::Path) -> String {
    match backend() {
        Backend::Sqlite => format!("sqlite://{}?mode=rwc", dir.join("tessera.db").display()),
        Backend::Postgres => {
            use sea_orm::ConnectionTrait;
            let admin_url = postgres_admin_url();
            let name = format!(
                "tessera_it_{}",
                tessera::secret::random_id()
                    .to_lowercase()
                    .replace(['-', '_'], "x")
            );
            let admin = sea_orm::Database::connect(admin_url.as_str())
                .await
                .unwrap_or_else(|e| {
                    panic!("PostgreSQL at {admin_url} is needed for this test: {e}")
                });
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .unwrap();
            admin.close().await.unwrap();
            let base = admin_url
                .rsplit_once('/')
                .map_or(admin_url.as_str(), |(b, _)| b)
                .to_owned();
            format!("{base}/{name}")
        }
    }
}

/// Runs a test once on SQLite and once on PostgreSQL: `mod name { fn sqlite(); fn postgres(); }`.
#[macro_export]
macro_rules! on_both_backends {
    ($(#[$meta:meta])* async fn $name:ident() $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            $(#[$meta])*
            async fn run() $body

            #[actix_web::test]
            async fn sqlite() {
                $crate::helpers::use_backend($crate::helpers::Backend::Sqlite);
                run().await
            }

            #[actix_web::test]
            async fn postgres() {
                $crate::helpers::use_backend($crate::helpers::Backend::Postgres);
                run().await
            }
        }
    };
}
