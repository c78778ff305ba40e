//! HTTP adapters: each module parses a request, makes one call into `oauth/` or `store/`, and
//! renders the result. Shared here: routing, HTML responses, parameters, cookies and CSRF.

mod account;
mod admin;
mod authorize;
mod discovery;
mod health;
mod introspect;
mod jwks;
mod logout;
mod pages;
mod revoke;
mod token;
mod userinfo;

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentType};
use actix_web::{HttpRequest, HttpResponse, web};

use crate::error::{ErrorCode, OAuthError, PageError};
use crate::oauth::authorize::Params;
use crate::oauth::flow::Signed;
use crate::secret::{constant_time_eq, random_token};
use crate::state::AppState;

/// Largest request body any endpoint accepts.
pub const MAX_BODY: usize = 64 * 1024;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::PayloadConfig::new(MAX_BODY))
        .route(
            "/.well-known/openid-configuration",
            web::get().to(discovery::openid_configuration),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            web::get().to(discovery::oauth_metadata),
        )
        .route("/.well-known/jwks.json", web::get().to(jwks::jwks))
        .route("/authorize", web::get().to(authorize::authorize_get))
        .route("/authorize", web::post().to(authorize::authorize_post))
        .route("/login", web::get().to(pages::login_page))
        .route("/login", web::post().to(pages::login_submit))
        .route("/consent", web::get().to(pages::consent_page))
        .route("/consent", web::post().to(pages::consent_submit))
        .route("/token", web::post().to(token::token))
        .route("/revoke", web::post().to(revoke::revoke))
        .route("/introspect", web::post().to(introspect::introspect))
        .route("/userinfo", web::get().to(userinfo::userinfo_get))
        .route("/userinfo", web::post().to(userinfo::userinfo_post))
        .route("/account", web::get().to(account::account))
        .route("/account/login", web::get().to(account::login_page))
        .route("/account/login", web::post().to(account::login_submit))
        .route("/account/sessions", web::get().to(account::sessions_page))
        .route(
            "/account/sessions/revoke",
            web::post().to(account::revoke_session),
        )
        .route(
            "/account/sessions/revoke-others",
            web::post().to(account::revoke_others),
        )
        .route("/account/password", web::get().to(account::password_page))
        .route(
            "/account/password",
            web::post().to(account::change_password),
        )
        .route("/logout", web::get().to(logout::logout_get))
        .route("/logout", web::post().to(logout::logout_post))
        .configure(admin::routes)
        .route("/healthz", web::get().to(health::healthz))
        .route("/metrics", web::get().to(health::metrics))
        .route("/readyz", web::get().to(health::readyz))
        .route("/assets/tessera.css", web::get().to(stylesheet))
        .default_service(web::to(not_found));
}

const CSS: &str = include_str!("../../templates/tessera.css");

async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(CSS)
}

async fn not_found() -> HttpResponse {
    HttpResponse::NotFound().json(serde_json::json!({
        "error": "not_found",
        "error_description": "no such endpoint; see /.well-known/openid-configuration"
    }))
}

/// An HTML page with the headers every page carries.
pub fn html(status: StatusCode, body: String) -> HttpResponse {
    html_with_csp(status, body, "")
}

/// `extra_csp` adds directives, e.g. a script nonce for the form_post page.
pub fn html_with_csp(status: StatusCode, body: String, extra_csp: &str) -> HttpResponse {
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

/// Parameters of a GET query string.
pub fn query_params(req: &HttpRequest) -> Result<Params, OAuthError> {
    Params::parse(pairs(req.query_string().as_bytes()))
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
    Params::parse(pairs(body))
}

fn pairs(bytes: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(bytes).into_owned().collect()
}

pub fn session_cookie_name(state: &AppState) -> &'static str {
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

fn cookie<'a>(state: &AppState, name: &'a str, value: String, max_age: i64) -> Cookie<'a> {
    Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .secure(state.config.is_https())
        .same_site(SameSite::Lax)
        .max_age(CookieDuration::seconds(max_age))
        .finish()
}

pub fn session_cookie(state: &AppState, token: String) -> Cookie<'static> {
    cookie(
        state,
        session_cookie_name(state),
        token,
        state.config.session_ttl,
    )
}

/// The browser's signed-in session, if its cookie names a live one of an enabled user.
pub async fn signed_in(state: &AppState, req: &HttpRequest) -> Result<Option<Signed>, PageError> {
    let Some(cookie) = req.cookie(session_cookie_name(state)) else {
        return Ok(None);
    };
    let Some(session) = state
        .store
        .session_by_token(cookie.value(), state.now())
        .await?
    else {
        return Ok(None);
    };
    Ok(state
        .store
        .find_user(&session.user_id)
        .await?
        .filter(|u| !u.disabled)
        .map(|user| Signed { session, user }))
}

/// The CSRF token for a form (double-submit: the same value in a cookie and a hidden field),
/// and the cookie to set when the browser has none yet.
pub fn csrf_token(state: &AppState, req: &HttpRequest) -> (String, Option<Cookie<'static>>) {
    match req.cookie(csrf_cookie_name(state)) {
        Some(c) if c.value().len() == 43 => (c.value().to_owned(), None),
        _ => {
            let token = random_token();
            let c = cookie(state, csrf_cookie_name(state), token.clone(), 24 * 3600);
            (token, Some(c))
        }
    }
}

pub fn check_csrf(
    state: &AppState,
    req: &HttpRequest,
    submitted: Option<&str>,
) -> Result<(), PageError> {
    let cookie = req.cookie(csrf_cookie_name(state));
    match (cookie, submitted) {
        (Some(c), Some(s)) if constant_time_eq(c.value().as_bytes(), s.as_bytes()) => Ok(()),
        _ => Err(PageError {
            status: StatusCode::FORBIDDEN,
            code: ErrorCode::InvalidRequest,
            description: "the form's security token is missing or does not match; reload the page and try again".into(),
        }),
    }
}

/// The Authorization header, if any; an unreadable one is passed on as invalid.
pub fn authorization(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or("invalid"))
}

/// The client's IP as seen by this server (no proxy headers are trusted).
pub fn peer_ip(req: &HttpRequest) -> Option<String> {
    req.peer_addr().map(|a| a.ip().to_string())
}

/// Endpoints a browser application may call from another origin (its own): CORS applies to
/// them, for the origins of registered redirect URIs only, and to nothing else.
const CORS_PATHS: [&str; 6] = [
    "/.well-known/openid-configuration",
    "/.well-known/oauth-authorization-server",
    "/.well-known/jwks.json",
    "/token",
    "/userinfo",
    "/revoke",
];

/// Wraps every request: a request id, one log line (method, route, status, duration; never
/// the query, which carries codes and tokens), metrics, CORS, HSTS under https, and a JSON
/// body for oversized requests.
pub async fn around_request(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    use actix_web::http::header::{HeaderName, HeaderValue};
    let started = std::time::Instant::now();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map_or_else(crate::secret::random_id, str::to_owned);
    let method = req.method().clone();
    let path = req.path().to_owned();
    let cors_origin = match (&state, CORS_PATHS.contains(&path.as_str())) {
        (Some(state), true) => allowed_origin(state, req.request()).await,
        _ => None,
    };

    let mut response =
        if method == actix_web::http::Method::OPTIONS && CORS_PATHS.contains(&path.as_str()) {
            // A CORS preflight: answered here for the endpoints above.
            let mut preflight = HttpResponse::NoContent();
            if cors_origin.is_some() {
                preflight
                    .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, "GET, POST"))
                    .insert_header((
                        header::ACCESS_CONTROL_ALLOW_HEADERS,
                        "Authorization, Content-Type",
                    ))
                    .insert_header((header::ACCESS_CONTROL_MAX_AGE, "600"));
            }
            req.into_response(preflight.finish())
        } else {
            next.call(req).await?.map_into_boxed_body()
        };

    if response.status() == StatusCode::PAYLOAD_TOO_LARGE {
        let body = HttpResponse::PayloadTooLarge().json(serde_json::json!({
            "error": "invalid_request",
            "error_description": format!("the request body is larger than the {} KiB limit", MAX_BODY / 1024),
        }));
        response = response.into_response(body);
    }
    let headers = response.headers_mut();
    if let Ok(id) = HeaderValue::from_str(&request_id) {
        headers.insert(HeaderName::from_static("x-request-id"), id);
    }
    if let Some(origin) = cors_origin.and_then(|o| HeaderValue::from_str(&o).ok()) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    if state.as_ref().is_some_and(|s| s.config.is_https()) {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }

    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    let endpoint = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".into());
    if let Some(state) = &state {
        state
            .metrics
            .observe_request(&endpoint, status, elapsed.as_secs_f64());
    }
    tracing::info!(request_id = %request_id, %method, path = %endpoint, status, ms = elapsed.as_millis() as u64, "request");
    Ok(response)
}

/// The request's Origin, if it is the origin of some client's registered redirect URI.
async fn allowed_origin(state: &AppState, req: &HttpRequest) -> Option<String> {
    let origin = req.headers().get(header::ORIGIN)?.to_str().ok()?.to_owned();
    let clients = state.store.list_clients().await.ok()?;
    clients
        .iter()
        .flat_map(|c| &c.redirect_uris)
        .filter_map(|uri| url::Url::parse(uri).ok())
        .any(|uri| uri.origin().ascii_serialization() == origin)
        .then_some(origin)
}
