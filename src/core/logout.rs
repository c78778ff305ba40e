//! RP-Initiated Logout 1.0 (§2–3): validating the request, deciding whether it may end the
//! session without asking, and where the browser goes afterwards. Errors are shown to the
//! user, never redirected.

use super::Ctx;
use super::error::OAuthError;
use super::model::{Client, Session};
use super::params::Params;
use super::ports::ClientRepo;
use crate::tokens;

/// A validated logout request.
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

pub async fn logout_request<S: ClientRepo>(
    cx: &Ctx<'_, S>,
    params: &Params,
) -> Result<LogoutRequest, OAuthError> {
    let bad = |msg: &'static str| OAuthError::invalid_request(msg);
    let mut request = LogoutRequest {
        state: params.get("state").map(str::to_owned),
        ..Default::default()
    };
    // An expired id_token is still a fine hint (§2).
    let hint = match params.get("id_token_hint") {
        Some(token) => Some(
            tokens::verify(&cx.keys, token, "JWT")
                .filter(|c: &HintClaims| c.iss == cx.policy.issuer)
                .ok_or_else(|| bad("id_token_hint is not an id_token issued by this provider"))?,
        ),
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
            cx.store
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
