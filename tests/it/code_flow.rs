//! The authorization code flow as a real relying party runs it.

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata,
    CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthType, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl,
    Nonce, OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};

use crate::helpers::{PASSWORD, REDIRECT, TestApp, browser, param, spawn_app};

struct Rp {
    client: openidconnect::core::CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    >,
}

async fn relying_party(app: &TestApp, id: &str, secret: Option<&str>) -> Rp {
    let metadata = CoreProviderMetadata::discover_async(
        IssuerUrl::new(app.base.clone()).unwrap(),
        &app.rp_http,
    )
    .await
    .expect("discovery");
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(id.to_owned()),
        secret.map(|s| ClientSecret::new(s.to_owned())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.to_owned()).unwrap());
    Rp { client }
}

/// Runs the whole flow and returns the subject and the access token.
async fn full_flow(
    app: &TestApp,
    rp: &Rp,
    alg: CoreJwsSigningAlgorithm,
) -> (String, openidconnect::AccessToken) {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = rp
        .client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();
    let back = app.sign_in(&browser(), url.as_str(), PASSWORD).await;
    assert_eq!(
        param(&back, "state").as_deref(),
        Some(csrf.secret().as_str())
    );
    assert_eq!(
        param(&back, "iss").as_deref(),
        Some(app.base.as_str()),
        "RFC 9207 iss"
    );
    let code = param(&back, "code").expect("code in redirect");

    let tokens = rp
        .client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&app.rp_http)
        .await
        .expect("token exchange");
    let id_token = tokens.id_token().expect("id_token");
    let verifier = rp
        .client
        .id_token_verifier()
        .set_allowed_algs(vec![alg.clone()]);
    let claims = id_token
        .claims(&verifier, &nonce)
        .expect("id_token verifies against the JWKS");
    assert_eq!(id_token.signing_alg().unwrap(), &alg);
    let expected_hash = claims.access_token_hash().expect("at_hash");
    let actual = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(&actual, expected_hash);
    assert!(claims.auth_time().is_some());
    let sub = claims.subject().to_string();

    let info: CoreUserInfoClaims = rp
        .client
        .user_info(
            tokens.access_token().clone(),
            Some(claims.subject().clone()),
        )
        .unwrap()
        .request_async(&app.rp_http)
        .await
        .expect("userinfo");
    assert_eq!(info.email().map(|e| e.as_str()), Some("alice@example.com"));
    assert_eq!(info.preferred_username().map(|u| u.as_str()), Some("alice"));
    (sub, tokens.access_token().clone())
}

on_both_backends! {
async fn relying_party_signs_in_with_basic_auth_and_rs256() {
    let app = spawn_app().await;
    let (id, secret) = app.confidential.clone();
    let rp = relying_party(&app, &id, Some(&secret)).await;
    full_flow(&app, &rp, CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256).await;
}
}

on_both_backends! {
async fn relying_party_with_client_secret_post_gets_es256_id_tokens() {
    let app = spawn_app().await;
    let (id, secret) = app.post_client.clone();
    let mut rp = relying_party(&app, &id, Some(&secret)).await;
    rp.client = rp.client.set_auth_type(AuthType::RequestBody);
    full_flow(&app, &rp, CoreJwsSigningAlgorithm::EcdsaP256Sha256).await;
}
}

on_both_backends! {
async fn relying_party_gets_ps256_id_tokens() {
    let app = spawn_app().await;
    let (id, secret) = app.add_client(|spec| spec.id_token_alg = tessera::keys::Alg::PS256).await;
    let rp = relying_party(&app, &id, Some(&secret)).await;
    full_flow(&app, &rp, CoreJwsSigningAlgorithm::RsaSsaPssSha256).await;
}
}

on_both_backends! {
async fn public_client_uses_pkce_without_a_secret() {
    let app = spawn_app().await;
    let rp = relying_party(&app, &app.public_client.clone(), None).await;
    full_flow(&app, &rp, CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256).await;
}
}

on_both_backends! {
async fn second_authorize_uses_the_sso_session_and_remembered_consent() {
    let app = spawn_app().await;
    let first = app
        .sign_in(&app.browser, &app.authorize_url(&[]), PASSWORD)
        .await;
    assert!(param(&first, "code").is_some());
    // Same browser: straight back to the client, no login page, no consent page.
    let again = app
        .browser
        .get(app.authorize_url(&[("state", "second")]))
        .send()
        .await
        .unwrap();
    let next = crate::helpers::location(&again);
    assert!(next.starts_with(REDIRECT), "{next}");
    assert_eq!(param(&next, "state").as_deref(), Some("second"));
    // prompt=none works with a session.
    let silent = app
        .browser
        .get(app.authorize_url(&[("prompt", "none")]))
        .send()
        .await
        .unwrap();
    assert!(param(&crate::helpers::location(&silent), "code").is_some());
    // prompt=login and max_age=0 send the user back to the login page.
    for extra in [("prompt", "login"), ("max_age", "0")] {
        let forced = app
            .browser
            .get(app.authorize_url(&[extra]))
            .send()
            .await
            .unwrap();
        assert!(
            crate::helpers::location(&forced).starts_with("/login"),
            "{extra:?}"
        );
    }
    let consent = app
        .browser
        .get(app.authorize_url(&[("prompt", "consent")]))
        .send()
        .await
        .unwrap();
    assert!(crate::helpers::location(&consent).starts_with("/consent"));
    // A fresh sign-in honours max_age right after the login.
    let back = app
        .sign_in(
            &app.browser,
            &app.authorize_url(&[("max_age", "0")]),
            PASSWORD,
        )
        .await;
    assert!(param(&back, "code").is_some());
}
}

on_both_backends! {
async fn session_cookie_is_http_only_and_lax() {
    let app = spawn_app().await;
    let (page, response) = app.try_login(&browser(), PASSWORD).await;
    assert!(page.contains("Test App"), "the login page names the client");
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("tessera_session="))
        .expect("session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "http issuer: no Secure flag, or browsers drop it"
    );
}
}

on_both_backends! {
async fn response_modes_fragment_and_form_post() {
    let app = spawn_app().await;
    let back = app
        .sign_in(
            &app.browser,
            &app.authorize_url(&[("response_mode", "fragment")]),
            PASSWORD,
        )
        .await;
    let fragment = url::Url::parse(&back)
        .unwrap()
        .fragment()
        .unwrap()
        .to_owned();
    assert!(
        fragment.contains("code=") && fragment.contains("state=st-1"),
        "{fragment}"
    );

    let response = app
        .browser
        .get(app.authorize_url(&[("response_mode", "form_post")]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'nonce-") && csp.contains("form-action http://localhost:9999"),
        "{csp}"
    );
    let html = response.text().await.unwrap();
    assert!(html.contains(&format!("action=\"{REDIRECT}\"")), "{html}");
    assert!(crate::helpers::field(&html, "code").is_some());
    assert_eq!(
        crate::helpers::field(&html, "state").as_deref(),
        Some("st-1")
    );
}
}

on_both_backends! {
async fn tokens_carry_the_claims_relying_parties_need() {
    let app = spawn_app().await;
    let back = app
        .sign_in(&app.browser, &app.authorize_url(&[]), PASSWORD)
        .await;
    let response = app.redeem(&param(&back, "code").unwrap(), &[]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 300);
    let payload = |jwt: &str| -> (serde_json::Value, serde_json::Value) {
        let parts: Vec<&str> = jwt.split('.').collect();
        let decode =
            |p: &str| serde_json::from_slice(&tessera::secret::b64url_decode(p).unwrap()).unwrap();
        (decode(parts[0]), decode(parts[1]))
    };
    let (header, id) = payload(body["id_token"].as_str().unwrap());
    assert_eq!(header["alg"], "RS256");
    for claim in [
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "auth_time",
        "nonce",
        "sid",
        "at_hash",
    ] {
        assert!(!id[claim].is_null(), "id_token lacks {claim}");
    }
    assert_eq!(id["nonce"], "n-1");
    let (header, at) = payload(body["access_token"].as_str().unwrap());
    assert_eq!(header["typ"], "at+jwt", "RFC 9068");
    assert_eq!(header["alg"], "ES256");
    for claim in [
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "jti",
        "client_id",
        "scope",
        "sid",
    ] {
        assert!(!at[claim].is_null(), "access token lacks {claim}");
    }
    assert_eq!(at["sid"], id["sid"]);
    assert_eq!(
        at["exp"].as_i64().unwrap() - at["iat"].as_i64().unwrap(),
        300
    );
}
}
