//! The authorization request (OIDC Core §3.1.2), as an ordered list of small checks, and the
//! decision of what comes next (login, consent, or a code) as a function of time and state.

use serde::{Deserialize, Serialize};

use super::client::{Client, GrantType};
use super::pkce;
use super::scope::{self, Scope};
use crate::error::{ErrorCode, OAuthError};

const MAX_PARAMS: usize = 64;
const MAX_VALUE_LEN: usize = 4096;

/// Request parameters with duplicates refused (RFC 6749 §3.1) and sizes bounded.
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(pairs: Vec<(String, String)>) -> Result<Self, OAuthError> {
        if pairs.len() > MAX_PARAMS {
            return Err(OAuthError::invalid_request("too many parameters"));
        }
        for (i, (name, value)) in pairs.iter().enumerate() {
            if value.len() > MAX_VALUE_LEN || name.len() > 128 {
                return Err(OAuthError::invalid_request(format!(
                    "parameter '{}' is too long",
                    truncate(name)
                )));
            }
            if pairs[..i].iter().any(|(other, _)| other == name) {
                return Err(OAuthError::invalid_request(format!(
                    "parameter '{}' is repeated",
                    truncate(name)
                )));
            }
        }
        Ok(Self(pairs))
    }

    /// A parameter's value; an empty value counts as absent (OIDC Core §3.1.2.1 via RFC 6749).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, v)| n == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }
}

fn truncate(text: &str) -> String {
    text.chars()
        .take(40)
        .collect::<String>()
        .escape_default()
        .to_string()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResponseMode {
    Query,
    Fragment,
    FormPost,
}

/// A verified place to send the user back to, with the client's state.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ReturnTo {
    pub redirect_uri: String,
    pub mode: ResponseMode,
    pub state: Option<String>,
}

/// An error that goes back to the client's verified redirect_uri (RFC 6749 §4.1.2.1).
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
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AuthorizeRequest {
    pub client_id: String,
    pub to: ReturnTo,
    pub scope: Scope,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt: Prompt,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
}

/// Checks whose failure is shown to the user, because the client is not yet trusted with it.
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
    let fail = |to: &ReturnTo, code: ErrorCode, description: String| RedirectError {
        to: to.clone(),
        error: OAuthError::new(code, description),
    };
    match params.get("state") {
        Some(state) if state.len() > 2048 => {
            return Err(fail(
                &to,
                ErrorCode::InvalidRequest,
                "state is too long".into(),
            ));
        }
        state => to.state = state.map(str::to_owned),
    }
    match params.get("response_mode") {
        None | Some("query") => {}
        Some("fragment") => to.mode = ResponseMode::Fragment,
        Some("form_post") => to.mode = ResponseMode::FormPost,
        Some(other) => {
            let msg = format!("response_mode '{}' is not supported", truncate(other));
            return Err(fail(&to, ErrorCode::InvalidRequest, msg));
        }
    }
    check(params, client).map_err(|(code, description)| fail(&to, code, description))?;
    let scope = Scope::parse(params.get("scope").unwrap_or_default())
        .map_err(|e| fail(&to, ErrorCode::InvalidScope, e))?;
    Ok(AuthorizeRequest {
        client_id: client.id.clone(),
        scope,
        nonce: params.get("nonce").map(str::to_owned),
        code_challenge: params.get("code_challenge").map(str::to_owned),
        prompt: parse_prompt(params.get("prompt"))
            .map_err(|e| fail(&to, ErrorCode::InvalidRequest, e))?,
        max_age: parse_max_age(params.get("max_age"))
            .map_err(|e| fail(&to, ErrorCode::InvalidRequest, e))?,
        login_hint: params.get("login_hint").map(str::to_owned),
        to,
    })
}

type Failure = (ErrorCode, String);

fn check(params: &Params, client: &Client) -> Result<(), Failure> {
    check_unsupported_features(params)?;
    check_response_type(params)?;
    check_grant_allowed(client)?;
    check_scope(params, client)?;
    check_pkce(params, client)?;
    check_lengths(params)
}

fn check_unsupported_features(params: &Params) -> Result<(), Failure> {
    let unsupported = [
        ("request", ErrorCode::RequestNotSupported),
        ("request_uri", ErrorCode::RequestUriNotSupported),
        ("registration", ErrorCode::RegistrationNotSupported),
    ];
    for (name, code) in unsupported {
        if params.get(name).is_some() {
            return Err((code, format!("the {name} parameter is not supported")));
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

fn check_scope(params: &Params, client: &Client) -> Result<(), Failure> {
    let requested = Scope::parse(params.get("scope").unwrap_or_default())
        .map_err(|e| (ErrorCode::InvalidScope, e))?;
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
    Ok(())
}

fn check_pkce(params: &Params, client: &Client) -> Result<(), Failure> {
    let invalid = |msg: &str| Err((ErrorCode::InvalidRequest, msg.to_owned()));
    match (
        params.get("code_challenge"),
        params.get("code_challenge_method"),
    ) {
        (None, None) if client.is_public() => invalid(
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

fn parse_prompt(value: Option<&str>) -> Result<Prompt, String> {
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
                return Err(format!(
                    "prompt value '{}' is not supported",
                    truncate(other)
                ));
            }
        }
    }
    if prompt.none && (prompt.login || prompt.consent) {
        return Err("prompt=none cannot be combined with other values".into());
    }
    Ok(prompt)
}

fn parse_max_age(value: Option<&str>) -> Result<Option<i64>, String> {
    value
        .map(|v| match v.parse::<i64>() {
            Ok(n) if n >= 0 => Ok(n),
            _ => Err("max_age must be a non-negative number of seconds".to_string()),
        })
        .transpose()
}

/// What the browser's existing session, if any, means for this request.
#[derive(Clone, Copy, Debug)]
pub struct SessionFacts {
    pub auth_time: i64,
    /// The user authenticated during this very interaction.
    pub fresh: bool,
    /// login_hint names a different user than the session's.
    pub hint_mismatch: bool,
}

#[derive(Debug, PartialEq)]
pub enum Next {
    Login,
    Consent,
    Issue,
    Fail(ErrorCode, &'static str),
}

/// What to do next, given the session and the scopes the user already consented to.
pub fn decide(
    req: &AuthorizeRequest,
    session: Option<SessionFacts>,
    consented: &[String],
    now: i64,
) -> Next {
    let authenticated = session.is_some_and(|s| {
        s.fresh
            || !(req.prompt.login
                || s.hint_mismatch
                // max_age=0 means "authenticate now", like prompt=login (OIDC Core §3.1.2.1).
                || req.max_age.is_some_and(|max| max == 0 || now - s.auth_time > max))
    });
    if !authenticated {
        return if req.prompt.none {
            Next::Fail(ErrorCode::LoginRequired, "the user is not signed in")
        } else {
            Next::Login
        };
    }
    if req.prompt.consent || !req.scope.is_covered_by(consented) {
        return if req.prompt.none {
            Next::Fail(
                ErrorCode::ConsentRequired,
                "the user has not consented to this request",
            )
        } else {
            Next::Consent
        };
    }
    Next::Issue
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Alg;
    use crate::oauth::client::AuthMethod;

    fn client(public: bool) -> Client {
        Client {
            id: "app".into(),
            name: "App".into(),
            secret_hash: None,
            redirect_uris: vec!["https://app.example/cb".into()],
            post_logout_redirect_uris: vec![],
            auth_method: if public {
                AuthMethod::None
            } else {
                AuthMethod::ClientSecretBasic
            },
            grant_types: vec![GrantType::AuthorizationCode],
            scopes: vec!["openid".into(), "profile".into()],
            id_token_alg: Alg::RS256,
            created_at: 0,
            ..Client::test_default()
        }
    }

    fn params(extra: &[(&str, &str)]) -> Params {
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
    fn duplicates_and_unverified_redirects_are_not_redirected() {
        let dup = vec![
            ("a".to_string(), "1".to_string()),
            ("a".to_string(), "2".to_string()),
        ];
        assert!(Params::parse(dup).is_err());
        let p = params(&[("redirect_uri", "https://evil.example/cb")]);
        assert!(verified_redirect_uri(&client(false), &p).is_err());
    }

    #[test]
    fn each_check_names_its_error() {
        let c = client(false);
        assert_eq!(
            error_of(&c, &params(&[("response_type", "token")])),
            ErrorCode::UnsupportedResponseType
        );
        assert_eq!(
            error_of(&c, &params(&[("scope", "openid admin")])),
            ErrorCode::InvalidScope
        );
        assert_eq!(
            error_of(&c, &params(&[("scope", "openid email")])),
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
            error_of(&c, &params(&[("request", "eyJ")])),
            ErrorCode::RequestNotSupported
        );
        let plain = [
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "plain"),
        ];
        assert_eq!(error_of(&c, &params(&plain)), ErrorCode::InvalidRequest);
        assert_eq!(
            error_of(&client(true), &params(&[])),
            ErrorCode::InvalidRequest
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
        let c = client(true);
        let req = validate(&c, &p, verified_redirect_uri(&c, &p).unwrap()).unwrap();
        assert_eq!(req.to.mode, ResponseMode::FormPost);
        assert_eq!(req.nonce.as_deref(), Some("n-1"));
        assert_eq!(req.max_age, Some(60));
    }

    #[test]
    fn decisions_follow_session_prompt_and_consent() {
        let c = client(false);
        let p = params(&[]);
        let mut req = validate(&c, &p, verified_redirect_uri(&c, &p).unwrap()).unwrap();
        let openid = vec!["openid".to_string()];
        let old = SessionFacts {
            auth_time: 1000,
            fresh: false,
            hint_mismatch: false,
        };
        assert_eq!(decide(&req, None, &[], 2000), Next::Login);
        assert_eq!(decide(&req, Some(old), &[], 2000), Next::Consent);
        assert_eq!(decide(&req, Some(old), &openid, 2000), Next::Issue);
        req.max_age = Some(500);
        assert_eq!(decide(&req, Some(old), &openid, 2000), Next::Login);
        assert_eq!(
            decide(
                &req,
                Some(SessionFacts { fresh: true, ..old }),
                &openid,
                2000
            ),
            Next::Issue
        );
        req.max_age = None;
        req.prompt.none = true;
        assert!(matches!(
            decide(&req, None, &[], 2000),
            Next::Fail(ErrorCode::LoginRequired, _)
        ));
        assert!(matches!(
            decide(&req, Some(old), &[], 2000),
            Next::Fail(ErrorCode::ConsentRequired, _)
        ));
        req.prompt = Prompt {
            login: true,
            ..Prompt::default()
        };
        assert_eq!(decide(&req, Some(old), &openid, 2000), Next::Login);
    }
}
