//! The same migrations build the same schema on SQLite and PostgreSQL.

use std::collections::BTreeSet;

use sea_orm::{ConnectionTrait, Database, Statement};

use crate::helpers::{Backend, database_url, use_backend};

type Columns = BTreeSet<(String, String, bool)>;

async fn columns(url: &str) -> (Columns, BTreeSet<String>) {
    let store = tessera::store::Store::connect(url, &Default::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let db = Database::connect(url).await.unwrap();
    let backend = db.get_database_backend();
    let query = |sql: &str| Statement::from_string(backend, sql.to_owned());
    let mut columns = Columns::new();
    let mut indexes = BTreeSet::new();
    if url.starts_with("sqlite") {
        let tables = db
            .query_all_raw(query(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            ))
            .await
            .unwrap();
        for row in tables {
            let table: String = row.try_get("", "name").unwrap();
            for col in db
                .query_all_raw(query(&format!("PRAGMA table_info({table})")))
                .await
                .unwrap()
            {
                let name: String = col.try_get("", "name").unwrap();
                let notnull: i32 = col.try_get("", "notnull").unwrap();
                let pk: i32 = col.try_get("", "pk").unwrap();
                columns.insert((table.clone(), name, notnull == 0 && pk == 0));
            }
        }
        for row in db
            .query_all_raw(query(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'",
            ))
            .await
            .unwrap()
        {
            indexes.insert(row.try_get::<String>("", "name").unwrap());
        }
    } else {
        let sql = "SELECT table_name::text AS t, column_name::text AS c, is_nullable::text AS n \
                   FROM information_schema.columns WHERE table_schema = 'public'";
        for row in db.query_all_raw(query(sql)).await.unwrap() {
            let t: String = row.try_get("", "t").unwrap();
            let c: String = row.try_get("", "c").unwrap();
            let n: String = row.try_get("", "n").unwrap();
            columns.insert((t, c, n == "YES"));
        }
        let sql = "SELECT indexname::text AS i FROM pg_indexes WHERE schemaname = 'public' AND indexname NOT LIKE '%_pkey'";
        for row in db.query_all_raw(query(sql)).await.unwrap() {
            indexes.insert(row.try_get::<String>("", "i").unwrap());
        }
    }
    (columns, indexes)
}

#[actix_web::test]
async fn migrations_build_the_same_schema_on_sqlite_and_postgresql() {
    let dir = tempfile::tempdir().unwrap();
    use_backend(Backend::Sqlite);
    let (sqlite_columns, sqlite_indexes) = columns(&database_url(dir.path()).await).await;
    use_backend(Backend::Postgres);
    let (pg_columns, pg_indexes) = columns(&database_url(dir.path()).await).await;
    let sqlite_columns: Columns = sqlite_columns
        .into_iter()
        .filter(|(t, _, _)| t != "seaql_migrations")
        .collect();
    let pg_columns: Columns = pg_columns
        .into_iter()
        .filter(|(t, _, _)| t != "seaql_migrations")
        .collect();
    assert!(sqlite_columns.len() > 50, "{sqlite_columns:?}");
    assert_eq!(
        sqlite_columns, pg_columns,
        "tables, columns and nullability"
    );
    // PostgreSQL names unique-constraint indexes itself; compare the ones we name.
    let named = |set: &BTreeSet<String>| {
        set.iter()
            .filter(|i| i.starts_with("idx_"))
            .cloned()
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(named(&sqlite_indexes), named(&pg_indexes));
}
