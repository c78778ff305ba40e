//! The /admin JSON API, for operators' scripts and consoles. Authorised by a Tessera access
//! token carrying the `tessera:admin` scope (a client_credentials client the operator made).

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use crate::core::access;
use crate::core::accounts::{self, UserSummary};
use crate::core::enrolment;
use crate::core::error::BearerError;
use crate::core::ports::{ClientRepo, UserRepo};
use crate::core::scope::{self, Scope};
use crate::core::sessions::{self, SessionSummary};
use crate::web::errors::AdminError;
use crate::web::extract::{header_token, presented};
use crate::web::respond::no_store_json;
use crate::web::state::AppState;

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
            .route("/users/{username}/mfa", web::get().to(mfa_factors))
            .route("/users/{username}/mfa/totp", web::post().to(mfa_enroll))
            .route("/users/{username}/mfa/reset", web::post().to(mfa_reset))
            .route("/sessions/{sid}/revoke", web::post().to(revoke_session)),
    );
}

async fn authorize(state: &AppState, req: &HttpRequest) -> Result<(), AdminError> {
    let token = header_token(req)?.ok_or(BearerError::Missing)?;
    let active = access::check_presented(&state.ctx(), &presented(state, req, &token)?).await?;
    if !Scope::parse(&active.claims.scope)
        .unwrap_or_default()
        .contains(scope::ADMIN)
    {
        return Err(BearerError::InsufficientScope("the tessera:admin scope is required").into());
    }
    Ok(())
}

async fn clients(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req).await?;
    Ok(HttpResponse::Ok().json(state.store.list_clients().await?))
}

async fn users(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req).await?;
    let users = state.store.list_users().await?;
    Ok(HttpResponse::Ok().json(users.iter().map(UserSummary::from).collect::<Vec<_>>()))
}

async fn user_sessions(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req).await?;
    let cx = state.ctx();
    let user = accounts::find_user(&state.store, &path).await?;
    let sessions = sessions::live_sessions(&cx, &user.id).await?;
    Ok(HttpResponse::Ok().json(
        sessions
            .iter()
            .map(SessionSummary::from)
            .collect::<Vec<_>>(),
    ))
}

async fn logout_everywhere(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req).await?;
    let ended = accounts::logout_everywhere(&state.ctx(), &state.notifier, &path).await?;
    Ok(HttpResponse::Ok().json(json!({"username": path.as_str(), "sessions_ended": ended})))
}

async fn set_disabled(
    state: &AppState,
    req: &HttpRequest,
    username: &str,
    disabled: bool,
) -> Result<HttpResponse, AdminError> {
    authorize(state, req).await?;
    let ended = accounts::set_disabled(&state.ctx(), &state.notifier, username, disabled).await?;
    Ok(HttpResponse::Ok()
        .json(json!({"username": username, "disabled": disabled, "sessions_ended": ended})))
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

async fn mfa_factors(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req).await?;
    let factors = enrolment::second_factors(&state.ctx(), &path).await?;
    let mut body = json!(factors);
    body["username"] = json!(path.as_str());
    Ok(HttpResponse::Ok().json(body))
}

/// The secret and recovery codes are in the answer, once: never cached.
async fn mfa_enroll(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req).await?;
    let enrolled = enrolment::enroll_totp(&state.ctx(), &path).await?;
    Ok(no_store_json(enrolled))
}

async fn mfa_reset(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req).await?;
    let ended = enrolment::reset_second_factors(&state.ctx(), &state.notifier, &path).await?;
    Ok(HttpResponse::Ok()
        .json(json!({"username": path.as_str(), "mfa_reset": true, "sessions_ended": ended})))
}

async fn revoke_session(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req).await?;
    let ended = sessions::end_session_by_id(&state.ctx(), &state.notifier, &path).await?;
    Ok(HttpResponse::Ok().json(json!({"sid": path.as_str(), "ended": ended})))
}
