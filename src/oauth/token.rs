//! The token endpoint (RFC 6749 §3.2): client authentication, then one handler per grant.

use super::authorize::Params;
use super::client::{Client, GrantType};
use super::client_auth;
use super::issue::{self, Person, Subject, TokenResponse};
use super::pkce;
use super::scope::Scope;
use super::throttle::Subjects;
use crate::error::{ErrorCode, OAuthError};
use crate::state::AppState;
use crate::store::{Grant, NewGrant, Session, User};

/// The grant a token request asks for, parsed by `grant_type`.
#[derive(Debug)]
pub enum TokenRequest {
    AuthorizationCode {
        code: String,
        redirect_uri: String,
        code_verifier: Option<String>,
    },
    RefreshToken {
        refresh_token: String,
        scope: Option<Scope>,
    },
    ClientCredentials {
        scope: Option<Scope>,
    },
}

impl TokenRequest {
    pub fn parse(params: &Params) -> Result<Self, OAuthError> {
        let required = |name: &str| {
            params
                .get(name)
                .map(str::to_owned)
                .ok_or_else(|| OAuthError::invalid_request(format!("{name} is required")))
        };
        let scope = || {
            params
                .get("scope")
                .map(Scope::parse)
                .transpose()
                .map_err(|e| OAuthError::new(ErrorCode::InvalidScope, e))
        };
        match params.get("grant_type") {
            None => Err(OAuthError::invalid_request("grant_type is required")),
            Some("authorization_code") => Ok(Self::AuthorizationCode {
                code: required("code")?,
                redirect_uri: required("redirect_uri")?,
                code_verifier: params.get("code_verifier").map(str::to_owned),
            }),
            Some("refresh_token") => Ok(Self::RefreshToken {
                refresh_token: required("refresh_token")?,
                scope: scope()?,
            }),
            Some("client_credentials") => Ok(Self::ClientCredentials { scope: scope()? }),
            Some(other) => Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                format!(
                    "grant_type '{}' is not supported",
                    other.chars().take(60).collect::<String>()
                ),
            )),
        }
    }

    fn grant_type(&self) -> GrantType {
        match self {
            Self::AuthorizationCode { .. } => GrantType::AuthorizationCode,
            Self::RefreshToken { .. } => GrantType::RefreshToken,
            Self::ClientCredentials { .. } => GrantType::ClientCredentials,
        }
    }
}

/// Authenticates the client presented by a request (shared by token, revoke and introspect),
/// throttling repeated failures per client and per IP.
pub async fn authenticated_client(
    state: &AppState,
    authorization: Option<&str>,
    params: &Params,
    ip: Option<&str>,
) -> Result<Client, OAuthError> {
    let presented = client_auth::presented(
        authorization,
        params.get("client_id"),
        params.get("client_secret"),
    )?;
    let throttle = Subjects::client(state, &presented.client_id, ip);
    if let Some(wait) = throttle.locked_for(state).await? {
        return Err(OAuthError::throttled(wait));
    }
    let client = state.store.find_client(&presented.client_id).await?;
    match client_auth::authenticate(client, &presented) {
        Ok(client) => {
            if presented.secret.is_some() {
                throttle.succeeded(state).await?;
            }
            Ok(client)
        }
        Err(e) => {
            state.metrics.client_auth_failed();
            throttle.failed(state).await?;
            Err(e)
        }
    }
}

pub async fn token(
    state: &AppState,
    authorization: Option<&str>,
    params: Params,
    ip: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    let client = authenticated_client(state, authorization, &params, ip).await?;
    let request = TokenRequest::parse(&params)?;
    if !client.allows_grant(request.grant_type()) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            format!("this client may not use the {} grant", request.grant_type()),
        ));
    }
    match request {
        TokenRequest::AuthorizationCode {
            code,
            redirect_uri,
            code_verifier,
        } => {
            exchange_code(
                state,
                &client,
                &code,
                &redirect_uri,
                code_verifier.as_deref(),
            )
            .await
        }
        TokenRequest::RefreshToken {
            refresh_token,
            scope,
        } => refresh(state, &client, &refresh_token, scope).await,
        TokenRequest::ClientCredentials { scope } => {
            client_credentials(state, &client, scope).await
        }
    }
}

/// RFC 6749 §4.1.3 with PKCE (RFC 7636 §4.6) and replay detection (§4.1.2, RFC 9700 §4.2.4).
async fn exchange_code(
    state: &AppState,
    client: &Client,
    code: &str,
    redirect_uri: &str,
    verifier: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    let now = state.now();
    let store = &state.store;
    let invalid = |msg: &'static str| OAuthError::invalid_grant(msg);
    let row = store
        .find_code(code)
        .await?
        .ok_or_else(|| invalid("the authorization code is invalid"))?;
    if row.client_id != client.id {
        return Err(invalid(
            "the authorization code was issued to another client",
        ));
    }
    if row.used_at.is_some() || !store.claim_code(&row.code_hash, now).await? {
        store.revoke_grant(&row.grant_id, now).await?;
        tracing::warn!(client_id = %client.id, "authorization code replayed; its grant is revoked");
        return Err(invalid(
            "the authorization code was already used; tokens issued with it are revoked",
        ));
    }
    if row.expires_at <= now {
        return Err(invalid("the authorization code has expired"));
    }
    if row.redirect_uri != redirect_uri {
        return Err(invalid(
            "redirect_uri does not match the authorization request",
        ));
    }
    match (&row.code_challenge, verifier) {
        (Some(challenge), Some(verifier)) if pkce::verify_s256(verifier, challenge) => {}
        (Some(_), Some(_)) => {
            return Err(invalid("code_verifier does not match the code_challenge"));
        }
        (Some(_), None) => return Err(invalid("code_verifier is required")),
        (None, Some(_)) => {
            return Err(invalid(
                "code_verifier sent but the authorization request had no code_challenge",
            ));
        }
        (None, None) => {}
    }
    let (grant, user, session) = live_grant(state, client, &row.grant_id).await?;
    let refresh_token = issue::first_refresh_token(state, client, &grant).await?;
    let subject = Subject {
        grant: &grant,
        person: Some(Person {
            user: &user,
            session: &session,
        }),
        nonce: row.nonce.as_deref(),
        scope: &grant.scope,
        refresh_token,
    };
    issue::issue(state, client, subject).await
}

/// The grant with its user and session, if all of them still stand.
async fn live_grant(
    state: &AppState,
    client: &Client,
    grant_id: &str,
) -> Result<(Grant, User, Session), OAuthError> {
    let store = &state.store;
    let now = state.now();
    let gone = || OAuthError::invalid_grant("the grant has been revoked or has ended");
    let grant = store
        .find_grant(grant_id)
        .await?
        .filter(|g| {
            g.client_id == client.id
                && g.revoked_at.is_none()
                && g.expires_at.is_none_or(|e| e > now)
        })
        .ok_or_else(gone)?;
    let session = match &grant.session_id {
        Some(sid) => store
            .find_session(sid)
            .await?
            .filter(|s| s.ended_at.is_none()),
        None => None,
    }
    .ok_or_else(gone)?;
    let user = store
        .find_user(&session.user_id)
        .await?
        .filter(|u| !u.disabled)
        .ok_or_else(gone)?;
    Ok((grant, user, session))
}

/// RFC 6749 §6 with rotation and reuse detection (RFC 9700 §4.14.2). The successor of a token
/// is derived from it under the master key, so a concurrent request inside the grace window
/// gets the very same successor without any plaintext token being stored.
async fn refresh(
    state: &AppState,
    client: &Client,
    token: &str,
    scope: Option<Scope>,
) -> Result<TokenResponse, OAuthError> {
    let now = state.now();
    let store = &state.store;
    let row = store
        .find_refresh_token(token)
        .await?
        .ok_or_else(|| OAuthError::invalid_grant("the refresh token is invalid"))?;
    let (grant, user, session) = live_grant(state, client, &row.grant_id).await?;
    if row.expires_at <= now {
        return Err(OAuthError::invalid_grant("the refresh token has expired"));
    }
    let granted: Vec<String> = grant.scope.split(' ').map(str::to_owned).collect();
    let scope = match scope {
        Some(narrower) if !narrower.is_covered_by(&granted) => {
            return Err(OAuthError::new(
                ErrorCode::InvalidScope,
                "the requested scope exceeds the scope originally granted",
            ));
        }
        Some(narrower) if !narrower.is_empty() => narrower.to_string(),
        _ => grant.scope.clone(),
    };

    let successor = state.master.derive(&format!("refresh-successor\0{token}"));
    let expires_at = issue::refresh_expiry(state, client, &grant, now);
    let won = row.rotated_at.is_none()
        && store
            .rotate_refresh_token(&row.token_hash, &successor, &grant.id, now, expires_at)
            .await?;
    if !won {
        let rotated_at = match row.rotated_at {
            Some(at) => at,
            None => store
                .find_refresh_token(token)
                .await?
                .and_then(|r| r.rotated_at)
                .unwrap_or(now),
        };
        let successor_stands = store.find_refresh_token(&successor).await?.is_some();
        if now - rotated_at > state.config.refresh_reuse_grace || !successor_stands {
            store.revoke_grant(&grant.id, now).await?;
            tracing::warn!(client_id = %client.id, grant = %grant.id, "refresh token reused; the grant is revoked");
            return Err(OAuthError::invalid_grant(
                "the refresh token was already used; every token of this grant is now revoked",
            ));
        }
    }
    // The device is in use: its "last seen" on the devices page moves.
    store.touch_session(&session.id, now).await?;
    let subject = Subject {
        grant: &grant,
        person: Some(Person {
            user: &user,
            session: &session,
        }),
        nonce: None,
        scope: &scope,
        refresh_token: Some(successor),
    };
    issue::issue(state, client, subject).await
}

/// RFC 6749 §4.4: the client acts for itself; there is no user, no id_token, no refresh token.
async fn client_credentials(
    state: &AppState,
    client: &Client,
    scope: Option<Scope>,
) -> Result<TokenResponse, OAuthError> {
    let user_scopes = ["openid", "profile", "email", "offline_access"];
    let scope = match scope {
        Some(requested) if !requested.is_empty() => {
            if let Some(denied) = requested.first_outside(&client.scopes) {
                return Err(OAuthError::new(
                    ErrorCode::InvalidScope,
                    format!("this client may not request scope '{denied}'"),
                ));
            }
            if let Some(user_scope) = requested
                .tokens()
                .into_iter()
                .find(|t| user_scopes.contains(t))
            {
                return Err(OAuthError::new(
                    ErrorCode::InvalidScope,
                    format!("scope '{user_scope}' needs a user; client_credentials has none"),
                ));
            }
            requested.to_string()
        }
        _ => client
            .scopes
            .iter()
            .filter(|s| !user_scopes.contains(&s.as_str()))
            .cloned()
            .collect::<Vec<_>>()
            .join(" "),
    };
    let now = state.now();
    let new = NewGrant {
        session: None,
        client_id: &client.id,
        scope: &scope,
        expires_at: None,
    };
    let grant = state.store.create_grant(new, now).await?;
    let subject = Subject {
        grant: &grant,
        person: None,
        nonce: None,
        scope: &scope,
        refresh_token: None,
    };
    issue::issue(state, client, subject).await
}
