//! The authorization flow across requests: /authorize, then login and consent pages, ending
//! with a code (or an error) sent back to the client. All state lives in the database, so any
//! replica can serve any step.

use super::authorize::{self, AuthorizeRequest, Next, Params, ReturnTo, SessionFacts};
use crate::error::{ErrorCode, OAuthError, PageError};
use crate::secret::random_token;
use crate::state::AppState;
use crate::store::{Interaction, NewCode, NewGrant, Session, User};

/// The answer to send back to the client's redirect_uri.
#[derive(Debug)]
pub struct AuthResponse {
    pub to: ReturnTo,
    pub params: Vec<(&'static str, String)>,
}

pub enum Outcome {
    Respond(AuthResponse),
    Login { interaction: String },
    Consent { interaction: String },
}

/// A signed-in browser: its session and user.
pub struct Signed {
    pub session: Session,
    pub user: User,
}

pub async fn start(
    state: &AppState,
    params: Params,
    signed: Option<Signed>,
) -> Result<Outcome, PageError> {
    let now = state.now();
    let client_id = params.get("client_id").ok_or_else(|| {
        PageError::bad_request(ErrorCode::InvalidRequest, "client_id is required")
    })?;
    let client = state.store.find_client(client_id).await?.ok_or_else(|| {
        PageError::bad_request(
            ErrorCode::InvalidClient,
            "this application is not registered here (unknown client_id)",
        )
    })?;
    let redirect_uri = authorize::verified_redirect_uri(&client, &params)?;
    let req = match authorize::validate(&client, &params, redirect_uri) {
        Ok(req) => req,
        Err(e) => return Ok(Outcome::Respond(error_response(state, e.to, e.error))),
    };
    let (facts, consented) = match &signed {
        Some(s) => (
            Some(facts(&req, s, false)),
            state.store.consented_scopes(&s.user.id, &client.id).await?,
        ),
        None => (None, Vec::new()),
    };
    match authorize::decide(&req, facts, &consented, now) {
        Next::Issue => {
            let s = signed.ok_or_else(|| PageError::from(OAuthError::server_error()))?;
            Ok(Outcome::Respond(issue_code(state, &req, &s.session).await?))
        }
        Next::Fail(code, description) => Ok(Outcome::Respond(error_response(
            state,
            req.to,
            OAuthError::new(code, description),
        ))),
        next => {
            let json = serde_json::to_string(&req).map_err(|_| OAuthError::server_error())?;
            let interaction = state
                .store
                .create_interaction(&client.id, json, now, state.config.interaction_ttl)
                .await?;
            Ok(if next == Next::Login {
                Outcome::Login { interaction }
            } else {
                Outcome::Consent { interaction }
            })
        }
    }
}

fn facts(req: &AuthorizeRequest, signed: &Signed, fresh: bool) -> SessionFacts {
    SessionFacts {
        auth_time: signed.session.auth_time,
        fresh,
        hint_mismatch: req.login_hint.as_deref().is_some_and(|hint| {
            hint != signed.user.username && Some(hint) != signed.user.email.as_deref()
        }),
    }
}

/// A pending interaction and the request it carries.
pub async fn pending(
    state: &AppState,
    id: &str,
) -> Result<(Interaction, AuthorizeRequest), PageError> {
    let expired = || {
        PageError::bad_request(
            ErrorCode::InvalidRequest,
            "this sign-in request has expired or was already completed; go back to the application and start again",
        )
    };
    let interaction = state
        .store
        .pending_interaction(id, state.now())
        .await?
        .ok_or_else(expired)?;
    let req: AuthorizeRequest =
        serde_json::from_str(&interaction.request).map_err(|_| expired())?;
    Ok((interaction, req))
}

/// After a successful login in this interaction: consent if needed, else the code.
pub async fn after_login(
    state: &AppState,
    interaction: &Interaction,
    req: &AuthorizeRequest,
    signed: &Signed,
) -> Result<Outcome, PageError> {
    let now = state.now();
    state
        .store
        .interaction_logged_in(&interaction.id, &signed.session.id, now)
        .await?;
    let consented = state
        .store
        .consented_scopes(&signed.user.id, &req.client_id)
        .await?;
    match authorize::decide(req, Some(facts(req, signed, true)), &consented, now) {
        Next::Consent => Ok(Outcome::Consent {
            interaction: interaction.id.clone(),
        }),
        Next::Issue => {
            complete(state, interaction).await?;
            Ok(Outcome::Respond(
                issue_code(state, req, &signed.session).await?,
            ))
        }
        Next::Fail(code, description) => {
            complete(state, interaction).await?;
            Ok(Outcome::Respond(error_response(
                state,
                req.to.clone(),
                OAuthError::new(code, description),
            )))
        }
        Next::Login => Err(OAuthError::server_error().into()),
    }
}

/// The user's answer on the consent page.
pub async fn after_consent(
    state: &AppState,
    interaction: &Interaction,
    req: &AuthorizeRequest,
    signed: &Signed,
    approved: bool,
) -> Result<AuthResponse, PageError> {
    complete(state, interaction).await?;
    if !approved {
        let denied = OAuthError::new(ErrorCode::AccessDenied, "the user declined the request");
        return Ok(error_response(state, req.to.clone(), denied));
    }
    let mut scopes = state
        .store
        .consented_scopes(&signed.user.id, &req.client_id)
        .await?;
    for token in req.scope.tokens() {
        if !scopes.iter().any(|s| s == token) {
            scopes.push(token.to_owned());
        }
    }
    state
        .store
        .save_consent(&signed.user.id, &req.client_id, &scopes, state.now())
        .await?;
    issue_code(state, req, &signed.session).await
}

async fn complete(state: &AppState, interaction: &Interaction) -> Result<(), PageError> {
    if state
        .store
        .complete_interaction(&interaction.id, state.now())
        .await?
    {
        Ok(())
    } else {
        Err(PageError::bad_request(
            ErrorCode::InvalidRequest,
            "this sign-in request was already completed",
        ))
    }
}

async fn issue_code(
    state: &AppState,
    req: &AuthorizeRequest,
    session: &Session,
) -> Result<AuthResponse, PageError> {
    let now = state.now();
    let scope = req.scope.to_string();
    let new_grant = NewGrant {
        session: Some(session),
        client_id: &req.client_id,
        scope: &scope,
        expires_at: Some(now + state.config.refresh_token_absolute_ttl),
    };
    let grant = state.store.create_grant(new_grant, now).await?;
    let code = random_token();
    let new = NewCode {
        grant_id: &grant.id,
        client_id: &req.client_id,
        redirect_uri: &req.to.redirect_uri,
        nonce: req.nonce.as_deref(),
        code_challenge: req.code_challenge.as_deref(),
    };
    state
        .store
        .create_code(new, &code, now, state.config.code_ttl)
        .await?;
    state.store.touch_session(&session.id, now).await?;
    let mut params = vec![("code", code)];
    finish(state, &req.to, &mut params);
    Ok(AuthResponse {
        to: req.to.clone(),
        params,
    })
}

pub fn error_response(state: &AppState, to: ReturnTo, error: OAuthError) -> AuthResponse {
    let mut params = vec![
        ("error", error.code.as_str().to_owned()),
        ("error_description", error.description.into_owned()),
    ];
    finish(state, &to, &mut params);
    AuthResponse { to, params }
}

/// state, and iss (RFC 9207) so the client can tell which provider answered.
fn finish(state: &AppState, to: &ReturnTo, params: &mut Vec<(&'static str, String)>) {
    if let Some(s) = &to.state {
        params.push(("state", s.clone()));
    }
    params.push(("iss", state.config.issuer.clone()));
}
