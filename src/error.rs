//! One error type per surface. `OAuthError` is the wire error of RFC 6749 §5.2 (and the OIDC
//! additions); its status, headers and body are decided here and nowhere else. `PageError` is the
//! HTML page shown when a browser request cannot be redirected back to a verified client.

use std::borrow::Cow;
use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
    InvalidScope,
    AccessDenied,
    ServerError,
    TemporarilyUnavailable,
    LoginRequired,
    ConsentRequired,
    InteractionRequired,
    RequestNotSupported,
    RequestUriNotSupported,
    RegistrationNotSupported,
    InvalidToken,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::LoginRequired => "login_required",
            Self::ConsentRequired => "consent_required",
            Self::InteractionRequired => "interaction_required",
            Self::RequestNotSupported => "request_not_supported",
            Self::RequestUriNotSupported => "request_uri_not_supported",
            Self::RegistrationNotSupported => "registration_not_supported",
            Self::InvalidToken => "invalid_token",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An OAuth 2.0 error answered as JSON (token, revocation, introspection endpoints).
#[derive(Debug, Clone)]
pub struct OAuthError {
    pub code: ErrorCode,
    pub description: Cow<'static, str>,
    /// Set when the caller is throttled: the answer is 429 with Retry-After.
    pub retry_after: Option<i64>,
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            description: description.into(),
            retry_after: None,
        }
    }

    /// Too many failed client authentications: 429 with Retry-After.
    pub fn throttled(seconds: i64) -> Self {
        Self {
            retry_after: Some(seconds),
            ..Self::invalid_client(format!(
                "too many failed authentication attempts; try again in {seconds} seconds"
            ))
        }
    }

    pub fn invalid_request(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    pub fn invalid_grant(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidGrant, description)
    }

    pub fn invalid_client(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidClient, description)
    }

    pub fn server_error() -> Self {
        Self::new(
            ErrorCode::ServerError,
            "the server could not complete the request",
        )
    }

    pub fn unavailable() -> Self {
        Self::new(
            ErrorCode::TemporarilyUnavailable,
            "the service is temporarily unavailable, try again shortly",
        )
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.description)
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'static str,
    error_description: &'a str,
}

impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        if self.retry_after.is_some() {
            return StatusCode::TOO_MANY_REQUESTS;
        }
        match self.code {
            ErrorCode::InvalidClient | ErrorCode::InvalidToken => StatusCode::UNAUTHORIZED,
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

/// A failure of the database or another dependency: never the caller's fault.
impl From<sea_orm::DbErr> for OAuthError {
    fn from(err: sea_orm::DbErr) -> Self {
        if is_unavailable(&err) {
            tracing::warn!(error = %err, "database unavailable");
            Self::unavailable()
        } else {
            tracing::error!(error = %err, "database error");
            Self::server_error()
        }
    }
}

/// True when the database cannot be reached (rather than refusing a statement): the request
/// may succeed later, so the answer is 503, not 500.
pub fn is_unavailable(err: &sea_orm::DbErr) -> bool {
    use sea_orm::sqlx::Error as Sqlx;
    use sea_orm::{DbErr, RuntimeErr};
    match err {
        DbErr::Conn(_) | DbErr::ConnectionAcquire(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => matches!(
            e.as_ref(),
            Sqlx::Io(_)
                | Sqlx::Tls(_)
                | Sqlx::PoolTimedOut
                | Sqlx::PoolClosed
                | Sqlx::WorkerCrashed
                | Sqlx::Protocol(_)
        ),
        _ => false,
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    code: &'a str,
    description: &'a str,
}

/// An error shown to the person at the browser, because there is no verified client to
/// redirect it to (unknown client, mismatched redirect_uri, expired interaction …).
#[derive(Debug, Clone)]
pub struct PageError {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub description: Cow<'static, str>,
}

impl PageError {
    pub fn bad_request(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code,
            description: description.into(),
        }
    }
}

impl fmt::Display for PageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.description)
    }
}

impl From<OAuthError> for PageError {
    fn from(err: OAuthError) -> Self {
        Self {
            status: err.status_code(),
            code: err.code,
            description: err.description,
        }
    }
}

impl From<sea_orm::DbErr> for PageError {
    fn from(err: sea_orm::DbErr) -> Self {
        OAuthError::from(err).into()
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let title = if self.status.is_server_error() {
            "Something went wrong"
        } else {
            "This sign-in request cannot continue"
        };
        let page = ErrorPage {
            title,
            code: self.code.as_str(),
            description: &self.description,
        };
        match page.render() {
            Ok(body) => crate::http::html(self.status, body),
            Err(_) => HttpResponse::build(self.status).body(self.description.to_string()),
        }
    }
}

/// A refused Bearer token (RFC 6750 §3): 401/403 with the reason in WWW-Authenticate.
#[derive(Debug)]
pub enum BearerError {
    /// No token at all: the challenge carries no error code (RFC 6750 §3.1).
    Missing,
    InvalidRequest(&'static str),
    InvalidToken(&'static str),
    InsufficientScope(&'static str),
    Unavailable,
}

impl From<sea_orm::DbErr> for BearerError {
    fn from(err: sea_orm::DbErr) -> Self {
        tracing::warn!(error = %err, "database error during token check");
        Self::Unavailable
    }
}

impl fmt::Display for BearerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

impl ResponseError for BearerError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Missing | Self::InvalidToken(_) => StatusCode::UNAUTHORIZED,
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
            Self::Unavailable => return OAuthError::unavailable().error_response(),
        };
        let challenge = match code {
            None => r#"Bearer realm="tessera""#.to_owned(),
            Some(code) => format!(
                r#"Bearer realm="tessera", error="{code}", error_description="{description}""#
            ),
        };
        let mut response = HttpResponse::build(self.status_code());
        response
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::WWW_AUTHENTICATE, challenge));
        match code {
            Some(error) => {
                response.json(serde_json::json!({"error": error, "error_description": description}))
            }
            None => response.finish(),
        }
    }
}
