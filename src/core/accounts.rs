//! The operators' use cases, shared by the CLI and the admin API: registering clients and
//! managing users, with the validation that keeps bad registrations out of the store, and the
//! user's own password change. A password change, disabling a user and force logout end
//! sessions (see `sessions`).

use serde::Serialize;

use super::Ctx;
use super::error::{AccountError, StoreError};
use super::login::{self, Refusal};
use super::model::{AuthMethod, Client, ClientSpec, GrantType, Profile, User};
use super::ports::{
    ClientRepo, GrantRepo, Notifier, Offload, RevocationList, SessionRepo, ThrottleRepo, UserRepo,
};
use super::scope::{self, Scope};
use super::sessions::{self, SignedIn};
use crate::keys::MasterKey;
use crate::password;
use crate::secret::{hash, random_id, random_token};

/// Registers a client; returns it and, for confidential clients, the secret (shown once).
pub async fn create_client<S: ClientRepo>(
    store: &S,
    master: &MasterKey,
    spec: ClientSpec,
    now: i64,
) -> Result<(Client, Option<String>), AccountError> {
    let invalid = |msg: String| Err(AccountError::Invalid(msg));
    let id = spec.id.clone().unwrap_or_else(random_id);
    if id.is_empty() || id.len() > 128 || !id.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
        return invalid(
            "client id must be 1-128 printable characters without spaces or ':'".into(),
        );
    }
    if spec.name.trim().is_empty() {
        return invalid("client name must not be empty".into());
    }
    for uri in spec
        .redirect_uris
        .iter()
        .chain(&spec.post_logout_redirect_uris)
    {
        check_redirect_uri(uri)?;
    }
    let grant_types = if spec.grant_types.is_empty() {
        vec![GrantType::AuthorizationCode]
    } else {
        spec.grant_types.clone()
    };
    if grant_types.contains(&GrantType::AuthorizationCode) && spec.redirect_uris.is_empty() {
        return invalid("the authorization_code grant needs at least one --redirect-uri".into());
    }
    let public = spec.auth_method == AuthMethod::None;
    if public && grant_types.contains(&GrantType::ClientCredentials) {
        return invalid("a public client (auth method none) cannot use client_credentials".into());
    }
    let scopes = if spec.scopes.is_empty() {
        scope::SUPPORTED.iter().map(|s| s.to_string()).collect()
    } else {
        spec.scopes.clone()
    };
    // Besides the OIDC scopes, a client may be allowed API scopes of the operator's choosing.
    Scope::parse(&scopes.join(" ")).map_err(|e| AccountError::Invalid(format!("--scope: {e}")))?;
    for (name, ttl) in [
        ("access token", spec.access_token_ttl),
        ("id_token", spec.id_token_ttl),
        ("refresh token", spec.refresh_token_ttl),
    ] {
        if ttl.is_some_and(|t| t <= 0) {
            return invalid(format!(
                "the {name} lifetime must be a positive number of seconds"
            ));
        }
    }
    if spec.profile == Some(Profile::Fapi2) && spec.auth_method != AuthMethod::PrivateKeyJwt {
        return invalid(
            "the FAPI 2.0 profile needs --auth-method private_key_jwt: a confidential client that proves itself with a key pair"
                .into(),
        );
    }
    if spec.introspect_any && public {
        return invalid("a public client cannot introspect tokens".into());
    }
    if spec.refresh_reuse_grace.is_some_and(|g| g < 0) {
        return invalid("the refresh reuse grace must not be negative".into());
    }
    if let Some(uri) = &spec.backchannel_logout_uri {
        check_redirect_uri(uri)
            .map_err(|e| AccountError::Invalid(format!("back-channel logout URI: {e}")))?;
    }
    if store.find_client(&id).await?.is_some() {
        return Err(AccountError::Exists(format!(
            "a client with id '{id}' already exists"
        )));
    }
    check_client_keys(&spec)?;
    let secret = spec
        .auth_method
        .uses_secret()
        .then(|| spec.secret.clone().unwrap_or_else(random_token));
    let secret_sealed = secret
        .as_deref()
        .filter(|_| spec.auth_method == AuthMethod::ClientSecretJwt)
        .map(|s| master.seal(&Client::secret_label(&id), s.as_bytes()));
    let client = Client {
        id,
        name: spec.name.trim().to_owned(),
        secret_hash: secret.as_deref().map(hash),
        secret_sealed,
        redirect_uris: spec.redirect_uris,
        post_logout_redirect_uris: spec.post_logout_redirect_uris,
        auth_method: spec.auth_method,
        grant_types,
        scopes,
        id_token_alg: spec.id_token_alg,
        access_token_alg: spec.access_token_alg,
        created_at: now,
        audience: spec.audience,
        access_token_ttl: spec.access_token_ttl,
        id_token_ttl: spec.id_token_ttl,
        refresh_token_ttl: spec.refresh_token_ttl,
        refresh_reuse_grace: spec.refresh_reuse_grace,
        backchannel_logout_uri: spec.backchannel_logout_uri,
        introspect_any: spec.introspect_any,
        jwks: spec.jwks,
        jwks_uri: spec.jwks_uri,
        require_dpop: spec.require_dpop,
        require_par: spec.require_par,
        require_mfa: spec.require_mfa,
        profile: spec.profile,
    };
    store.insert_client(&client).await?;
    Ok((client, secret))
}

/// A private_key_jwt client registers its public keys one way: a JWK Set, or a URL serving it.
/// Other clients register none.
fn check_client_keys(spec: &ClientSpec) -> Result<(), AccountError> {
    let invalid = |msg: String| Err(AccountError::Invalid(msg));
    match (&spec.jwks, &spec.jwks_uri) {
        _ if spec.auth_method != AuthMethod::PrivateKeyJwt => {
            if spec.jwks.is_some() || spec.jwks_uri.is_some() {
                return invalid(
                    "--jwks-uri and --jwks-file go with --auth-method private_key_jwt".into(),
                );
            }
            Ok(())
        }
        (Some(_), Some(_)) => invalid("give --jwks-uri or --jwks-file, not both".into()),
        (None, None) => {
            invalid("private_key_jwt needs the client's keys: --jwks-uri or --jwks-file".into())
        }
        (Some(document), None) => match crate::keys::JwkSet::parse(document.as_bytes()) {
            Ok(_) => Ok(()),
            Err(e) => invalid(format!("--jwks-file: {e}")),
        },
        (None, Some(uri)) => {
            check_redirect_uri(uri).map_err(|e| AccountError::Invalid(format!("--jwks-uri: {e}")))
        }
    }
}

/// Absolute, no fragment (RFC 6749 §3.1.2); plain http only for loopback (RFC 8252 §7.3).
pub fn check_redirect_uri(uri: &str) -> Result<(), AccountError> {
    let invalid = |msg: String| Err(AccountError::Invalid(msg));
    let parsed = match url::Url::parse(uri) {
        Ok(parsed) => parsed,
        Err(e) => return invalid(format!("redirect URI '{uri}' is not an absolute URI: {e}")),
    };
    if parsed.fragment().is_some() {
        return invalid(format!("redirect URI '{uri}' must not contain a fragment"));
    }
    if parsed.scheme() == "http" {
        let loopback = matches!(parsed.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
        if !loopback {
            return invalid(format!(
                "redirect URI '{uri}' must use https (http is allowed only for localhost)"
            ));
        }
    }
    if matches!(parsed.scheme(), "javascript" | "data" | "file" | "vbscript") {
        return invalid(format!(
            "redirect URI scheme '{}' is not allowed",
            parsed.scheme()
        ));
    }
    Ok(())
}

/// Whether `origin` is the origin of some client's registered redirect URI: browser apps may
/// call the token-family endpoints from there (CORS), and from nowhere else.
pub async fn is_registered_origin<S: ClientRepo>(
    store: &S,
    origin: &str,
) -> Result<bool, StoreError> {
    let clients = store.list_clients().await?;
    Ok(clients
        .iter()
        .flat_map(|c| &c.redirect_uris)
        .filter_map(|uri| url::Url::parse(uri).ok())
        .any(|uri| uri.origin().ascii_serialization() == origin))
}

/// Who a new user is; the password is checked against the policy and hashed with argon2id.
pub struct NewUser<'a> {
    pub username: &'a str,
    pub email: Option<String>,
    pub name: Option<String>,
    pub password: &'a str,
}

pub async fn create_user<S: UserRepo, O: Offload>(
    store: &S,
    offload: &O,
    new: NewUser<'_>,
    now: i64,
) -> Result<User, AccountError> {
    let username = new.username.trim();
    if username.is_empty() || username.len() > 128 || username.chars().any(char::is_whitespace) {
        return Err(AccountError::Invalid(
            "username must be 1-128 characters without spaces".into(),
        ));
    }
    password::check_policy(new.password).map_err(|e| AccountError::Invalid(e.to_string()))?;
    if store.find_user_by_username(username).await?.is_some() {
        return Err(AccountError::Exists(format!(
            "user '{username}' already exists"
        )));
    }
    let user = User {
        id: random_id(),
        username: username.to_owned(),
        email: new.email,
        name: new.name,
        password_hash: hash_password(offload, new.password).await?,
        disabled: false,
        password_changed_at: now,
        created_at: now,
    };
    store.insert_user(&user).await?;
    Ok(user)
}

async fn hash_password<O: Offload>(offload: &O, password: &str) -> Result<String, AccountError> {
    let password = zeroize::Zeroizing::new(password.to_owned());
    offload
        .run(move || password::hash(&password))
        .await
        .ok_or(AccountError::Busy)?
        .map_err(|e| AccountError::Invalid(e.to_string()))
}

pub async fn find_user<S: UserRepo>(store: &S, username: &str) -> Result<User, AccountError> {
    store
        .find_user_by_username(username)
        .await?
        .ok_or_else(|| AccountError::NotFound(format!("no user '{username}'")))
}

/// Replaces a password and ends the user's other sessions (all of them when `keep` is None),
/// so a stolen session does not survive the change. Returns how many sessions ended.
pub async fn set_password<S, O, N>(
    cx: &Ctx<'_, S>,
    offload: &O,
    notifier: &N,
    username: &str,
    password: &str,
    keep: Option<&str>,
) -> Result<usize, AccountError>
where
    S: UserRepo + SessionRepo + GrantRepo + ClientRepo + RevocationList,
    O: Offload,
    N: Notifier,
{
    password::check_policy(password).map_err(|e| AccountError::Invalid(e.to_string()))?;
    let user = find_user(cx.store, username).await?;
    let hashed = hash_password(offload, password).await?;
    cx.store.set_password(&user.id, &hashed, cx.now).await?;
    Ok(sessions::end_user_sessions(cx, notifier, &user.id, keep).await?)
}

/// Disables (or re-enables) a user; disabling ends every session and so every grant.
pub async fn set_disabled<S, N>(
    cx: &Ctx<'_, S>,
    notifier: &N,
    username: &str,
    disabled: bool,
) -> Result<usize, AccountError>
where
    S: UserRepo + SessionRepo + GrantRepo + ClientRepo + RevocationList,
    N: Notifier,
{
    let user = find_user(cx.store, username).await?;
    cx.store.set_disabled(&user.id, disabled).await?;
    if disabled {
        logout_everywhere(cx, notifier, username).await
    } else {
        Ok(0)
    }
}

/// Force logout: every session of the user ends and every client is told.
pub async fn logout_everywhere<S, N>(
    cx: &Ctx<'_, S>,
    notifier: &N,
    username: &str,
) -> Result<usize, AccountError>
where
    S: UserRepo + SessionRepo + GrantRepo + ClientRepo + RevocationList,
    N: Notifier,
{
    let user = find_user(cx.store, username).await?;
    Ok(sessions::end_user_sessions(cx, notifier, &user.id, None).await?)
}

/// What became of a password change on the account page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordChange {
    Changed,
    /// The current password is wrong; answer only after `delay` (as for a sign-in).
    WrongCurrent {
        delay: std::time::Duration,
    },
    Locked {
        seconds: i64,
    },
    Mismatch,
    Policy(password::PolicyError),
}

/// The signed-in user changes their own password: the current one is checked (throttled like
/// a sign-in) and every other session ends.
pub async fn change_own_password<S, O, N>(
    cx: &Ctx<'_, S>,
    offload: &O,
    notifier: &N,
    signed: &SignedIn,
    form: PasswordForm<'_>,
) -> Result<PasswordChange, AccountError>
where
    S: UserRepo + ThrottleRepo + SessionRepo + GrantRepo + ClientRepo + RevocationList,
    O: Offload,
    N: Notifier,
{
    let username = &signed.user.username;
    match login::check_credentials(cx, offload, username, form.current, form.ip).await? {
        Err(Refusal::Locked { seconds }) => return Ok(PasswordChange::Locked { seconds }),
        Err(Refusal::WrongCredentials { delay }) => {
            return Ok(PasswordChange::WrongCurrent { delay });
        }
        Ok(_) => {}
    }
    if form.new != form.confirm {
        return Ok(PasswordChange::Mismatch);
    }
    if let Err(e) = password::check_policy(form.new) {
        return Ok(PasswordChange::Policy(e));
    }
    set_password(
        cx,
        offload,
        notifier,
        username,
        form.new,
        Some(&signed.session.id),
    )
    .await?;
    Ok(PasswordChange::Changed)
}

/// The account page's password form.
pub struct PasswordForm<'a> {
    pub current: &'a str,
    pub new: &'a str,
    pub confirm: &'a str,
    pub ip: Option<&'a str>,
}

/// A user as operators see it (the CLI's `--json` and the admin API).
#[derive(Serialize, Debug)]
pub struct UserSummary<'a> {
    pub id: &'a str,
    pub username: &'a str,
    pub email: Option<&'a str>,
    pub name: Option<&'a str>,
    pub disabled: bool,
    pub created_at: i64,
}

impl<'a> From<&'a User> for UserSummary<'a> {
    fn from(u: &'a User) -> Self {
        Self {
            id: &u.id,
            username: &u.username,
            email: u.email.as_deref(),
            name: u.name.as_deref(),
            disabled: u.disabled,
            created_at: u.created_at,
        }
    }
}

pub const DEMO_CLIENT_ID: &str = "demo-app";
pub const DEMO_USERNAME: &str = "demo";
/// The demo app run on its own (`cargo run -p rp-web`) listens here.
pub const DEMO_STANDALONE_URL: &str = "http://localhost:3000";
pub const POSTMAN_CALLBACKS: [&str; 2] = [
    "https://oauth.pstmn.io/v1/callback",
    "https://oauth.pstmn.io/v1/browser-callback",
];

/// The demo client's secret and demo user's password.
pub struct Demo {
    pub client_secret: String,
    pub password: String,
}

/// Where the built-in demo app lives under an issuer.
pub fn demo_app_url(issuer: &str) -> String {
    format!("{}/demo", issuer.trim_end_matches('/'))
}

/// The demo client's registration: the built-in demo app under `issuer`, the same app run
/// on its own, and Postman's callbacks.
fn demo_client_spec(issuer: &str, secret: &str) -> ClientSpec {
    let apps = [demo_app_url(issuer), DEMO_STANDALONE_URL.to_owned()];
    let mut redirect_uris: Vec<String> = apps.iter().map(|a| format!("{a}/callback")).collect();
    redirect_uris.extend(POSTMAN_CALLBACKS.iter().map(|s| s.to_string()));
    ClientSpec {
        id: Some(DEMO_CLIENT_ID.into()),
        post_logout_redirect_uris: apps.iter().map(|a| format!("{a}/")).collect(),
        grant_types: vec![
            GrantType::AuthorizationCode,
            GrantType::RefreshToken,
            GrantType::ClientCredentials,
        ],
        secret: Some(secret.to_owned()),
        ..ClientSpec::new("Demo App", redirect_uris)
    }
}

/// Creates the demo client and user once. Their secrets derive from the master key, so every
/// start prints the same working values without storing them. A demo client registered for
/// another issuer (or by an older version) is registered again, with the same secret.
pub async fn ensure_demo<S: ClientRepo + UserRepo, O: Offload>(
    store: &S,
    offload: &O,
    master: &MasterKey,
    issuer: &str,
    now: i64,
) -> Result<Demo, AccountError> {
    let demo = Demo {
        client_secret: master.derive("tessera demo client secret"),
        password: master.derive("tessera demo user password")[..16].to_owned(),
    };
    let spec = demo_client_spec(issuer, &demo.client_secret);
    let current = store.find_client(DEMO_CLIENT_ID).await?;
    let up_to_date = current.as_ref().is_some_and(|c| {
        c.redirect_uris == spec.redirect_uris
            && c.post_logout_redirect_uris == spec.post_logout_redirect_uris
            && c.grant_types == spec.grant_types
    });
    if !up_to_date {
        if current.is_some() {
            store.delete_client(DEMO_CLIENT_ID).await?;
        }
        create_client(store, master, spec, now).await?;
    }
    if store.find_user_by_username(DEMO_USERNAME).await?.is_none() {
        let new = NewUser {
            username: DEMO_USERNAME,
            email: Some("demo@example.com".into()),
            name: Some("Demo User".into()),
            password: &demo.password,
        };
        create_user(store, offload, new, now).await?;
    }
    Ok(demo)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testing::{
        Inline, MemoryStore, Recorder, block_on, context, master, policy, seed_user_grant,
    };

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

    #[test]
    fn registrations_are_checked_and_secrets_stored_hashed() {
        let store = MemoryStore::default();
        let spec = ClientSpec::new("App", vec!["https://app.example/cb".into()]);
        let (client, secret) = block_on(create_client(&store, master(), spec.clone(), 5)).unwrap();
        let secret = secret.unwrap();
        assert_eq!(client.secret_hash, Some(hash(&secret)));
        assert_eq!(client.grant_types, vec![GrantType::AuthorizationCode]);
        let again = ClientSpec {
            id: Some(client.id.clone()),
            ..spec.clone()
        };
        assert!(matches!(
            block_on(create_client(&store, master(), again, 6)),
            Err(AccountError::Exists(_))
        ));
        let public_cc = ClientSpec {
            auth_method: AuthMethod::None,
            grant_types: vec![GrantType::ClientCredentials],
            ..spec.clone()
        };
        assert!(matches!(
            block_on(create_client(&store, master(), public_cc, 6)),
            Err(AccountError::Invalid(_))
        ));
        let no_redirect = ClientSpec::new("App", vec![]);
        assert!(block_on(create_client(&store, master(), no_redirect, 6)).is_err());
    }

    #[test]
    fn a_password_change_ends_every_other_session() {
        let store = MemoryStore::default();
        let policy = policy();
        let (_, user, kept) = seed_user_grant(&store, 100);
        let (_, _, other) = crate::core::testing::seed_session(&store, &user, 100);
        let cx = context(&store, &policy, 200);
        let ended = block_on(set_password(
            &cx,
            &Inline,
            &Recorder::default(),
            &user.username,
            "a brand new password",
            Some(&kept.id),
        ))
        .unwrap();
        assert_eq!(ended, 1);
        let live = block_on(store.live_sessions(&user.id, 200)).unwrap();
        assert_eq!(
            live.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
            [kept.id.as_str()]
        );
        assert!(!live.iter().any(|s| s.id == other.id));
        let user = block_on(store.find_user(&user.id)).unwrap().unwrap();
        assert!(password::verify(
            "a brand new password",
            Some(&user.password_hash)
        ));
        let short = block_on(set_password(
            &cx,
            &Inline,
            &Recorder::default(),
            &user.username,
            "short",
            None,
        ));
        assert!(matches!(short, Err(AccountError::Invalid(_))));
    }
}
