//! The token endpoint (RFC 6749 §3.2): client authentication, then one handler per grant.

use super::authorize::Params;
use super::client::{Client, GrantType};
use super::client_auth;
use super::issue::{self, Subject, TokenResponse};
use super::pkce;
use crate::error::{ErrorCode, OAuthError};
use crate::state::AppState;

/// The grant a token request asks for, parsed by `grant_type`.
#[derive(Debug)]
pub enum TokenRequest {
    AuthorizationCode {
        code: String,
        redirect_uri: String,
        code_verifier: Option<String>,
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
        match params.get("grant_type") {
            None => Err(OAuthError::invalid_request("grant_type is required")),
            Some("authorization_code") => Ok(Self::AuthorizationCode {
                code: required("code")?,
                redirect_uri: required("redirect_uri")?,
                code_verifier: params.get("code_verifier").map(str::to_owned),
            }),
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
        }
    }
}

pub async fn token(
    state: &AppState,
    authorization: Option<&str>,
    params: Params,
) -> Result<TokenResponse, OAuthError> {
    let presented = client_auth::presented(
        authorization,
        params.get("client_id"),
        params.get("client_secret"),
    )?;
    let client = state.store.find_client(&presented.client_id).await?;
    let client = client_auth::authenticate(client, &presented)?;
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
    let gone = || invalid("the sign-in behind this code has ended");
    let grant = store
        .find_grant(&row.grant_id)
        .await?
        .filter(|g| g.revoked_at.is_none())
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
    issue::issue(
        state,
        client,
        Subject {
            grant: &grant,
            user: &user,
            session: &session,
            nonce: row.nonce.as_deref(),
        },
    )
    .await
}
