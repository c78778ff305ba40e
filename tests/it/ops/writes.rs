//! What the hot paths write: nothing when they succeed. A client_credentials token leaves no
//! row; a successful client authentication touches no throttling counter; a failure does,
//! and the next success clears the client's (not the IP's).

use sea_orm::{ConnectionTrait, Statement};

use crate::helpers::{TestApp, spawn_app};

async fn count(app: &TestApp, table: &str) -> i64 {
    let db = sea_orm::Database::connect(app.db_url.as_str())
        .await
        .unwrap();
    let backend = db.get_database_backend();
    let sql = format!("SELECT COUNT(*) AS n FROM {table}");
    let row = db
        .query_one_raw(Statement::from_string(backend, sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get("", "n").unwrap()
}

on_both_backends! {
async fn successful_hot_requests_write_nothing() {
    let app = spawn_app().await;
    let service = app
        .add_client(|spec| {
            spec.grant_types = vec![tessera::core::model::GrantType::ClientCredentials];
            spec.scopes = vec!["orders:read".into()];
        })
        .await;
    let before = (count(&app, "grants").await, count(&app, "throttles").await);
    let token_status = |secret: &str| {
        let request = app
            .rp_http
            .post(app.url("/token"))
            .basic_auth(&service.0, Some(secret))
            .form(&[("grant_type", "client_credentials")]);
        async move { request.send().await.unwrap().status() }
    };
    for _ in 0..3 {
        assert_eq!(token_status(&service.1).await, 200);
    }
    assert_eq!(
        (count(&app, "grants").await, count(&app, "throttles").await),
        before,
        "client_credentials stores no grant and touches no counter"
    );
    assert_eq!(count(&app, "revocations").await, 0);

    assert_eq!(token_status("not the secret").await, 401);
    assert_eq!(count(&app, "throttles").await, 2, "the client's and the IP's counters");
    assert_eq!(token_status(&service.1).await, 200);
    assert_eq!(count(&app, "throttles").await, 1, "a success clears the client's counter");
}
}
