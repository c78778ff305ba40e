//! The browser's cookies: the session cookie, the CSRF double-submit token, and the sealed
//! proof of a password while the second factor is asked for. Under an https issuer all are
//! `Secure` with the `__Host-` prefix.

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};

use super::state::AppState;
use crate::secret::{constant_time_eq, random_token};

/// How long a CSRF token cookie lives (seconds).
const CSRF_TTL: i64 = 24 * 3600;

fn session_cookie_name(state: &AppState) -> &'static str {
    if state.config.is_https() {
        "__Host-tessera_session"
    } else {
        "tessera_session"
    }
}

fn csrf_cookie_name(state: &AppState) -> &'static str {
    if state.config.is_https() {
        "__Host-tessera_csrf"
    } else {
        "tessera_csrf"
    }
}

fn pending_cookie_name(state: &AppState) -> &'static str {
    if state.config.is_https() {
        "__Host-tessera_mfa"
    } else {
        "tessera_mfa"
    }
}

/// The proof that this browser gave the password (see `core::mfa::seal_pending`).
pub fn pending_second_factor(state: &AppState, sealed: String) -> Cookie<'static> {
    let ttl = crate::core::mfa::PENDING_TTL;
    cookie(state, pending_cookie_name(state), sealed, ttl)
}

/// The sealed proof of a password this browser presents, if any.
pub fn pending_token(state: &AppState, req: &HttpRequest) -> Option<String> {
    req.cookie(pending_cookie_name(state))
        .map(|c| c.value().to_owned())
}

/// Tells the browser to forget the proof once the second factor was given.
pub fn pending_removal(state: &AppState) -> Cookie<'static> {
    removal(state, pending_cookie_name(state))
}

fn removal(state: &AppState, name: &'static str) -> Cookie<'static> {
    let mut removal = Cookie::build(name, "")
        .path("/")
        .secure(state.config.is_https())
        .finish();
    removal.make_removal();
    removal
}

fn cookie(state: &AppState, name: &'static str, value: String, max_age: i64) -> Cookie<'static> {
    Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .secure(state.config.is_https())
        .same_site(SameSite::Lax)
        .max_age(CookieDuration::seconds(max_age))
        .finish()
}

/// The session token this browser presents, if any.
pub fn session_token<'r>(state: &AppState, req: &'r HttpRequest) -> Option<Cookie<'r>> {
    req.cookie(session_cookie_name(state))
}

pub fn session_cookie(state: &AppState, token: String) -> Cookie<'static> {
    cookie(
        state,
        session_cookie_name(state),
        token,
        state.config.session_ttl,
    )
}

/// Tells the browser to forget its session cookie.
pub fn session_removal(state: &AppState) -> Cookie<'static> {
    removal(state, session_cookie_name(state))
}

/// The CSRF token for a form (double-submit: the same value in a cookie and a hidden field),
/// and the cookie to set when the browser has none yet.
pub fn csrf_token(state: &AppState, req: &HttpRequest) -> (String, Option<Cookie<'static>>) {
    match req.cookie(csrf_cookie_name(state)) {
        Some(c) if c.value().len() == 43 => (c.value().to_owned(), None),
        _ => {
            let token = random_token();
            let c = cookie(state, csrf_cookie_name(state), token.clone(), CSRF_TTL);
            (token, Some(c))
        }
    }
}

/// Whether a form's CSRF token is the one in this browser's cookie.
pub fn csrf_matches(state: &AppState, req: &HttpRequest, submitted: Option<&str>) -> bool {
    let cookie = req.cookie(csrf_cookie_name(state));
    matches!((cookie, submitted), (Some(c), Some(s)) if constant_time_eq(c.value().as_bytes(), s.as_bytes()))
}
