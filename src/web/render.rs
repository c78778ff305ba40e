//! A page template rendered into a response, with the cookie it sets.

use actix_web::HttpResponse;
use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use askama::Template;

use super::cookies;
use super::errors::PageError;
use super::respond::{authorization_response, html, html_with_own_scripts, see_other};
use super::state::AppState;
use super::views;
use crate::core::authorize::Outcome;
use crate::core::error::OAuthError;

/// A rendered page, setting `cookie` when there is one.
pub fn page(
    template: &impl Template,
    status: StatusCode,
    cookie: Option<Cookie<'static>>,
) -> Result<HttpResponse, PageError> {
    let body = views::render(template).ok_or_else(OAuthError::server_error)?;
    with_cookie(html(status, body), cookie)
}

/// The same for a page with a passkey form, which loads Tessera's static script.
pub fn scripted_page(
    template: &impl Template,
    status: StatusCode,
    cookie: Option<Cookie<'static>>,
) -> Result<HttpResponse, PageError> {
    let body = views::render(template).ok_or_else(OAuthError::server_error)?;
    with_cookie(html_with_own_scripts(status, body), cookie)
}

pub fn with_cookie(
    mut response: HttpResponse,
    cookie: Option<Cookie<'static>>,
) -> Result<HttpResponse, PageError> {
    if let Some(c) = cookie {
        response
            .add_cookie(&c)
            .map_err(|_| OAuthError::server_error())?;
    }
    Ok(response)
}

/// Sends the browser where an authorization outcome says; before a second factor, with the
/// sealed proof of the first one as a cookie.
pub fn outcome(state: &AppState, outcome: Outcome) -> Result<HttpResponse, PageError> {
    Ok(match outcome {
        Outcome::Respond(response) => authorization_response(response),
        Outcome::Login { interaction } => see_other(&format!("/login?interaction={interaction}")),
        Outcome::Consent { interaction } => {
            see_other(&format!("/consent?interaction={interaction}"))
        }
        Outcome::SecondFactor {
            interaction,
            pending,
            enroll,
        } => {
            let page = if enroll { "enroll" } else { "second-factor" };
            let to = see_other(&format!("/login/{page}?interaction={interaction}"));
            let cookie = cookies::pending_second_factor(state, pending);
            return with_cookie(to, Some(cookie));
        }
    })
}
