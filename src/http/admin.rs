//! The /admin JSON API, for operators' scripts and consoles. Authorised by a Tessera access
//! token carrying the `tessera:admin` scope (a client_credentials client the operator made).

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::userinfo::bearer_token;
use crate::admin::{self, session_json};
use crate::error::{BearerError, OAuthError};
use crate::oauth::logout::{self, Delivery};
use crate::oauth::scope;
use crate::oauth::userinfo::check_access_token;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/admin")
            .route("/clients", web::get().to(clients))
            .route("/users", web::get().to(users))
            .route("/users/{username}/sessions", web::get().to(user_sessions))
            .route(
                "/users/{username}/logout-everywhere",
                web::post().to(logout_everywhere),
            )
            .route("/users/{username}/disable", web::post().to(disable))
            .route("/users/{username}/enable", web::post().to(enable))
            .route("/sessions/{sid}/revoke", web::post().to(revoke_session)),
    );
}

/// Errors of the admin API: a refused token, or a JSON error about the request.
#[derive(Debug)]
pub enum AdminError {
    Token(BearerError),
    Request(OAuthError),
    NotFound(String),
}

impl std::fmt::Display for AdminError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

impl actix_web::ResponseError for AdminError {
    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Token(e) => e.error_response(),
            Self::Request(e) => e.error_response(),
            Self::NotFound(what) => HttpResponse::NotFound()
                .json(json!({"error": "not_found", "error_description": what})),
        }
    }
}

impl From<sea_orm::DbErr> for AdminError {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::Request(e.into())
    }
}

async fn authorize(state: &AppState, req: &HttpRequest) -> Result<(), AdminError> {
    let token = bearer_token(req)
        .map_err(AdminError::Token)?
        .ok_or(AdminError::Token(BearerError::Missing))?;
    let (claims, _) = check_access_token(state, &token)
        .await
        .map_err(AdminError::Token)?;
    if !claims.scope.split(' ').any(|s| s == scope::ADMIN) {
        return Err(AdminError::Token(BearerError::InsufficientScope(
            "the tessera:admin scope is required",
        )));
    }
    Ok(())
}

async fn user_named(state: &AppState, username: &str) -> Result<crate::store::User, AdminError> {
    admin::find_user(state, username)
        .await
        .map_err(AdminError::NotFound)
}

async fn clients(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req).await?;
    Ok(HttpResponse::Ok().json(state.store.list_clients().await?))
}

async fn users(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req).await?;
    let users = state.store.list_users().await?;
    let body: Vec<_> = users
        .iter()
        .map(|u| json!({"id": u.id, "username": u.username, "email": u.email, "name": u.name, "disabled": u.disabled}))
        .collect();
    Ok(HttpResponse::Ok().json(body))
}

async fn user_sessions(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req).await?;
    let user = user_named(&state, &path).await?;
    let sessions = state.store.live_sessions(&user.id, state.now()).await?;
    Ok(HttpResponse::Ok().json(sessions.iter().map(session_json).collect::<Vec<_>>()))
}

async fn logout_everywhere(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req).await?;
    let user = user_named(&state, &path).await?;
    let ended = admin::logout_everywhere(&state, &user, Delivery::Background)
        .await
        .map_err(|_| AdminError::Request(OAuthError::server_error()))?;
    Ok(HttpResponse::Ok().json(json!({"username": user.username, "sessions_ended": ended})))
}

async fn set_disabled(
    state: &AppState,
    req: &HttpRequest,
    username: &str,
    disabled: bool,
) -> Result<HttpResponse, AdminError> {
    authorize(state, req).await?;
    let user = user_named(state, username).await?;
    let ended = admin::set_disabled(state, &user.username, disabled, Delivery::Background)
        .await
        .map_err(|_| AdminError::Request(OAuthError::server_error()))?;
    Ok(HttpResponse::Ok()
        .json(json!({"username": user.username, "disabled": disabled, "sessions_ended": ended})))
}

async fn disable(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AdminError> {
    set_disabled(&state, &req, &path, true).await
}

async fn enable(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AdminError> {
    set_disabled(&state, &req, &path, false).await
}

async fn revoke_session(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req).await?;
    let session = state
        .store
        .find_session(&path)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no session '{}'", path.as_str())))?;
    let ended = logout::end_sessions(&state, &[session], Delivery::Background).await?;
    Ok(HttpResponse::Ok().json(json!({"sid": path.as_str(), "ended": ended == 1})))
}
