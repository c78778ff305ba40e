//! The errors of the use cases, named by the specs' error codes. Nothing here knows HTTP: the
//! web layer (`web/errors.rs`) decides statuses and headers, the CLI prints the messages.

use std::borrow::Cow;
use std::fmt;

use crate::wire::wire_names;

/// The `error` codes of RFC 6749 §4.1.2.1 and §5.2, OIDC Core §3.1.2.6 and RFC 6750 §3.1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
    /// OIDC Core §3.1.2.6: the request needs the user's interaction (prompt=none).
    InteractionRequired,
    RequestNotSupported,
    RequestUriNotSupported,
    RegistrationNotSupported,
    /// RFC 9449 §5 and §7.1.
    InvalidDpopProof,
    UseDpopNonce,
    /// RFC 9101 §7 (used by RFC 9126 for an unknown, expired or used request_uri).
    InvalidRequestUri,
    InvalidRequestObject,
    /// RFC 8707 §2.
    InvalidTarget,
}

wire_names!(ErrorCode {
    InvalidRequest => "invalid_request",
    InvalidClient => "invalid_client",
    InvalidGrant => "invalid_grant",
    UnauthorizedClient => "unauthorized_client",
    UnsupportedGrantType => "unsupported_grant_type",
    UnsupportedResponseType => "unsupported_response_type",
    InvalidScope => "invalid_scope",
    AccessDenied => "access_denied",
    ServerError => "server_error",
    TemporarilyUnavailable => "temporarily_unavailable",
    LoginRequired => "login_required",
    InteractionRequired => "interaction_required",
    ConsentRequired => "consent_required",
    RequestNotSupported => "request_not_supported",
    RequestUriNotSupported => "request_uri_not_supported",
    RegistrationNotSupported => "registration_not_supported",
    InvalidDpopProof => "invalid_dpop_proof",
    UseDpopNonce => "use_dpop_nonce",
    InvalidRequestUri => "invalid_request_uri",
    InvalidRequestObject => "invalid_request_object",
    InvalidTarget => "invalid_target",
});

/// Seconds a caller is told to wait when the server has no capacity for CPU-heavy work.
pub const BUSY_RETRY_AFTER: i64 = 2;
/// Seconds a client is asked to wait when the database cannot be reached.
pub const UNAVAILABLE_RETRY_AFTER: i64 = 5;

/// An OAuth 2.0 error: a code and a description for the developer reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub code: ErrorCode,
    pub description: Cow<'static, str>,
    /// Set when the caller should wait this many seconds (locked out, or the server is busy).
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

    /// Too many failed client authentications.
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

    pub fn invalid_scope(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidScope, description)
    }

    pub fn server_error() -> Self {
        Self::new(
            ErrorCode::ServerError,
            "the server could not complete the request",
        )
    }

    /// No capacity for the work now (see `ports::Offload`): try again in a moment.
    pub fn busy() -> Self {
        Self {
            retry_after: Some(BUSY_RETRY_AFTER),
            ..Self::new(
                ErrorCode::TemporarilyUnavailable,
                "the server is busy; try again in a moment",
            )
        }
    }

    /// The database cannot be reached: try again in a few seconds.
    pub fn unavailable() -> Self {
        Self {
            retry_after: Some(UNAVAILABLE_RETRY_AFTER),
            ..Self::new(
                ErrorCode::TemporarilyUnavailable,
                "the service is temporarily unavailable, try again shortly",
            )
        }
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.description)
    }
}

impl std::error::Error for OAuthError {}

/// A failure of the storage behind the ports: never the caller's fault.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached; the same request may succeed shortly.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Failed(String),
}

impl From<StoreError> for OAuthError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(_) => {
                tracing::warn!(error = %err, "database unavailable");
                Self::unavailable()
            }
            StoreError::Failed(_) => {
                tracing::error!(error = %err, "database error");
                Self::server_error()
            }
        }
    }
}

/// Work that cannot be done now: the store failed, or the CPU-heavy work could not be
/// scheduled (see `ports::Offload`).
#[derive(Debug, Clone, thiserror::Error)]
pub enum Unavailable {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the server is too busy to do this now")]
    Busy,
}

impl From<Unavailable> for OAuthError {
    fn from(err: Unavailable) -> Self {
        match err {
            Unavailable::Store(e) => e.into(),
            Unavailable::Busy => {
                tracing::warn!("no capacity for CPU-heavy work; answering busy");
                Self::busy()
            }
        }
    }
}

/// A refused Bearer token (RFC 6750 §3).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BearerError {
    /// No token at all: the challenge carries no error code (RFC 6750 §3.1).
    #[error("an access token is required")]
    Missing,
    #[error("invalid_request: {0}")]
    InvalidRequest(&'static str),
    #[error("invalid_token: {0}")]
    InvalidToken(&'static str),
    #[error("insufficient_scope: {0}")]
    InsufficientScope(&'static str),
    /// A DPoP proof that does not prove the key the token is bound to (RFC 9449 §7.1).
    #[error("invalid_dpop_proof: {0}")]
    InvalidDpopProof(&'static str),
    /// The proof lacks the server's current nonce (RFC 9449 §9).
    #[error("use_dpop_nonce")]
    UseDpopNonce,
    #[error("the service is temporarily unavailable")]
    Unavailable,
}

impl From<StoreError> for BearerError {
    fn from(err: StoreError) -> Self {
        tracing::warn!(error = %err, "database error during a token check");
        Self::Unavailable
    }
}

/// A refused operator or account action (the CLI, the admin API, the account pages).
#[derive(Debug, Clone, thiserror::Error)]
pub enum AccountError {
    /// The request itself is wrong; the message says how to fix it.
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Exists(String),
    /// The work could not be scheduled (the server is overloaded or shutting down).
    #[error("the server is too busy to do this now; try again")]
    Busy,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<Unavailable> for AccountError {
    fn from(err: Unavailable) -> Self {
        match err {
            Unavailable::Store(e) => Self::Store(e),
            Unavailable::Busy => Self::Busy,
        }
    }
}
