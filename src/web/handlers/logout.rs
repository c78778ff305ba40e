//! GET/POST /logout: OIDC RP-Initiated Logout 1.0, with a confirmation page when the request
//! cannot be trusted to come from the signed-in user's own app.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::core::logout::{LogoutRequest, logout_request};
use crate::core::params::Params;
use crate::core::sessions;
use crate::web::cookies::{csrf_token, session_removal};
use crate::web::errors::PageError;
use crate::web::extract::{check_csrf, form_params, query_params, signed_in};
use crate::web::render::{page, with_cookie};
use crate::web::respond::see_other;
use crate::web::state::AppState;
use crate::web::views::{ConfirmLogoutPage, MessagePage};

pub async fn logout_get(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let params = query_params(&req)?;
    ask_or_end(&state, &req, &params).await
}

pub async fn logout_post(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let params = form_params(&req, &body)?;
    if params.get("confirm") == Some("yes") {
        check_csrf(&state, &req, params.get("csrf"))?;
        let request = logout_request(&state.ctx(), &params).await?;
        return end(&state, &req, &request).await;
    }
    ask_or_end(&state, &req, &params).await
}

/// Asks for confirmation unless the request is trusted for this browser's session.
async fn ask_or_end(
    state: &AppState,
    req: &HttpRequest,
    params: &Params,
) -> Result<HttpResponse, PageError> {
    let request = logout_request(&state.ctx(), params).await?;
    match signed_in(state, req).await? {
        Some(signed) if !request.trusted_for(&signed.session) => {
            let (csrf, cookie) = csrf_token(state, req);
            let confirm = ConfirmLogoutPage::new(&request, params, &csrf);
            page(&confirm, StatusCode::OK, cookie)
        }
        _ => end(state, req, &request).await,
    }
}

/// Ends this browser's session (if any) and goes back to the client or shows a message.
async fn end(
    state: &AppState,
    req: &HttpRequest,
    request: &LogoutRequest,
) -> Result<HttpResponse, PageError> {
    if let Some(signed) = signed_in(state, req).await? {
        sessions::end_sessions(&state.ctx(), &state.notifier, &[signed.session]).await?;
    }
    let response = match request.return_uri() {
        Some(uri) => see_other(&uri),
        None => page(&MessagePage::signed_out(), StatusCode::OK, None)?,
    };
    with_cookie(response, Some(session_removal(state)))
}
