//! GET/POST /authorize: starts a flow and sends the browser to login, consent or back.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::{form_params, html_with_csp, query_params, signed_in};
use crate::error::PageError;
use crate::oauth::authorize::{Params, ResponseMode};
use crate::oauth::flow::{self, AuthResponse, Outcome};
use crate::secret::random_token;
use crate::state::AppState;

pub async fn authorize_get(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    start(&state, &req, query_params(&req)?).await
}

pub async fn authorize_post(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    start(&state, &req, form_params(&req, &body)?).await
}

async fn start(
    state: &AppState,
    req: &HttpRequest,
    params: Params,
) -> Result<HttpResponse, PageError> {
    let signed = signed_in(state, req).await?;
    let outcome = flow::start(state, params, signed).await?;
    Ok(render(outcome))
}

/// Sends the browser where an outcome says.
pub fn render(outcome: Outcome) -> HttpResponse {
    match outcome {
        Outcome::Respond(response) => respond(response),
        Outcome::Login { interaction } => see_other(&format!("/login?interaction={interaction}")),
        Outcome::Consent { interaction } => {
            see_other(&format!("/consent?interaction={interaction}"))
        }
    }
}

pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::Found()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

#[derive(Template)]
#[template(path = "form_post.html")]
struct FormPost<'a> {
    action: &'a str,
    fields: &'a [(&'static str, String)],
    nonce: &'a str,
}

/// The authorization response in the requested response_mode (OAuth 2.0 Multiple Response Types
/// §2, Form Post Response Mode).
fn respond(response: AuthResponse) -> HttpResponse {
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
            let page = FormPost {
                action: uri,
                fields: &response.params,
                nonce: &nonce,
            };
            match page.render() {
                Ok(body) => html_with_csp(
                    StatusCode::OK,
                    body,
                    &format!(
                        "; script-src 'nonce-{nonce}'; form-action {}",
                        csp_source(uri)
                    ),
                ),
                Err(_) => HttpResponse::InternalServerError().finish(),
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
