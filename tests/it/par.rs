//! Pushed authorization requests (RFC 9126) as a client uses them: it authenticates and POSTs
//! its authorization request to /par, then sends the browser to /authorize with only its
//! client_id and the request_uri it got back. A request_uri works once and for 60 s; a client
//! (or every client) can be required to push; a bad request is refused at the push itself.

use serde_json::Value;
use tessera::core::authorize::par::REQUEST_URI_PREFIX;

use crate::helpers::{
    PASSWORD, REDIRECT, TestApp, browser, json, location, param, spawn_app, spawn_app_with, str_of,
};

/// The confidential client's usual authorization request, `extra` added or replacing.
fn request(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut form = vec![
        ("response_type", "code"),
        ("redirect_uri", REDIRECT),
        ("scope", "openid profile"),
        ("state", "pushed-state"),
        ("nonce", "pushed-nonce"),
    ];
    for (name, value) in extra {
        form.retain(|(n, _)| n != name);
        form.push((name, value));
    }
    form
}

async fn push(app: &TestApp, form: &[(&str, &str)]) -> (u16, Value) {
    json(app.post_as_client("/par", form).await).await
}

fn authorize_with(app: &TestApp, client_id: &str, request_uri: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("client_id", client_id), ("request_uri", request_uri)])
        .finish();
    app.url(&format!("/authorize?{query}"))
}

on_both_backends! {
async fn a_pushed_request_is_the_authorization_request() {
    let app = spawn_app().await;
    let (status, pushed) = push(&app, &request(&[])).await;
    assert_eq!(status, 201, "{pushed}");
    assert_eq!(pushed["expires_in"], 60);
    let request_uri = str_of(&pushed, "request_uri");
    assert!(request_uri.starts_with(REQUEST_URI_PREFIX), "{request_uri}");

    // The browser carries only client_id and request_uri; other parameters are ignored.
    let url = format!("{}&state=from-the-browser", authorize_with(&app, &app.confidential.0, &request_uri));
    let back = app.sign_in(&browser(), &url, PASSWORD).await;
    assert_eq!(param(&back, "state").as_deref(), Some("pushed-state"), "{back}");
    let code = param(&back, "code").unwrap();
    let (status, tokens) = json(app.redeem(&code, &[]).await).await;
    assert_eq!(status, 200, "{tokens}");
    let id_token = str_of(&tokens, "id_token");
    let claims: Value = serde_json::from_slice(
        &tessera::secret::b64url_decode(id_token.split('.').nth(1).unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(claims["nonce"], "pushed-nonce");
}
}

/// Takes the browser to /authorize with a request_uri: the status of the answer.
async fn open(app: &TestApp, client_id: &str, request_uri: &str) -> u16 {
    let response = browser()
        .get(authorize_with(app, client_id, request_uri))
        .send()
        .await
        .unwrap();
    response.status().as_u16()
}

on_both_backends! {
async fn a_used_expired_or_borrowed_request_uri_is_refused() {
    let app = spawn_app().await;
    let (_, pushed) = push(&app, &request(&[])).await;
    let used = str_of(&pushed, "request_uri");
    assert_eq!(open(&app, &app.confidential.0, &used).await, 302, "first use: on to the login page");
    // Used once: the same request_uri again is an error page, never a redirect.
    let again = browser().get(authorize_with(&app, &app.confidential.0, &used)).send().await.unwrap();
    assert_eq!(again.status(), 400);
    assert!(again.text().await.unwrap().contains("invalid_request_uri"));
    // Another client cannot use one it did not push.
    let (_, pushed) = push(&app, &request(&[])).await;
    assert_eq!(open(&app, &app.post_client.0, &str_of(&pushed, "request_uri")).await, 400);
    // Expired after 60 s.
    let (_, pushed) = push(&app, &request(&[])).await;
    app.advance(61);
    assert_eq!(open(&app, &app.confidential.0, &str_of(&pushed, "request_uri")).await, 400);
}
}

on_both_backends! {
async fn a_bad_push_is_refused_to_the_client() {
    let app = spawn_app().await;
    let cases = [
        (request(&[("redirect_uri", "https://evil.example/cb")]), 400, "invalid_request"),
        (request(&[("response_type", "token")]), 400, "unsupported_response_type"),
        (request(&[("request_uri", "urn:ietf:params:oauth:request_uri:x")]), 400, "invalid_request"),
        (request(&[("client_id", "someone-else")]), 400, "invalid_request"),
    ];
    for (form, status, error) in cases {
        let (got, body) = push(&app, &form).await;
        assert_eq!((got, body["error"].as_str()), (status, Some(error)), "{form:?}: {body}");
    }
    let wrong_secret = app
        .rp_http
        .post(app.url("/par"))
        .basic_auth(&app.confidential.0, Some("wrong"))
        .form(&request(&[]))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_secret.status(), 401);

    // A public client pushes with its client_id (and PKCE), as at the token endpoint.
    let public = app
        .rp_http
        .post(app.url("/par"))
        .form(&[
            ("client_id", app.public_client.as_str()),
            ("response_type", "code"),
            ("redirect_uri", REDIRECT),
            ("scope", "openid"),
            ("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(public.status(), 201);
}
}

on_both_backends! {
async fn a_client_required_to_push_cannot_send_its_request_through_the_browser() {
    let app = spawn_app().await;
    let strict = app.add_client(|c| c.require_par = true).await;
    let direct = app.authorize_url(&[("client_id", &strict.0)]);
    let response = browser().get(&direct).send().await.unwrap();
    let back = location(&response);
    assert!(back.starts_with(REDIRECT), "{back}");
    assert_eq!(param(&back, "error").as_deref(), Some("invalid_request"));
    assert!(param(&back, "error_description").unwrap().contains("PAR"));

    let (status, pushed) = json(
        app.rp_http
            .post(app.url("/par"))
            .basic_auth(&strict.0, Some(&strict.1))
            .form(&request(&[]))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{pushed}");
    let url = authorize_with(&app, &strict.0, &str_of(&pushed, "request_uri"));
    let back = app.sign_in(&browser(), &url, PASSWORD).await;
    assert!(param(&back, "code").is_some(), "{back}");
}
}

#[actix_web::test]
async fn par_can_be_required_of_every_client() {
    crate::helpers::use_backend(crate::helpers::Backend::Sqlite);
    let app = spawn_app_with(|c| c.require_par = true).await;
    let discovery: Value = app.get_json("/.well-known/openid-configuration").await;
    assert_eq!(
        discovery["pushed_authorization_request_endpoint"],
        app.url("/par")
    );
    assert_eq!(discovery["require_pushed_authorization_requests"], true);
    let response = browser().get(app.authorize_url(&[])).send().await.unwrap();
    assert_eq!(
        param(&location(&response), "error").as_deref(),
        Some("invalid_request")
    );
}
