//! Operator actions shared by the CLI (and later the admin API): registering clients and
//! managing users, with the validation that keeps bad registrations out of the store.

use crate::keys::{Alg, MasterKey};
use crate::oauth::client::{AuthMethod, Client, GrantType};
use crate::oauth::logout::{self, Delivery};
use crate::oauth::scope;
use crate::password;
use crate::secret::{hash, random_id, random_token};
use crate::state::AppState;
use crate::store::{NewClient, Store, User};

/// What an operator asks for when registering a client.
#[derive(Debug, Clone)]
pub struct ClientSpec {
    pub id: Option<String>,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub auth_method: AuthMethod,
    pub grant_types: Vec<GrantType>,
    pub scopes: Vec<String>,
    pub id_token_alg: Alg,
    /// Use this secret instead of generating one (the demo client's is derived).
    pub secret: Option<String>,
    pub audience: Option<String>,
    pub access_token_ttl: Option<i64>,
    pub id_token_ttl: Option<i64>,
    pub refresh_token_ttl: Option<i64>,
    pub backchannel_logout_uri: Option<String>,
}

impl ClientSpec {
    /// A confidential client with the defaults of `tessera client create`.
    pub fn new(name: &str, redirect_uris: Vec<String>) -> Self {
        Self {
            id: None,
            name: name.to_owned(),
            redirect_uris,
            post_logout_redirect_uris: vec![],
            auth_method: AuthMethod::ClientSecretBasic,
            grant_types: vec![],
            scopes: vec![],
            id_token_alg: Alg::RS256,
            secret: None,
            audience: None,
            access_token_ttl: None,
            id_token_ttl: None,
            refresh_token_ttl: None,
            backchannel_logout_uri: None,
        }
    }
}

/// Registers a client; returns it and, for confidential clients, the secret (shown once).
pub async fn create_client(
    store: &Store,
    spec: ClientSpec,
    now: i64,
) -> Result<(Client, Option<String>), String> {
    let id = spec.id.clone().unwrap_or_else(random_id);
    if id.is_empty() || id.len() > 128 || !id.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
        return Err("client id must be 1-128 printable characters without spaces or ':'".into());
    }
    if spec.name.trim().is_empty() {
        return Err("client name must not be empty".into());
    }
    for uri in spec
        .redirect_uris
        .iter()
        .chain(&spec.post_logout_redirect_uris)
    {
        check_redirect_uri(uri)?;
    }
    let grants = if spec.grant_types.is_empty() {
        vec![GrantType::AuthorizationCode]
    } else {
        spec.grant_types.clone()
    };
    if grants.contains(&GrantType::AuthorizationCode) && spec.redirect_uris.is_empty() {
        return Err("the authorization_code grant needs at least one --redirect-uri".into());
    }
    let public = spec.auth_method == AuthMethod::None;
    if public && grants.contains(&GrantType::ClientCredentials) {
        return Err("a public client (auth method none) cannot use client_credentials".into());
    }
    let scopes = if spec.scopes.is_empty() {
        scope::SUPPORTED.iter().map(|s| s.to_string()).collect()
    } else {
        spec.scopes.clone()
    };
    // Besides the OIDC scopes, a client may be allowed API scopes of the operator's choosing.
    scope::Scope::parse(&scopes.join(" ")).map_err(|e| format!("--scope: {e}"))?;
    for (name, ttl) in [
        ("access token", spec.access_token_ttl),
        ("id_token", spec.id_token_ttl),
        ("refresh token", spec.refresh_token_ttl),
    ] {
        if ttl.is_some_and(|t| t <= 0) {
            return Err(format!(
                "the {name} lifetime must be a positive number of seconds"
            ));
        }
    }
    if let Some(uri) = &spec.backchannel_logout_uri {
        check_redirect_uri(uri).map_err(|e| format!("back-channel logout URI: {e}"))?;
    }
    if store
        .find_client(&id)
        .await
        .map_err(|e| e.to_string())?
        .is_some()
    {
        return Err(format!("a client with id '{id}' already exists"));
    }
    let secret = (!public).then(|| spec.secret.clone().unwrap_or_else(random_token));
    let new = NewClient {
        id,
        name: spec.name.trim().to_owned(),
        secret_hash: secret.as_deref().map(hash),
        redirect_uris: spec.redirect_uris,
        post_logout_redirect_uris: spec.post_logout_redirect_uris,
        auth_method: spec.auth_method,
        grant_types: grants,
        scopes,
        id_token_alg: spec.id_token_alg,
        audience: spec.audience,
        access_token_ttl: spec.access_token_ttl,
        id_token_ttl: spec.id_token_ttl,
        refresh_token_ttl: spec.refresh_token_ttl,
        backchannel_logout_uri: spec.backchannel_logout_uri,
    };
    let client = store
        .create_client(new, now)
        .await
        .map_err(|e| e.to_string())?;
    Ok((client, secret))
}

/// Absolute, no fragment (RFC 6749 §3.1.2); plain http only for loopback (RFC 8252 §7.3).
pub fn check_redirect_uri(uri: &str) -> Result<(), String> {
    let parsed = url::Url::parse(uri)
        .map_err(|e| format!("redirect URI '{uri}' is not an absolute URI: {e}"))?;
    if parsed.fragment().is_some() {
        return Err(format!("redirect URI '{uri}' must not contain a fragment"));
    }
    if parsed.scheme() == "http" {
        let loopback = matches!(parsed.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
        if !loopback {
            return Err(format!(
                "redirect URI '{uri}' must use https (http is allowed only for localhost)"
            ));
        }
    }
    if matches!(parsed.scheme(), "javascript" | "data" | "file" | "vbscript") {
        return Err(format!(
            "redirect URI scheme '{}' is not allowed",
            parsed.scheme()
        ));
    }
    Ok(())
}

pub async fn create_user(
    store: &Store,
    username: &str,
    email: Option<String>,
    name: Option<String>,
    password: &str,
    now: i64,
) -> Result<User, String> {
    let username = username.trim();
    if username.is_empty() || username.len() > 128 || username.chars().any(char::is_whitespace) {
        return Err("username must be 1-128 characters without spaces".into());
    }
    password::check_policy(password)?;
    if store
        .find_user_by_username(username)
        .await
        .map_err(|e| e.to_string())?
        .is_some()
    {
        return Err(format!("user '{username}' already exists"));
    }
    let hashed = password::hash(password)?;
    store
        .create_user(username, email, name, hashed, now)
        .await
        .map_err(|e| e.to_string())
}

/// Replaces a password and ends the user's other sessions (all of them when `keep` is None),
/// so a stolen session does not survive the change.
pub async fn set_password(
    state: &AppState,
    username: &str,
    password: &str,
    keep: Option<&str>,
    delivery: Delivery,
) -> Result<usize, String> {
    password::check_policy(password)?;
    let user = find_user(state, username).await?;
    let hashed = password::hash(password)?;
    state
        .store
        .set_password(username, hashed, state.now())
        .await
        .map_err(|e| e.to_string())?;
    logout::end_user_sessions(state, &user.id, keep, delivery)
        .await
        .map_err(|e| e.to_string())
}

/// Disables (or re-enables) a user; disabling ends every session and so every grant.
pub async fn set_disabled(
    state: &AppState,
    username: &str,
    disabled: bool,
    delivery: Delivery,
) -> Result<usize, String> {
    let user = find_user(state, username).await?;
    state
        .store
        .set_disabled(username, disabled)
        .await
        .map_err(|e| e.to_string())?;
    if disabled {
        logout_everywhere(state, &user, delivery).await
    } else {
        Ok(0)
    }
}

/// Force logout: every session of the user ends and every client is told.
pub async fn logout_everywhere(
    state: &AppState,
    user: &User,
    delivery: Delivery,
) -> Result<usize, String> {
    logout::end_user_sessions(state, &user.id, None, delivery)
        .await
        .map_err(|e| e.to_string())
}

/// A session as operators and the admin API see it.
pub fn session_json(s: &crate::store::Session) -> serde_json::Value {
    serde_json::json!({
        "sid": s.id,
        "user_id": s.user_id,
        "user_agent": s.user_agent,
        "ip": s.ip,
        "amr": s.amr.split(' ').collect::<Vec<_>>(),
        "auth_time": s.auth_time,
        "created_at": s.created_at,
        "last_seen_at": s.last_seen_at,
        "expires_at": s.expires_at,
    })
}

pub async fn find_user(state: &AppState, username: &str) -> Result<User, String> {
    state
        .store
        .find_user_by_username(username)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no user '{username}'"))
}

pub const DEMO_CLIENT_ID: &str = "demo-app";
pub const DEMO_USERNAME: &str = "demo";
pub const DEMO_REDIRECT_URI: &str = "http://localhost:3000/callback";
pub const POSTMAN_CALLBACKS: [&str; 2] = [
    "https://oauth.pstmn.io/v1/callback",
    "https://oauth.pstmn.io/v1/browser-callback",
];

pub struct Demo {
    pub client_secret: String,
    pub password: String,
}

/// Creates the demo client and user once. Their secrets derive from the master key, so every
/// start prints the same working values without storing them.
pub async fn ensure_demo(store: &Store, master: &MasterKey, now: i64) -> Result<Demo, String> {
    let demo = Demo {
        client_secret: master.derive("tessera demo client secret"),
        password: master.derive("tessera demo user password")[..16].to_owned(),
    };
    if store
        .find_client(DEMO_CLIENT_ID)
        .await
        .map_err(|e| e.to_string())?
        .is_none()
    {
        let mut redirect_uris = vec![DEMO_REDIRECT_URI.to_owned()];
        redirect_uris.extend(POSTMAN_CALLBACKS.iter().map(|s| s.to_string()));
        let spec = ClientSpec {
            id: Some(DEMO_CLIENT_ID.into()),
            post_logout_redirect_uris: vec!["http://localhost:3000/".into()],
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            secret: Some(demo.client_secret.clone()),
            ..ClientSpec::new("Demo App", redirect_uris)
        };
        create_client(store, spec, now).await?;
    }
    if store
        .find_user_by_username(DEMO_USERNAME)
        .await
        .map_err(|e| e.to_string())?
        .is_none()
    {
        create_user(
            store,
            DEMO_USERNAME,
            Some("demo@example.com".into()),
            Some("Demo User".into()),
            &demo.password,
            now,
        )
        .await?;
    }
    Ok(demo)
}

#[cfg(test)]
mod tests {
    use super::check_redirect_uri;

    #[test]
    fn redirect_uri_rules() {
        assert!(check_redirect_uri("https://app.example/cb").is_ok());
        assert!(check_redirect_uri("http://localhost:3000/cb").is_ok());
        assert!(check_redirect_uri("com.example.app:/oauth").is_ok());
        assert!(check_redirect_uri("http://app.example/cb").is_err());
        assert!(check_redirect_uri("https://app.example/cb#x").is_err());
        assert!(check_redirect_uri("/relative").is_err());
        assert!(check_redirect_uri("javascript:alert(1)").is_err());
    }
}
