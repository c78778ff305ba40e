//! Building responses: HTML pages with the headers every page carries, redirects, JSON that
//! must not be cached, and the authorization response in its response mode.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentType};
use serde::Serialize;

use super::state::AppState;
use super::views;
use crate::core::authorize::{AuthResponse, ResponseMode};
use crate::core::login::Refusal;
use crate::secret::random_token;

/// An HTML page with the headers every page carries.
pub fn html(status: StatusCode, body: String) -> HttpResponse {
    html_with_csp(status, body, "")
}

/// A page that loads Tessera's own static scripts (the passkey forms' `/assets/passkey.js`);
/// inline scripts stay refused.
pub fn html_with_own_scripts(status: StatusCode, body: String) -> HttpResponse {
    html_with_csp(status, body, "; script-src 'self'")
}

/// `extra_csp` adds directives, e.g. a script nonce for the form_post page.
fn html_with_csp(status: StatusCode, body: String, extra_csp: &str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(ContentType::html())
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            format!("default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'{extra_csp}"),
        ))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::Found()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// A refused sign-in is counted and, after a wrong password, answered only once the
/// throttle's delay has passed. Returns the status the form is shown again with.
pub async fn after_refusal(state: &AppState, refusal: &Refusal) -> StatusCode {
    match refusal {
        Refusal::WrongCredentials { delay } => {
            state.metrics.login_failed();
            actix_web::rt::time::sleep(*delay).await;
            StatusCode::UNAUTHORIZED
        }
        Refusal::Locked { .. } => StatusCode::TOO_MANY_REQUESTS,
    }
}

/// JSON that carries tokens or secrets: never cached (RFC 6749 §5.1).
pub fn no_store_json(body: impl Serialize) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(body)
}

/// The authorization response in the requested response_mode (OAuth 2.0 Multiple Response
/// Types §2, Form Post Response Mode).
pub fn authorization_response(response: AuthResponse) -> HttpResponse {
    let encoded = || {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(response.params.iter().map(|(k, v)| (*k, v.as_str())))
            .finish()
    };
    let uri = &response.to.redirect_uri;
    match response.to.mode {
        ResponseMode::Query => {
            let separator = if uri.contains('?') { '&' } else { '?' };
            see_other(&format!("{uri}{separator}{}", encoded()))
        }
        ResponseMode::Fragment => see_other(&format!("{uri}#{}", encoded())),
        ResponseMode::FormPost => {
            let nonce = random_token();
            match views::render(&views::FormPost::new(&response, &nonce)) {
                Some(body) => html_with_csp(
                    StatusCode::OK,
                    body,
                    &format!(
                        "; script-src 'nonce-{nonce}'; form-action {}",
                        csp_source(uri)
                    ),
                ),
                None => HttpResponse::InternalServerError().finish(),
            }
        }
    }
}

/// The origin of a registered redirect URI, for form-action.
fn csp_source(uri: &str) -> String {
    url::Url::parse(uri)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_else(|_| "'none'".into())
}
