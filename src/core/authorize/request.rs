//! The authorization request as an ordered list of small checks. Until the client and its
//! redirect_uri are verified, a failure is shown to the user; after that it goes back to the
//! client (RFC 6749 §4.1.2.1).

use serde::{Deserialize, Serialize};

use crate::core::error::{ErrorCode, OAuthError};
use crate::core::model::{Client, GrantType};
use crate::core::params::{Params, truncate};
use crate::core::pkce;
use crate::core::scope::{self, Scope};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResponseMode {
    Query,
    Fragment,
    FormPost,
}

/// A verified place to send the user back to, with the client's state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnTo {
    pub redirect_uri: String,
    pub mode: ResponseMode,
    pub state: Option<String>,
}

/// An error that goes back to the client's verified redirect_uri.
#[derive(Debug)]
pub struct RedirectError {
    pub to: ReturnTo,
    pub error: OAuthError,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
}

/// A fully validated authorization request, kept with the interaction while the user signs in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizeRequest {
    pub client_id: String,
    pub to: ReturnTo,
    pub scope: Scope,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt: Prompt,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    /// The key the code's token request must prove (RFC 9449 §10).
    #[serde(default)]
    pub dpop_jkt: Option<String>,
    /// The API the access tokens are for (RFC 8707), checked to be registered by the flow.
    #[serde(default)]
    pub resource: Option<String>,
    /// The authentication levels asked for, in order of preference: `acr_values`, and the
    /// values of an `acr` claim requested in `claims` (OIDC Core §3.1.2.1, §5.5.1.1).
    #[serde(default)]
    pub acr_values: Vec<String>,
}

/// The checks whose failure is shown to the user, because the client is not yet trusted with it.
pub fn verified_redirect_uri(client: &Client, params: &Params) -> Result<String, OAuthError> {
    let Some(redirect_uri) = params.get("redirect_uri") else {
        return Err(OAuthError::invalid_request("redirect_uri is required"));
    };
    if !client.has_redirect_uri(redirect_uri) {
        return Err(OAuthError::invalid_request(
            "redirect_uri does not exactly match any URI registered for this client",
        ));
    }
    Ok(redirect_uri.to_owned())
}

/// Every other check, in order; failures go back to the verified redirect_uri.
pub fn validate(
    client: &Client,
    params: &Params,
    redirect_uri: String,
) -> Result<AuthorizeRequest, RedirectError> {
    let mut to = ReturnTo {
        redirect_uri,
        mode: ResponseMode::Query,
        state: None,
    };
    let fail = |to: &ReturnTo, (code, description): Failure| RedirectError {
        to: to.clone(),
        error: OAuthError::new(code, description),
    };
    match params.get("state") {
        Some(state) if state.len() > 2048 => {
            return Err(fail(
                &to,
                (ErrorCode::InvalidRequest, "state is too long".into()),
            ));
        }
        state => to.state = state.map(str::to_owned),
    }
    to.mode = response_mode(params).map_err(|e| fail(&to, e))?;
    // FAPI 2.0: the code must not travel in a fragment, where scripts and history can read it.
    if client.is_fapi2() && to.mode == ResponseMode::Fragment {
        to.mode = ResponseMode::Query;
        return Err(fail(
            &to,
            (
                ErrorCode::InvalidRequest,
                "the FAPI 2.0 profile allows response_mode query or form_post only".into(),
            ),
        ));
    }
    let scope = check(params, client).map_err(|e| fail(&to, e))?;
    let dpop_jkt = params.get("dpop_jkt");
    // A SHA-256 JWK thumbprint has the shape of an S256 challenge: 43 base64url characters.
    if dpop_jkt.is_some_and(|jkt| !pkce::valid_challenge(jkt)) {
        return Err(fail(
            &to,
            (
                ErrorCode::InvalidRequest,
                "dpop_jkt must be the key's SHA-256 JWK thumbprint (43 base64url characters)"
                    .into(),
            ),
        ));
    }
    let acr_values = requested_acr(params).map_err(|e| fail(&to, e))?;
    Ok(AuthorizeRequest {
        acr_values,
        client_id: client.id.clone(),
        scope,
        nonce: params.get("nonce").map(str::to_owned),
        code_challenge: params.get("code_challenge").map(str::to_owned),
        prompt: parse_prompt(params.get("prompt")).map_err(|e| fail(&to, e))?,
        max_age: parse_max_age(params.get("max_age")).map_err(|e| fail(&to, e))?,
        login_hint: params.get("login_hint").map(str::to_owned),
        dpop_jkt: dpop_jkt.map(str::to_owned),
        resource: params.get("resource").map(str::to_owned),
        to,
    })
}

type Failure = (ErrorCode, String);

/// `acr_values`, then the values of an `acr` claim requested for the id_token in `claims`.
fn requested_acr(params: &Params) -> Result<Vec<String>, Failure> {
    let mut values: Vec<String> = params
        .get("acr_values")
        .map(|v| v.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    if let Some(claims) = params.get("claims") {
        let claims: serde_json::Value = serde_json::from_str(claims).map_err(|_| {
            (
                ErrorCode::InvalidRequest,
                "claims must be a JSON object (OIDC Core §5.5)".to_owned(),
            )
        })?;
        let acr = &claims["id_token"]["acr"];
        if let Some(one) = acr["value"].as_str() {
            values.push(one.to_owned());
        }
        for v in acr["values"].as_array().into_iter().flatten() {
            if let Some(v) = v.as_str() {
                values.push(v.to_owned());
            }
        }
    }
    Ok(values)
}

/// The checks in the order node-oidc-provider runs them; the scope is parsed once, here.
fn check(params: &Params, client: &Client) -> Result<Scope, Failure> {
    check_unsupported_features(params)?;
    check_response_type(params)?;
    check_grant_allowed(client)?;
    let scope = check_scope(params, client)?;
    check_pkce(params, client)?;
    check_lengths(params)?;
    Ok(scope)
}

fn response_mode(params: &Params) -> Result<ResponseMode, Failure> {
    match params.get("response_mode") {
        None | Some("query") => Ok(ResponseMode::Query),
        Some("fragment") => Ok(ResponseMode::Fragment),
        Some("form_post") => Ok(ResponseMode::FormPost),
        Some(other) => Err((
            ErrorCode::InvalidRequest,
            format!("response_mode '{}' is not supported", truncate(other)),
        )),
    }
}

/// What is left once pushed requests and signed request objects are taken apart: a `request`
/// from a client with no keys to sign it, a `request_uri` that is not one of /par's (OIDC
/// Core §6.2 by reference), and self-issued `registration` (OIDC Core §7.2.1).
fn check_unsupported_features(params: &Params) -> Result<(), Failure> {
    let unsupported = [
        (
            "request",
            ErrorCode::RequestNotSupported,
            "request objects are accepted only from clients with registered keys (jwks or jwks_uri)",
        ),
        (
            "request_uri",
            ErrorCode::RequestUriNotSupported,
            "only request_uri values handed out by the PAR endpoint are accepted",
        ),
        (
            "registration",
            ErrorCode::RegistrationNotSupported,
            "the registration parameter is not supported",
        ),
    ];
    for (name, code, why) in unsupported {
        if params.get(name).is_some() {
            return Err((code, why.into()));
        }
    }
    Ok(())
}

fn check_response_type(params: &Params) -> Result<(), Failure> {
    match params.get("response_type") {
        Some("code") => Ok(()),
        None => Err((
            ErrorCode::InvalidRequest,
            "response_type is required".into(),
        )),
        Some(other) => Err((
            ErrorCode::UnsupportedResponseType,
            format!(
                "response_type '{}' is not supported; use 'code'",
                truncate(other)
            ),
        )),
    }
}

fn check_grant_allowed(client: &Client) -> Result<(), Failure> {
    if client.allows_grant(GrantType::AuthorizationCode) {
        Ok(())
    } else {
        Err((
            ErrorCode::UnauthorizedClient,
            "this client may not use the authorization code flow".into(),
        ))
    }
}

fn check_scope(params: &Params, client: &Client) -> Result<Scope, Failure> {
    let requested = Scope::parse(params.get("scope").unwrap_or_default())
        .map_err(|e| (ErrorCode::InvalidScope, e.to_string()))?;
    if requested.is_empty() {
        return Err((
            ErrorCode::InvalidScope,
            "scope is required (e.g. 'openid')".into(),
        ));
    }
    if requested.contains(scope::ADMIN) {
        return Err((
            ErrorCode::InvalidScope,
            format!(
                "'{}' is granted only to clients through client_credentials",
                scope::ADMIN
            ),
        ));
    }
    if let Some(denied) = requested.first_outside(&client.scopes) {
        return Err((
            ErrorCode::InvalidScope,
            format!("this client may not request scope '{denied}'"),
        ));
    }
    Ok(requested)
}

fn check_pkce(params: &Params, client: &Client) -> Result<(), Failure> {
    let invalid = |msg: &str| Err((ErrorCode::InvalidRequest, msg.to_owned()));
    match (
        params.get("code_challenge"),
        params.get("code_challenge_method"),
    ) {
        (None, None) if client.is_fapi2() => invalid(
            "the FAPI 2.0 profile requires PKCE: send code_challenge with code_challenge_method=S256",
        ),
        (None, None) if client.must_use_pkce() => invalid(
            "PKCE is required for public clients: send code_challenge with code_challenge_method=S256",
        ),
        (None, None) => Ok(()),
        (None, Some(_)) => invalid("code_challenge_method was sent without code_challenge"),
        (Some(_), None | Some("plain")) => {
            invalid("code_challenge_method must be S256; 'plain' is not allowed")
        }
        (Some(_), Some(method)) if method != "S256" => {
            invalid("code_challenge_method must be S256")
        }
        (Some(challenge), Some(_)) if !pkce::valid_challenge(challenge) => {
            invalid("code_challenge must be 43 base64url characters (SHA-256 of the verifier)")
        }
        _ => Ok(()),
    }
}

fn check_lengths(params: &Params) -> Result<(), Failure> {
    for (name, max) in [("nonce", 1024), ("login_hint", 256)] {
        if params.get(name).is_some_and(|v| v.len() > max) {
            return Err((
                ErrorCode::InvalidRequest,
                format!("{name} is too long (at most {max} bytes)"),
            ));
        }
    }
    Ok(())
}

fn parse_prompt(value: Option<&str>) -> Result<Prompt, Failure> {
    let invalid = |description: String| Err((ErrorCode::InvalidRequest, description));
    let mut prompt = Prompt::default();
    for token in value
        .unwrap_or_default()
        .split(' ')
        .filter(|t| !t.is_empty())
    {
        match token {
            "none" => prompt.none = true,
            "login" => prompt.login = true,
            "consent" => prompt.consent = true,
            other => {
                return invalid(format!(
                    "prompt value '{}' is not supported",
                    truncate(other)
                ));
            }
        }
    }
    if prompt.none && (prompt.login || prompt.consent) {
        return invalid("prompt=none cannot be combined with other values".into());
    }
    Ok(prompt)
}

fn parse_max_age(value: Option<&str>) -> Result<Option<i64>, Failure> {
    value
        .map(|v| match v.parse::<i64>() {
            Ok(n) if n >= 0 => Ok(n),
            _ => Err((
                ErrorCode::InvalidRequest,
                "max_age must be a non-negative number of seconds".to_string(),
            )),
        })
        .transpose()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::core::model::AuthMethod;
    use crate::core::testing::client;

    pub fn params(extra: &[(&str, &str)]) -> Params {
        let mut pairs = vec![
            ("response_type", "code"),
            ("client_id", "app"),
            ("redirect_uri", "https://app.example/cb"),
            ("scope", "openid"),
            ("state", "xyz"),
        ];
        for (k, v) in extra {
            pairs.retain(|(n, _)| n != k);
            pairs.push((k, v));
        }
        Params::parse(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
        .unwrap()
    }

    fn error_of(client: &Client, p: &Params) -> ErrorCode {
        let uri = verified_redirect_uri(client, p).unwrap();
        let err = validate(client, p, uri).unwrap_err();
        assert_eq!(
            err.to.state.as_deref(),
            Some("xyz"),
            "state goes back with errors"
        );
        err.error.code
    }

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn unverified_redirects_are_not_redirected() {
        let p = params(&[("redirect_uri", "https://evil.example/cb")]);
        assert!(verified_redirect_uri(&client(AuthMethod::ClientSecretBasic), &p).is_err());
        let p = params(&[("redirect_uri", "")]);
        assert!(verified_redirect_uri(&client(AuthMethod::ClientSecretBasic), &p).is_err());
    }

    #[test]
    fn each_check_names_its_error() {
        let c = client(AuthMethod::ClientSecretBasic);
        assert_eq!(
            error_of(&c, &params(&[("response_type", "token")])),
            ErrorCode::UnsupportedResponseType
        );
        assert_eq!(
            error_of(&c, &params(&[("scope", "openid admin")])),
            ErrorCode::InvalidScope
        );
        assert_eq!(
            error_of(&c, &params(&[("scope", "openid tessera:admin")])),
            ErrorCode::InvalidScope
        );
        assert_eq!(
            error_of(&c, &params(&[("prompt", "none login")])),
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            error_of(&c, &params(&[("max_age", "-1")])),
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            error_of(&c, &params(&[("registration", "{}")])),
            ErrorCode::RegistrationNotSupported
        );
        assert_eq!(
            error_of(&c, &params(&[("request", "eyJ")])),
            ErrorCode::RequestNotSupported
        );
        assert_eq!(
            error_of(&c, &params(&[("request_uri", "https://app.example/r")])),
            ErrorCode::RequestUriNotSupported
        );
        assert_eq!(
            error_of(&c, &params(&[("response_mode", "web_message")])),
            ErrorCode::InvalidRequest
        );
        let plain = [
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "plain"),
        ];
        assert_eq!(error_of(&c, &params(&plain)), ErrorCode::InvalidRequest);
        assert_eq!(
            error_of(&client(AuthMethod::None), &params(&[])),
            ErrorCode::InvalidRequest,
            "PKCE is required for public clients"
        );
    }

    #[test]
    fn a_valid_public_request_keeps_its_parameters() {
        let p = params(&[
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
            ("response_mode", "form_post"),
            ("nonce", "n-1"),
            ("max_age", "60"),
        ]);
        let c = client(AuthMethod::None);
        let req = validate(&c, &p, verified_redirect_uri(&c, &p).unwrap()).unwrap();
        assert_eq!(req.to.mode, ResponseMode::FormPost);
        assert_eq!(req.nonce.as_deref(), Some("n-1"));
        assert_eq!(req.max_age, Some(60));
        assert_eq!(req.scope.to_string(), "openid");
    }
}
