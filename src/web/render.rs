//! A page template rendered into a response, with the cookie it sets.

use actix_web::HttpResponse;
use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use askama::Template;

use super::errors::PageError;
use super::respond::html;
use super::views;
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
