//! Resource indicators (RFC 8707) as an API platform uses them: an operator registers each API
//! (`tessera resource create --id https://api.example --alg RS256 --lifetime 120 --scope …`);
//! a client names it with `resource` at /token or /authorize and gets an access token whose
//! `aud` is that API, signed with its algorithm, living its lifetime, carrying only its scopes.
//! Unknown resources are invalid_target; the API's own client may introspect its tokens.

use serde_json::Value;
use tessera::core::model::{GrantType, Resource};
use tessera::core::resources;

use crate::dpop::payload;
use crate::helpers::{
    PASSWORD, REDIRECT, TestApp, browser, json as json_of, jwt_header, param, spawn_app, str_of,
};

const API: &str = "https://api.example";

async fn register_api(app: &TestApp, owner: Option<String>) {
    let resource = Resource {
        id: API.into(),
        access_token_alg: Some(tessera::keys::Alg::RS256),
        access_token_ttl: Some(120),
        scopes: vec!["orders:read".into()],
        owner_client_id: owner,
        created_at: app.state.now(),
    };
    resources::create(&app.state.store, resource).await.unwrap();
}

async fn client_credentials(
    app: &TestApp,
    client: &(String, String),
    form: &[(&str, &str)],
) -> (u16, Value) {
    let mut form = form.to_vec();
    form.push(("grant_type", "client_credentials"));
    let request = app
        .rp_http
        .post(app.url("/token"))
        .basic_auth(&client.0, Some(&client.1))
        .form(&form);
    json_of(request.send().await.unwrap()).await
}

on_both_backends! {
async fn a_token_for_a_registered_api_has_its_audience_algorithm_lifetime_and_scopes() {
    let app = spawn_app().await;
    let owner = app
        .add_client(|c| {
            c.id = Some("orders-api".into());
            c.grant_types = vec![GrantType::ClientCredentials];
            c.redirect_uris = vec![];
        })
        .await;
    register_api(&app, Some(owner.0.clone())).await;
    let service = app
        .add_client(|c| {
            c.grant_types = vec![GrantType::ClientCredentials];
            c.scopes = vec!["orders:read".into(), "billing:write".into()];
            c.redirect_uris = vec![];
        })
        .await;

    let (status, body) = client_credentials(&app, &service, &[("resource", API), ("scope", "orders:read")]).await;
    assert_eq!(status, 200, "{body}");
    let at = str_of(&body, "access_token");
    let claims = payload(&at);
    assert_eq!(claims["aud"], API);
    assert_eq!(jwt_header(&at)["alg"], "RS256", "the API's algorithm, not the default ES256");
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 120);
    assert_eq!(body["expires_in"], 120);
    // The API's own client introspects it; it was issued to another client.
    assert_eq!(app.introspect_as(&owner, &at).await["active"], true);
    let stranger = app.add_client(|_| {}).await;
    assert_eq!(app.introspect_as(&stranger, &at).await["active"], false);

    let refusals = [
        (vec![("resource", "https://unknown.example")], "invalid_target"),
        (vec![("resource", "not-a-uri")], "invalid_target"),
        (vec![("resource", API), ("scope", "billing:write")], "invalid_scope"),
    ];
    for (form, error) in refusals {
        let (status, body) = client_credentials(&app, &service, &form).await;
        assert_eq!((status, body["error"].as_str()), (400, Some(error)), "{form:?}: {body}");
    }
    // Without a resource, nothing changes: the default audience and algorithm.
    let (_, plain) = client_credentials(&app, &service, &[]).await;
    assert_eq!(payload(&str_of(&plain, "access_token"))["aud"], app.base.as_str());
}
}

on_both_backends! {
async fn a_grant_authorized_for_an_api_yields_tokens_for_it_only() {
    let app = spawn_app().await;
    register_api(&app, None).await;
    let client = app.add_client(|c| c.scopes = vec!["openid".into(), "orders:read".into()]).await;
    let url = app.authorize_url(&[("client_id", &client.0), ("resource", API), ("scope", "openid orders:read")]);
    let back = app.sign_in(&browser(), &url, PASSWORD).await;
    let code = param(&back, "code").unwrap_or_else(|| panic!("{back}"));
    let redeem = |code: String, extra: Vec<(&'static str, &'static str)>| {
        let mut form = vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code),
            ("redirect_uri", REDIRECT.to_owned()),
        ];
        form.extend(extra.into_iter().map(|(k, v)| (k, v.to_owned())));
        app.rp_http.post(app.url("/token")).basic_auth(&client.0, Some(&client.1)).form(&form).send()
    };
    let (status, tokens) = json_of(redeem(code, vec![]).await.unwrap()).await;
    assert_eq!(status, 200, "{tokens}");
    let claims = payload(&str_of(&tokens, "access_token"));
    assert_eq!(claims["aud"], API);
    assert_eq!(claims["scope"], "openid orders:read");
    assert!(tokens["id_token"].is_string(), "the id_token is still for the client");

    // A refresh keeps to the resource, and may not switch to another.
    let rt = str_of(&tokens, "refresh_token");
    let refresh = |extra: Vec<(&'static str, &'static str)>| {
        let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", rt.as_str())];
        form.extend(extra);
        app.rp_http.post(app.url("/token")).basic_auth(&client.0, Some(&client.1)).form(&form).send()
    };
    let (status, body) = json_of(refresh(vec![("resource", "https://other.example")]).await.unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_target")), "{body}");
    let (status, body) = json_of(refresh(vec![]).await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(payload(&str_of(&body, "access_token"))["aud"], API);

    // An unknown resource at /authorize goes back to the client as invalid_target.
    let response = browser().get(app.authorize_url(&[("resource", "https://unknown.example")])).send().await.unwrap();
    let back = crate::helpers::location(&response);
    assert_eq!(param(&back, "error").as_deref(), Some("invalid_target"), "{back}");
}
}

on_both_backends! {
async fn the_cli_registers_lists_and_deletes_resources() {
    let app = spawn_app().await;
    let run = |args: &[&str]| crate::helpers::run_cli(&app.db_url, &app.master_key, &app.base, args, None);
    let (ok, out, err) = run(&["resource", "create", "--id", API, "--alg", "RS256", "--lifetime", "300", "--scope", "orders:read", "--json"]);
    assert!(ok, "{err}");
    let created: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(created["access_token_alg"], "RS256");
    let (ok, _, err) = run(&["resource", "create", "--id", API]);
    assert!(!ok && err.contains("already exists"), "{err}");
    let (ok, _, err) = run(&["resource", "create", "--id", "relative/path"]);
    assert!(!ok && err.contains("absolute URI"), "{err}");
    let (ok, out, _) = run(&["resource", "list"]);
    assert!(ok && out.contains(API) && out.contains("RS256"), "{out}");
    let (ok, _, _) = run(&["resource", "delete", API]);
    assert!(ok);
    let (ok, out, _) = run(&["resource", "list"]);
    assert!(ok && out.contains("no resources"), "{out}");
}
}
