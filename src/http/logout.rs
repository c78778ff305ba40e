//! GET/POST /logout: OIDC RP-Initiated Logout 1.0, with a confirmation page when the request
//! cannot be trusted to come from the signed-in user's own app.

use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::authorize::see_other;
use super::pages::page;
use super::{check_csrf, csrf_token, form_params, query_params, session_cookie_name, signed_in};
use crate::error::PageError;
use crate::oauth::authorize::Params;
use crate::oauth::logout::{self, Delivery, LogoutRequest, logout_request};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "logout.html")]
struct ConfirmPage<'a> {
    client_name: Option<&'a str>,
    csrf: &'a str,
    fields: Vec<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "message.html")]
pub(super) struct MessagePage<'a> {
    pub title: &'a str,
    pub text: &'a str,
}

pub async fn logout_get(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let params = query_params(&req)?;
    start(&state, &req, &params).await
}

pub async fn logout_post(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let params = form_params(&req, &body)?;
    if params.get("confirm") == Some("yes") {
        check_csrf(&state, &req, params.get("csrf"))?;
        let request = logout_request(&state, &params).await?;
        return finish(&state, &req, &request).await;
    }
    start(&state, &req, &params).await
}

async fn start(
    state: &AppState,
    req: &HttpRequest,
    params: &Params,
) -> Result<HttpResponse, PageError> {
    let request = logout_request(state, params).await?;
    match signed_in(state, req).await? {
        Some(signed) if !request.trusted_for(&signed.session) => {
            let (csrf, cookie) = csrf_token(state, req);
            let mut fields = Vec::new();
            for name in ["client_id", "post_logout_redirect_uri", "state"] {
                if let Some(value) = params.get(name) {
                    fields.push((name, value.to_owned()));
                }
            }
            if let Some(client) = &request.client
                && !fields.iter().any(|(n, _)| *n == "client_id")
            {
                fields.push(("client_id", client.id.clone()));
            }
            let data = ConfirmPage {
                client_name: request.client.as_ref().map(|c| c.name.as_str()),
                csrf: &csrf,
                fields,
            };
            page(data, StatusCode::OK, cookie)
        }
        _ => finish(state, req, &request).await,
    }
}

/// Ends this browser's session (if any) and goes back to the client or shows a message.
async fn finish(
    state: &AppState,
    req: &HttpRequest,
    request: &LogoutRequest,
) -> Result<HttpResponse, PageError> {
    if let Some(signed) = signed_in(state, req).await? {
        logout::end_sessions(state, &[signed.session], Delivery::Background).await?;
    }
    let mut response = match request.return_uri() {
        Some(uri) => see_other(&uri),
        None => page(
            MessagePage {
                title: "You are signed out",
                text: "You can close this window.",
            },
            StatusCode::OK,
            None,
        )?,
    };
    let mut removal = Cookie::build(session_cookie_name(state), "")
        .path("/")
        .secure(state.config.is_https())
        .finish();
    removal.make_removal();
    response
        .add_cookie(&removal)
        .map_err(|_| PageError::from(crate::error::OAuthError::server_error()))?;
    Ok(response)
}
