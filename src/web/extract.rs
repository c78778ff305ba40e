//! What handlers read from a request: parameters (bounded, duplicate-free), credentials, the
//! peer's address and device, and the signed-in browser. Each returns the error its callers
//! answer with.

use actix_web::HttpRequest;
use actix_web::http::header;

use super::cookies::{csrf_matches, session_token};
use super::errors::{AccountPageError, PageError};
use super::state::AppState;
use crate::core::access::Presented;
use crate::core::dpop::{DpopError, Proof};
use crate::core::error::{BearerError, OAuthError, StoreError};
use crate::core::login::Attempt;
use crate::core::model::{Client, Device};
use crate::core::params::Params;
use crate::core::sessions::{self, SignedIn};
use crate::core::token::client_auth;

/// Parameters of a GET query string.
pub fn query_params(req: &HttpRequest) -> Result<Params, OAuthError> {
    Params::from_urlencoded(req.query_string().as_bytes())
}

/// Parameters of an application/x-www-form-urlencoded body.
pub fn form_params(req: &HttpRequest, body: &[u8]) -> Result<Params, OAuthError> {
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if !is_form {
        return Err(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    Params::from_urlencoded(body)
}

/// The interaction a login or consent page belongs to.
pub fn interaction_id(params: &Params) -> Result<String, OAuthError> {
    params.get("interaction").map(str::to_owned).ok_or_else(|| {
        OAuthError::invalid_request("this page must be reached from an application's sign-in link")
    })
}

/// The Authorization header, if any; an unreadable one is passed on as invalid.
pub fn authorization(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or("invalid"))
}

/// An access token from the Authorization header: `Bearer` (RFC 6750 §2.1) or `DPoP`
/// (RFC 9449 §7.1).
pub struct HeaderToken {
    pub token: String,
    pub dpop: bool,
}

/// The access token of the Authorization header, if there is one.
pub fn header_token(req: &HttpRequest) -> Result<Option<HeaderToken>, BearerError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| BearerError::InvalidRequest("malformed Authorization header"))?;
    let scheme = |name: &str, scheme: &str| name.eq_ignore_ascii_case(scheme);
    match value.split_once(' ') {
        Some((name, token))
            if (scheme(name, "bearer") || scheme(name, "dpop")) && !token.trim().is_empty() =>
        {
            Ok(Some(HeaderToken {
                token: token.trim().to_owned(),
                dpop: scheme(name, "dpop"),
            }))
        }
        _ => Err(BearerError::InvalidRequest(
            "the Authorization header must be 'Bearer <token>' or 'DPoP <token>'",
        )),
    }
}

/// How a request to a protected resource presents `token`: a DPoP token needs its proof.
pub fn presented<'r>(
    state: &AppState,
    req: &'r HttpRequest,
    token: &'r HeaderToken,
) -> Result<Presented<'r>, BearerError> {
    if !token.dpop {
        return Ok(Presented::Bearer(&token.token));
    }
    let proof = dpop_proof(state, req)?.ok_or(BearerError::InvalidDpopProof(
        "the DPoP scheme needs a DPoP header with a proof",
    ))?;
    Ok(Presented::Dpop {
        token: &token.token,
        proof,
    })
}

/// The request's DPoP proof (RFC 9449 §4.1), if it sent one, with the method and URL it must
/// be about.
pub fn dpop_proof<'r>(
    state: &AppState,
    req: &'r HttpRequest,
) -> Result<Option<Proof<'r>>, DpopError> {
    let mut values = req.headers().get_all("dpop");
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(DpopError::Invalid("send exactly one DPoP header"));
    }
    let jwt = first
        .to_str()
        .map_err(|_| DpopError::Invalid("the DPoP header must be a signed JWT"))?;
    Ok(Some(Proof {
        jwt,
        method: req.method().as_str(),
        url: state.policy.url(req.path()),
    }))
}

/// The client's IP as seen by this server (no proxy headers are trusted).
pub fn peer_ip(req: &HttpRequest) -> Option<String> {
    req.peer_addr().map(|a| a.ip().to_string())
}

/// The device a browser signs in from, as its session will show it.
fn device(req: &HttpRequest) -> Device {
    Device {
        user_agent: req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(512).collect()),
        ip: peer_ip(req),
    }
}

/// The browser's signed-in session, if its cookie names a live one of an enabled user.
pub async fn signed_in(
    state: &AppState,
    req: &HttpRequest,
) -> Result<Option<SignedIn>, StoreError> {
    let token = session_token(state, req);
    sessions::signed_in(&state.ctx(), token.as_ref().map(|c| c.value())).await
}

/// The signed-in browser, or (as an error) a redirect to the account login.
pub async fn require_signed_in(
    state: &AppState,
    req: &HttpRequest,
) -> Result<SignedIn, AccountPageError> {
    signed_in(state, req)
        .await?
        .ok_or(AccountPageError::NotSignedIn)
}

/// A CSRF-checked form posted by a signed-in browser.
pub async fn signed_form(
    state: &AppState,
    req: &HttpRequest,
    body: &[u8],
) -> Result<(Params, SignedIn), AccountPageError> {
    let form = csrf_form(state, req, body)?;
    Ok((form, require_signed_in(state, req).await?))
}

/// Refuses a form whose CSRF token is not this browser's (double submit).
pub fn check_csrf(
    state: &AppState,
    req: &HttpRequest,
    submitted: Option<&str>,
) -> Result<(), PageError> {
    if csrf_matches(state, req, submitted) {
        Ok(())
    } else {
        Err(PageError::forbidden(
            "the form's security token is missing or does not match; reload the page and try again",
        ))
    }
}

/// The browser's current session, if any, and the device it is.
pub async fn browser_device(
    state: &AppState,
    req: &HttpRequest,
) -> Result<(Option<SignedIn>, Device), StoreError> {
    Ok((signed_in(state, req).await?, device(req)))
}

/// A login form's credentials, and the browser and device they came from.
pub async fn login_attempt<'a>(
    state: &AppState,
    req: &HttpRequest,
    form: &'a Params,
    ip: &'a Option<String>,
) -> Result<Attempt<'a>, StoreError> {
    Ok(Attempt {
        username: form.get("username").unwrap_or_default().trim(),
        password: form.get("password").unwrap_or_default(),
        ip: ip.as_deref(),
        device: device(req),
        browser: signed_in(state, req).await?,
    })
}

/// A CSRF-checked form of a login or consent page, and the interaction it belongs to.
pub fn interaction_form(
    state: &AppState,
    req: &HttpRequest,
    body: &[u8],
) -> Result<(Params, String), PageError> {
    let form = csrf_form(state, req, body)?;
    let id = interaction_id(&form)?;
    Ok((form, id))
}

/// A posted form whose CSRF token is this browser's.
pub fn csrf_form(state: &AppState, req: &HttpRequest, body: &[u8]) -> Result<Params, PageError> {
    let form = form_params(req, body)?;
    check_csrf(state, req, form.get("csrf"))?;
    Ok(form)
}

/// A token-family request's form and the client it authenticates as.
pub async fn client_form(
    state: &AppState,
    req: &HttpRequest,
    body: &[u8],
) -> Result<(Params, Client), OAuthError> {
    let params = form_params(req, body)?;
    let client = authenticated_client(state, req, &params).await?;
    Ok((params, client))
}

/// A token-family request that may prove a DPoP key (/token, /par): its form, its client and
/// its proof.
pub async fn client_form_with_proof<'r>(
    state: &AppState,
    req: &'r HttpRequest,
    body: &[u8],
) -> Result<(Params, Client, Option<Proof<'r>>), OAuthError> {
    let (params, client) = client_form(state, req, body).await?;
    let proof = dpop_proof(state, req)?;
    Ok((params, client, proof))
}

/// The client a token-family request authenticates as. A wrong secret is counted and
/// answered only after the throttle's delay.
async fn authenticated_client(
    state: &AppState,
    req: &HttpRequest,
    params: &Params,
) -> Result<Client, OAuthError> {
    let ip = peer_ip(req);
    let refused = match client_auth::authenticate(
        &state.ctx(),
        &state.client_keys,
        authorization(req),
        params,
        ip.as_deref(),
    )
    .await
    {
        Ok(client) => return Ok(client),
        Err(refused) => refused,
    };
    if let Some(delay) = refused.delay {
        state.metrics.client_auth_failed();
        actix_web::rt::time::sleep(delay).await;
    }
    Err(refused.error)
}
