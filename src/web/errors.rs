//! How the core's errors look on the wire, decided here and nowhere else: the status, the
//! `WWW-Authenticate`, `Retry-After` and `Cache-Control: no-store` headers, the JSON body of
//! RFC 6749 §5.2 and RFC 6750 §3, and the HTML page shown when a browser cannot be sent back
//! to a verified client.

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use super::respond::{html, see_other};
use super::views;
use crate::core::dpop;
use crate::core::error::{AccountError, BearerError, ErrorCode, OAuthError, StoreError};

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    error_description: &'a str,
}

impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        match (self.code, self.retry_after) {
            (ErrorCode::TemporarilyUnavailable, _) => return StatusCode::SERVICE_UNAVAILABLE,
            (_, Some(_)) => return StatusCode::TOO_MANY_REQUESTS,
            _ => {}
        }
        match self.code {
            ErrorCode::InvalidClient => StatusCode::UNAUTHORIZED,
            ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::PRAGMA, "no-cache"));
        if let Some(seconds) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        // RFC 6749 §5.2: a 401 for client authentication names the scheme clients may use.
        if self.code == ErrorCode::InvalidClient {
            response.insert_header((
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Basic realm="tessera", charset="UTF-8""#),
            ));
        }
        response.json(ErrorBody {
            error: self.code.as_str(),
            error_description: &self.description,
        })
    }
}

/// An error shown to the person at the browser, because there is no verified client to
/// redirect it to (unknown client, mismatched redirect_uri, expired interaction …).
#[derive(Debug)]
pub struct PageError {
    status: StatusCode,
    error: OAuthError,
}

impl PageError {
    /// A form whose CSRF token is missing or wrong.
    pub fn forbidden(description: &'static str) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            error: OAuthError::invalid_request(description),
        }
    }
}

impl From<OAuthError> for PageError {
    fn from(error: OAuthError) -> Self {
        let status = match error.code {
            ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        };
        Self { status, error }
    }
}

impl From<StoreError> for PageError {
    fn from(error: StoreError) -> Self {
        OAuthError::from(error).into()
    }
}

impl From<AccountError> for PageError {
    fn from(error: AccountError) -> Self {
        account_error(error).into()
    }
}

/// The OAuth error an account or operator failure is answered with.
fn account_error(error: AccountError) -> OAuthError {
    match error {
        AccountError::Invalid(m) | AccountError::NotFound(m) | AccountError::Exists(m) => {
            OAuthError::invalid_request(m)
        }
        AccountError::Busy => OAuthError::busy(),
        AccountError::Store(e) => e.into(),
    }
}

impl fmt::Display for PageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let page = views::ErrorPage::new(self.status.is_server_error(), &self.error);
        let mut response = match views::render(&page) {
            Some(body) => html(self.status, body),
            None => HttpResponse::build(self.status).body(self.error.description.to_string()),
        };
        if let Some(seconds) = self.error.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl ResponseError for BearerError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Missing
            | Self::InvalidToken(_)
            | Self::InvalidDpopProof(_)
            | Self::UseDpopNonce => StatusCode::UNAUTHORIZED,
            Self::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            Self::InsufficientScope(_) => StatusCode::FORBIDDEN,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (code, description) = match self {
            Self::Missing => (None, "an access token is required"),
            Self::InvalidRequest(d) => (Some("invalid_request"), *d),
            Self::InvalidToken(d) => (Some("invalid_token"), *d),
            Self::InsufficientScope(d) => (Some("insufficient_scope"), *d),
            Self::InvalidDpopProof(d) => (Some("invalid_dpop_proof"), *d),
            Self::UseDpopNonce => (
                Some("use_dpop_nonce"),
                "make the DPoP proof again with the nonce of the DPoP-Nonce response header",
            ),
            Self::Unavailable => return OAuthError::unavailable().error_response(),
        };
        // RFC 9449 §7.1: DPoP's own errors are challenged under its scheme, with the
        // algorithms a proof may use; a missing token is challenged under both schemes.
        let dpop_error = matches!(self, Self::InvalidDpopProof(_) | Self::UseDpopNonce);
        let dpop_algs = format!(r#"algs="{}""#, dpop::ALGS.join(" "));
        let challenges = match code {
            None => vec![
                r#"Bearer realm="tessera""#.to_owned(),
                format!("DPoP {dpop_algs}"),
            ],
            Some(code) if dpop_error => vec![format!(
                r#"DPoP error="{code}", error_description="{description}", {dpop_algs}"#
            )],
            Some(code) => vec![format!(
                r#"Bearer realm="tessera", error="{code}", error_description="{description}""#
            )],
        };
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CACHE_CONTROL, "no-store"));
        for challenge in challenges {
            response.append_header((header::WWW_AUTHENTICATE, challenge));
        }
        match code {
            Some(error) => response.json(ErrorBody {
                error,
                error_description: description,
            }),
            None => response.finish(),
        }
    }
}

/// An account page's failure: an error page, or a browser that must sign in first.
#[derive(Debug)]
pub enum AccountPageError {
    Page(PageError),
    NotSignedIn,
}

impl fmt::Display for AccountPageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Page(e) => e.fmt(f),
            Self::NotSignedIn => f.write_str("not signed in"),
        }
    }
}

impl ResponseError for AccountPageError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Page(e) => e.status,
            Self::NotSignedIn => StatusCode::FOUND,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Page(e) => e.error_response(),
            Self::NotSignedIn => see_other("/account/login"),
        }
    }
}

impl<E: Into<PageError>> From<E> for AccountPageError {
    fn from(e: E) -> Self {
        Self::Page(e.into())
    }
}

/// Errors of the admin API: a refused token, a JSON error about the request, or 404.
#[derive(Debug)]
pub enum AdminError {
    Token(BearerError),
    Request(OAuthError),
    NotFound(String),
}

impl fmt::Display for AdminError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Token(e) => e.fmt(f),
            Self::Request(e) => e.fmt(f),
            Self::NotFound(what) => f.write_str(what),
        }
    }
}

impl From<BearerError> for AdminError {
    fn from(e: BearerError) -> Self {
        Self::Token(e)
    }
}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> Self {
        Self::Request(e.into())
    }
}

impl From<AccountError> for AdminError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::NotFound(what) => Self::NotFound(what),
            other => Self::Request(account_error(other)),
        }
    }
}

impl ResponseError for AdminError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Token(e) => e.status_code(),
            Self::Request(e) => e.status_code(),
            Self::NotFound(_) => StatusCode::NOT_FOUND,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Token(e) => e.error_response(),
            Self::Request(e) => e.error_response(),
            Self::NotFound(what) => HttpResponse::NotFound().json(ErrorBody {
                error: "not_found",
                error_description: what,
            }),
        }
    }
}
