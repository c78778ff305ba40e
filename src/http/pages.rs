//! The interaction pages: login and consent (askama templates, CSRF-protected forms).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::authorize::{render, see_other};
use super::{
    check_csrf, csrf_token, form_params, html, peer_ip, query_params, session_cookie, signed_in,
};
use crate::error::{ErrorCode, PageError};
use crate::oauth::authorize::{AuthorizeRequest, Params};
use crate::oauth::flow::{self, Outcome, Signed};
use crate::oauth::logout::{self, Delivery};
use crate::oauth::scope;
use crate::oauth::throttle;
use crate::password;
use crate::state::AppState;
use crate::store::{Device, Interaction, Session, User};
use actix_web::cookie::Cookie;

#[derive(Template)]
#[template(path = "login.html")]
pub(super) struct LoginPage<'a> {
    pub client_name: &'a str,
    pub action: &'a str,
    pub interaction: &'a str,
    pub csrf: &'a str,
    pub username: &'a str,
    pub error: Option<&'a str>,
}

pub(super) const BAD_CREDENTIALS: &str = "The username or password is incorrect.";

/// The outcome of a password check.
pub(super) enum SignIn {
    User(User),
    Refused,
    /// Too many failures: locked out for this many seconds.
    Locked(i64),
}

impl SignIn {
    /// The message and status for the login form, when it did not succeed.
    pub(super) fn problem(&self) -> (String, StatusCode) {
        match self {
            Self::Locked(wait) => (
                format!(
                    "Too many failed sign-in attempts. Try again in {}.",
                    throttle::describe_wait(*wait)
                ),
                StatusCode::TOO_MANY_REQUESTS,
            ),
            _ => (BAD_CREDENTIALS.to_owned(), StatusCode::UNAUTHORIZED),
        }
    }
}

/// Checks a password, throttled per account and per IP (see `oauth::throttle`).
pub(super) async fn check_credentials(
    state: &AppState,
    req: &HttpRequest,
    username: &str,
    password: &str,
) -> Result<SignIn, PageError> {
    let guard = throttle::Subjects::login(state, username, peer_ip(req).as_deref());
    if let Some(wait) = guard.locked_for(state).await? {
        return Ok(SignIn::Locked(wait));
    }
    let user = if username.is_empty() || password.len() > password::MAX_LENGTH {
        None
    } else {
        state.store.find_user_by_username(username).await?
    };
    let ok = password::verify(
        password.to_owned(),
        user.as_ref().map(|u| u.password_hash.clone()),
    )
    .await;
    match user.filter(|u| ok && !u.disabled) {
        Some(user) => {
            guard.succeeded(state).await?;
            Ok(SignIn::User(user))
        }
        None => {
            state.metrics.login_failed();
            guard.failed(state).await?;
            Ok(SignIn::Refused)
        }
    }
}

/// Signs `user` in on this browser: refreshes its session when it already belongs to them,
/// otherwise ends the browser's old session and starts a new one (returning its cookie).
pub(super) async fn start_browser_session(
    state: &AppState,
    req: &HttpRequest,
    user: User,
) -> Result<(Session, Option<Cookie<'static>>), PageError> {
    let now = state.now();
    match signed_in(state, req).await? {
        Some(current) if current.user.id == user.id => {
            state
                .store
                .reauthenticate_session(&current.session.id, now)
                .await?;
            let session = state
                .store
                .find_session(&current.session.id)
                .await?
                .unwrap_or(current.session);
            Ok((session, None))
        }
        other => {
            // One browser, one signed-in user: another user's session here ends.
            if let Some(previous) = other {
                logout::end_sessions(state, &[previous.session], Delivery::Background).await?;
            }
            let device = Device {
                user_agent: req
                    .headers()
                    .get(actix_web::http::header::USER_AGENT)
                    .and_then(|v| v.to_str().ok())
                    .map(|s| s.chars().take(512).collect()),
                ip: peer_ip(req),
            };
            let ttl = state.config.session_ttl;
            let (session, token) = state
                .store
                .create_session(&user.id, device, "pwd", now, ttl)
                .await?;
            Ok((session, Some(session_cookie(state, token))))
        }
    }
}

struct ScopeLine {
    name: String,
    description: &'static str,
}

#[derive(Template)]
#[template(path = "consent.html")]
struct ConsentPage<'a> {
    client_name: &'a str,
    username: &'a str,
    scopes: Vec<ScopeLine>,
    interaction: &'a str,
    csrf: &'a str,
}

fn interaction_id(params: &Params) -> Result<String, PageError> {
    params.get("interaction").map(str::to_owned).ok_or_else(|| {
        PageError::bad_request(
            ErrorCode::InvalidRequest,
            "this page must be reached from an application's sign-in link",
        )
    })
}

async fn client_name(state: &AppState, client_id: &str) -> Result<String, PageError> {
    let client = state.store.find_client(client_id).await?;
    client.map(|c| c.name).ok_or_else(|| {
        PageError::bad_request(ErrorCode::InvalidClient, "the application was removed")
    })
}

pub(super) fn page(
    template: impl Template,
    status: StatusCode,
    cookie: Option<actix_web::cookie::Cookie<'static>>,
) -> Result<HttpResponse, PageError> {
    let body = template
        .render()
        .map_err(|_| PageError::from(crate::error::OAuthError::server_error()))?;
    let mut response = html(status, body);
    if let Some(c) = cookie {
        response
            .add_cookie(&c)
            .map_err(|_| PageError::from(crate::error::OAuthError::server_error()))?;
    }
    Ok(response)
}

pub async fn login_page(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let id = interaction_id(&query_params(&req)?)?;
    let (interaction, request) = flow::pending(&state, &id).await?;
    let name = client_name(&state, &interaction.client_id).await?;
    let (csrf, cookie) = csrf_token(&state, &req);
    let username = request.login_hint.as_deref().unwrap_or_default();
    let page_data = LoginPage {
        client_name: &name,
        action: "/login",
        interaction: &id,
        csrf: &csrf,
        username,
        error: None,
    };
    page(page_data, StatusCode::OK, cookie)
}

pub async fn login_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let form = form_params(&req, &body)?;
    check_csrf(&state, &req, form.get("csrf"))?;
    let id = interaction_id(&form)?;
    let (interaction, request) = flow::pending(&state, &id).await?;
    let username = form.get("username").unwrap_or_default().trim();
    let password = form.get("password").unwrap_or_default();

    let user = match check_credentials(&state, &req, username, password).await? {
        SignIn::User(user) => user,
        refused => {
            tracing::info!(client_id = %interaction.client_id, "login failed");
            let name = client_name(&state, &interaction.client_id).await?;
            let (csrf, cookie) = csrf_token(&state, &req);
            let (message, status) = refused.problem();
            let page_data = LoginPage {
                client_name: &name,
                action: "/login",
                interaction: &id,
                csrf: &csrf,
                username,
                error: Some(&message),
            };
            return page(page_data, status, cookie);
        }
    };
    let (session, cookie) = start_browser_session(&state, &req, user.clone()).await?;
    let signed = Signed { session, user };
    let outcome = flow::after_login(&state, &interaction, &request, &signed).await?;
    let mut response = render(outcome);
    if let Some(c) = cookie {
        response
            .add_cookie(&c)
            .map_err(|_| PageError::from(crate::error::OAuthError::server_error()))?;
    }
    Ok(response)
}

/// The consent step needs the browser that signed in for this interaction.
async fn consent_context(
    state: &AppState,
    req: &HttpRequest,
    id: &str,
) -> Result<Result<(Interaction, AuthorizeRequest, Signed), HttpResponse>, PageError> {
    let (interaction, request) = flow::pending(state, id).await?;
    let relogin = || Ok(Err(see_other(&format!("/login?interaction={id}"))));
    let Some(signed) = signed_in(state, req).await? else {
        return relogin();
    };
    if interaction
        .session_id
        .as_ref()
        .is_some_and(|sid| *sid != signed.session.id)
    {
        return relogin();
    }
    Ok(Ok((interaction, request, signed)))
}

pub async fn consent_page(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let id = interaction_id(&query_params(&req)?)?;
    let (interaction, request, signed) = match consent_context(&state, &req, &id).await? {
        Ok(context) => context,
        Err(redirect) => return Ok(redirect),
    };
    let name = client_name(&state, &interaction.client_id).await?;
    let (csrf, cookie) = csrf_token(&state, &req);
    let scopes = request
        .scope
        .tokens()
        .into_iter()
        .map(|s| ScopeLine {
            name: s.to_owned(),
            description: scope::describe(s),
        })
        .collect();
    let page_data = ConsentPage {
        client_name: &name,
        username: &signed.user.username,
        scopes,
        interaction: &id,
        csrf: &csrf,
    };
    page(page_data, StatusCode::OK, cookie)
}

pub async fn consent_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let form = form_params(&req, &body)?;
    check_csrf(&state, &req, form.get("csrf"))?;
    let id = interaction_id(&form)?;
    let approved = match form.get("decision") {
        Some("approve") => true,
        Some("deny") => false,
        _ => {
            return Err(PageError::bad_request(
                ErrorCode::InvalidRequest,
                "choose Allow or Deny",
            ));
        }
    };
    let (interaction, request, signed) = match consent_context(&state, &req, &id).await? {
        Ok(context) => context,
        Err(redirect) => return Ok(redirect),
    };
    let response = flow::after_consent(&state, &interaction, &request, &signed, approved).await?;
    Ok(render(Outcome::Respond(response)))
}
