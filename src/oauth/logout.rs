//! Ending sessions, by any route (the user's device page, a password change, RP-initiated
//! logout, an admin), and telling the clients: OIDC Back-Channel Logout 1.0.

use std::time::Duration;

use serde::Serialize;
use serde_json::json;

use super::client::Client;
use crate::secret::random_id;
use crate::state::AppState;
use crate::store::Session;
use crate::tokens;

const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// Lifetime of a back-channel logout token (seconds).
pub const LOGOUT_TOKEN_TTL: i64 = 120;

/// Whether the caller waits for clients to be told (a CLI about to exit) or not (a request).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Background,
    Wait,
}

#[derive(Serialize)]
struct LogoutToken<'a> {
    iss: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
    jti: String,
    sub: &'a str,
    sid: &'a str,
    events: serde_json::Value,
}

/// Ends each session (revoking its grants, refresh tokens and access tokens) and sends a
/// logout token to every client with a back-channel URI that held a grant in it.
pub async fn end_sessions(
    state: &AppState,
    sessions: &[Session],
    delivery: Delivery,
) -> Result<usize, sea_orm::DbErr> {
    let now = state.now();
    let mut ended = 0;
    let mut notices = Vec::new();
    for session in sessions {
        if !state.store.end_session(&session.id, now).await? {
            continue;
        }
        ended += 1;
        tracing::info!(sid = %session.id, "session ended");
        for client_id in state.store.session_client_ids(&session.id).await? {
            if let Some(client) = state.store.find_client(&client_id).await?
                && client.backchannel_logout_uri.is_some()
            {
                notices.push((client, session.clone()));
            }
        }
    }
    let state_http = state.http.clone();
    let messages: Vec<(String, String)> = notices
        .iter()
        .filter_map(|(client, session)| {
            Some((
                client.backchannel_logout_uri.clone()?,
                logout_token(state, client, session, now)?,
            ))
        })
        .collect();
    let send = async move {
        for (uri, token) in messages {
            let result = state_http
                .post(&uri)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("logout_token={token}"))
                .timeout(Duration::from_secs(5))
                .send()
                .await;
            match result {
                Ok(r) if r.status().is_success() => {
                    tracing::info!(%uri, "back-channel logout delivered")
                }
                Ok(r) => {
                    tracing::warn!(%uri, status = r.status().as_u16(), "back-channel logout refused")
                }
                Err(e) => tracing::warn!(%uri, error = %e, "back-channel logout failed"),
            }
        }
    };
    match delivery {
        Delivery::Wait => send.await,
        Delivery::Background => {
            actix_web::rt::spawn(send);
        }
    }
    Ok(ended)
}

/// OIDC Back-Channel Logout 1.0 §2.4.
fn logout_token(state: &AppState, client: &Client, session: &Session, now: i64) -> Option<String> {
    let keys = state.keys.snapshot()?;
    let key = keys.current(client.id_token_alg)?;
    let claims = LogoutToken {
        iss: &state.config.issuer,
        aud: &client.id,
        iat: now,
        exp: now + LOGOUT_TOKEN_TTL,
        jti: random_id(),
        sub: &session.user_id,
        sid: &session.id,
        events: json!({ BACKCHANNEL_EVENT: {} }),
    };
    tokens::sign(key, "logout+jwt", &claims)
        .map_err(|e| tracing::error!(error = %e, "cannot sign logout token"))
        .ok()
}

/// Every live session of a user ("sign out everywhere", force logout, disabling).
pub async fn end_user_sessions(
    state: &AppState,
    user_id: &str,
    except: Option<&str>,
    delivery: Delivery,
) -> Result<usize, sea_orm::DbErr> {
    let sessions: Vec<Session> = state
        .store
        .live_sessions(user_id, state.now())
        .await?
        .into_iter()
        .filter(|s| Some(s.id.as_str()) != except)
        .collect();
    end_sessions(state, &sessions, delivery).await
}

/// A validated RP-Initiated Logout request (OIDC RP-Initiated Logout 1.0 §2–3).
#[derive(Debug, Default)]
pub struct LogoutRequest {
    pub client: Option<Client>,
    /// Where to send the browser afterwards: exactly one of the client's registered URIs.
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
    /// From a valid id_token_hint: whose session the client believes it is ending.
    pub hint_sub: Option<String>,
    pub hint_sid: Option<String>,
}

#[derive(serde::Deserialize)]
struct HintClaims {
    iss: String,
    aud: String,
    sub: String,
    sid: Option<String>,
}

/// Checks the request; errors are shown to the user, never redirected.
pub async fn logout_request(
    state: &AppState,
    params: &super::authorize::Params,
) -> Result<LogoutRequest, crate::error::PageError> {
    use crate::error::{ErrorCode, PageError};
    let bad = |msg: &'static str| PageError::bad_request(ErrorCode::InvalidRequest, msg);
    let mut request = LogoutRequest {
        state: params.get("state").map(str::to_owned),
        ..Default::default()
    };
    let hint = match params.get("id_token_hint") {
        Some(token) => {
            let keys = state
                .keys
                .snapshot()
                .ok_or_else(|| bad("signing keys are not loaded"))?;
            // An expired id_token is still a fine hint (OIDC RP-Initiated Logout §2).
            let claims: HintClaims = tokens::verify(&keys, token, "JWT")
                .filter(|c: &HintClaims| c.iss == state.config.issuer)
                .ok_or_else(|| bad("id_token_hint is not an id_token issued by this provider"))?;
            Some(claims)
        }
        None => None,
    };
    let client_id = match (params.get("client_id"), &hint) {
        (Some(id), Some(h)) if id != h.aud => {
            return Err(bad("client_id does not match the id_token_hint"));
        }
        (Some(id), _) => Some(id.to_owned()),
        (None, Some(h)) => Some(h.aud.clone()),
        (None, None) => None,
    };
    if let Some(id) = client_id {
        request.client = Some(
            state
                .store
                .find_client(&id)
                .await?
                .ok_or_else(|| bad("unknown client_id"))?,
        );
    }
    if let Some(uri) = params.get("post_logout_redirect_uri") {
        let client = request
            .client
            .as_ref()
            .ok_or_else(|| bad("post_logout_redirect_uri needs client_id or id_token_hint"))?;
        if !client.post_logout_redirect_uris.iter().any(|u| u == uri) {
            return Err(bad(
                "post_logout_redirect_uri is not registered for this client",
            ));
        }
        request.post_logout_redirect_uri = Some(uri.to_owned());
    }
    if let Some(h) = hint {
        request.hint_sub = Some(h.sub);
        request.hint_sid = h.sid;
    }
    Ok(request)
}

impl LogoutRequest {
    /// Without confirmation only when a valid id_token_hint names this very session.
    pub fn trusted_for(&self, session: &Session) -> bool {
        match (&self.hint_sid, &self.hint_sub) {
            (Some(sid), _) => *sid == session.id,
            (None, Some(sub)) => *sub == session.user_id,
            _ => false,
        }
    }

    /// The URI to send the browser to afterwards, with state.
    pub fn return_uri(&self) -> Option<String> {
        let uri = self.post_logout_redirect_uri.as_ref()?;
        Some(match &self.state {
            Some(s) => {
                let sep = if uri.contains('?') { '&' } else { '?' };
                let encoded: String = url::form_urlencoded::byte_serialize(s.as_bytes()).collect();
                format!("{uri}{sep}state={encoded}")
            }
            None => uri.clone(),
        })
    }
}
