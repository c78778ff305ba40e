//! The FAPI 2.0 Security Profile switch (`--profile fapi2`) as a bank's client meets it: only
//! private_key_jwt clients may be registered with it; its authorization requests must be
//! pushed, carry PKCE S256 and not ask for a fragment response; its codes come back with `iss`;
//! its token requests must prove a DPoP key. Every refusal names the rule.

use serde_json::{Value, json};
use tessera::core::accounts;
use tessera::core::model::{AuthMethod, ClientSpec, GrantType, Profile};
use tessera::keys::{Alg, SigningKey};

use crate::client_assertions::{JWT_BEARER, claims, jwks, key, signed};
use crate::dpop::{DpopKey, payload};
use crate::helpers::{
    PASSWORD, REDIRECT, TestApp, browser, json as json_of, location, param, spawn_app, str_of,
};

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

struct Bank {
    id: String,
    key: SigningKey,
}

impl Bank {
    async fn register(app: &TestApp) -> Self {
        let key = key(Alg::PS256);
        let spec = ClientSpec {
            auth_method: AuthMethod::PrivateKeyJwt,
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            jwks: Some(jwks(&[&key])),
            profile: Some(Profile::Fapi2),
            ..ClientSpec::new("Bank", vec![REDIRECT.into()])
        };
        let (client, _) =
            accounts::create_client(&app.state.store, &app.state.master, spec, app.state.now())
                .await
                .unwrap();
        Self { id: client.id, key }
    }

    /// POSTs `form` to `path`, authenticated with a fresh assertion, with a DPoP proof if given.
    async fn post(
        &self,
        app: &TestApp,
        path: &str,
        form: &[(&str, &str)],
        proof: Option<String>,
    ) -> (u16, Value) {
        let mut claims = claims(app, &self.id, &tessera::secret::random_id());
        claims["aud"] = app.base.clone().into();
        let assertion = signed(&self.key, &claims);
        let mut form = form.to_vec();
        form.extend([
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", &assertion),
        ]);
        let mut request = app.rp_http.post(app.url(path)).form(&form);
        if let Some(proof) = proof {
            request = request.header("DPoP", proof);
        }
        json_of(request.send().await.unwrap()).await
    }
}

fn request(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut form = vec![
        ("response_type", "code"),
        ("redirect_uri", REDIRECT),
        ("scope", "openid"),
        ("state", "s-1"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    for (name, value) in extra {
        form.retain(|(n, _)| n != name);
        form.push((name, value));
    }
    form.retain(|(_, v)| !v.is_empty());
    form
}

on_both_backends! {
async fn a_fapi2_client_signs_in_only_the_fapi2_way() {
    let app = spawn_app().await;
    let secret_spec = ClientSpec {
        profile: Some(Profile::Fapi2),
        ..ClientSpec::new("Weak bank", vec![REDIRECT.into()])
    };
    let refused = accounts::create_client(&app.state.store, &app.state.master, secret_spec, app.state.now()).await;
    assert!(refused.unwrap_err().to_string().contains("FAPI 2.0 profile needs --auth-method private_key_jwt"));
    let bank = Bank::register(&app).await;

    // Through the browser, unpushed: refused back to the client, naming the rule.
    let direct = browser().get(app.authorize_url(&[("client_id", &bank.id)])).send().await.unwrap();
    let back = location(&direct);
    assert_eq!(param(&back, "error").as_deref(), Some("invalid_request"), "{back}");
    assert!(param(&back, "error_description").unwrap().contains("FAPI 2.0 profile requires pushed"));

    for (extra, why) in [
        (request(&[("code_challenge", ""), ("code_challenge_method", "")]), "FAPI 2.0 profile requires PKCE"),
        (request(&[("response_mode", "fragment")]), "query or form_post only"),
    ] {
        let (status, body) = bank.post(&app, "/par", &extra, None).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")), "{body}");
        assert!(body["error_description"].as_str().unwrap().contains(why), "{why}: {body}");
    }

    let (status, pushed) = bank.post(&app, "/par", &request(&[]), None).await;
    assert_eq!(status, 201, "{pushed}");
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("client_id", bank.id.as_str()), ("request_uri", &str_of(&pushed, "request_uri"))])
        .finish();
    let back = app.sign_in(&browser(), &app.url(&format!("/authorize?{query}")), PASSWORD).await;
    assert_eq!(param(&back, "iss").as_deref(), Some(app.base.as_str()), "RFC 9207 iss: {back}");
    let code = param(&back, "code").unwrap();
    let redeem = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let (status, body) = bank.post(&app, "/token", &redeem, None).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_dpop_proof")), "{body}");
    assert!(body["error_description"].as_str().unwrap().contains("FAPI 2.0 profile requires sender-constrained"));
    // That refusal did not burn the code: with a proof it is redeemed.
    let dpop = DpopKey::new(Alg::ES256);
    let proof = dpop.proof(&app, "POST", &app.url("/token"), None, json!({}));
    let (status, tokens) = bank.post(&app, "/token", &redeem, Some(proof)).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "DPoP");
    assert_eq!(payload(&str_of(&tokens, "access_token"))["cnf"]["jkt"], dpop.jkt().as_str());
}
}
