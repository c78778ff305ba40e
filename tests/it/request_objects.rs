//! Signed authorization requests (JAR, RFC 9101) as a client sends them: the parameters in a
//! JWT signed with its registered key, as `request` at /authorize or at /par. Only the signed
//! parameters count; an unsigned, foreign-signed, expired or misaddressed object is refused
//! with invalid_request_object on an error page (nothing in it can be trusted to redirect to).

use serde_json::{Value, json};
use tessera::core::accounts;
use tessera::core::model::{AuthMethod, ClientSpec, GrantType};
use tessera::keys::{Alg, SigningKey};
use tessera::secret::b64url;

use crate::client_assertions::{JWT_BEARER, claims, jwks, key, signed};
use crate::helpers::{
    PASSWORD, REDIRECT, TestApp, browser, json as json_of, param, spawn_app, str_of,
};

async fn signer(app: &TestApp, key: &SigningKey) -> String {
    let spec = ClientSpec {
        auth_method: AuthMethod::PrivateKeyJwt,
        grant_types: vec![GrantType::AuthorizationCode],
        jwks: Some(jwks(&[key])),
        ..ClientSpec::new("Signing app", vec![REDIRECT.into()])
    };
    let (client, _) =
        accounts::create_client(&app.state.store, &app.state.master, spec, app.state.now())
            .await
            .unwrap();
    client.id
}

fn object(app: &TestApp, key: &SigningKey, client_id: &str, overrides: Value) -> String {
    let mut claims = json!({
        "iss": client_id, "aud": app.base, "exp": app.state.now() + 300,
        "client_id": client_id, "response_type": "code", "redirect_uri": REDIRECT,
        "scope": "openid profile", "state": "signed-state", "nonce": "signed-nonce",
    });
    for (k, v) in overrides.as_object().unwrap() {
        claims[k] = v.clone();
    }
    tessera::tokens::sign(key, "oauth-authz-req+jwt", &claims).unwrap()
}

fn authorize(app: &TestApp, pairs: &[(&str, &str)]) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    app.url(&format!("/authorize?{query}"))
}

on_both_backends! {
async fn a_signed_request_object_is_the_request_at_authorize_and_at_par() {
    let app = spawn_app().await;
    let k = key(Alg::ES256);
    let id = signer(&app, &k).await;
    let request = object(&app, &k, &id, json!({}));
    // Parameters outside the object are ignored.
    let url = authorize(&app, &[("client_id", &id), ("request", &request), ("state", "outer"), ("scope", "openid email")]);
    let back = app.sign_in(&browser(), &url, PASSWORD).await;
    assert_eq!(param(&back, "state").as_deref(), Some("signed-state"), "{back}");
    assert!(param(&back, "code").is_some());

    // At /par, authenticated with an assertion, the same object.
    let assertion = signed(&k, &claims(&app, &id, "par-1"));
    let form = [
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion.as_str()),
        ("request", &object(&app, &k, &id, json!({"state": "pushed-and-signed"}))),
    ];
    let (status, pushed) = json_of(app.rp_http.post(app.url("/par")).form(&form).send().await.unwrap()).await;
    assert_eq!(status, 201, "{pushed}");
    let url = authorize(&app, &[("client_id", &id), ("request_uri", &str_of(&pushed, "request_uri"))]);
    let back = app.sign_in(&browser(), &url, PASSWORD).await;
    assert_eq!(param(&back, "state").as_deref(), Some("pushed-and-signed"), "{back}");

    let discovery: Value = app.get_json("/.well-known/openid-configuration").await;
    assert_eq!(discovery["request_parameter_supported"], true);
    assert_eq!(discovery["request_object_signing_alg_values_supported"], json!(["RS256", "ES256", "EdDSA", "PS256"]));
}
}

on_both_backends! {
async fn a_request_object_that_proves_nothing_is_refused() {
    let app = spawn_app().await;
    let k = key(Alg::ES256);
    let id = signer(&app, &k).await;
    let unsigned = {
        let claims = json!({"iss": id, "aud": app.base, "exp": app.state.now() + 300, "response_type": "code"});
        format!("{}.{}.", b64url(br#"{"alg":"none"}"#), b64url(claims.to_string().as_bytes()))
    };
    let cases = [
        ("alg none", unsigned, "not none"),
        ("another key", object(&app, &key(Alg::ES256), &id, json!({})), "does not verify"),
        ("expired", object(&app, &k, &id, json!({"exp": app.state.now() - 1})), "expired"),
        ("wrong aud", object(&app, &k, &id, json!({"aud": "https://other.example"})), "aud must be"),
        ("wrong iss", object(&app, &k, &id, json!({"iss": "someone"})), "iss must be"),
    ];
    for (case, request, why) in cases {
        let response = browser().get(authorize(&app, &[("client_id", &id), ("request", &request)])).send().await.unwrap();
        assert_eq!(response.status(), 400, "{case}");
        let page = response.text().await.unwrap();
        assert!(page.contains("invalid_request_object") && page.contains(why), "{case}: {page}");
    }
}
}
