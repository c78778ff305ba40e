//! Around every request: a request id, one log line (method, route, status, duration; never
//! the query, which carries codes and tokens), metrics, CORS for registered origins, HSTS under
//! https, and a JSON body for oversized requests.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use tracing::Instrument;

use super::state::AppState;
use crate::core::accounts::is_registered_origin;
use crate::core::dpop;

/// Largest request body any endpoint accepts.
pub const MAX_BODY: usize = 64 * 1024;

/// Endpoints a browser application may call from another origin (its own): CORS applies to
/// them, for the origins of registered redirect URIs only, and to nothing else.
const CORS_PATHS: [&str; 7] = [
    "/.well-known/openid-configuration",
    "/.well-known/oauth-authorization-server",
    "/.well-known/jwks.json",
    "/token",
    "/userinfo",
    "/revoke",
    "/par",
];

/// A request id unique to this process and its start: a random prefix and a counter. It
/// names a request in the logs; it is not a secret, so it costs no randomness per request.
fn next_request_id() -> String {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    static PREFIX: OnceLock<String> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(|| crate::secret::random_id()[..10].to_owned());
    format!("{prefix}-{:x}", COUNTER.fetch_add(1, Ordering::Relaxed))
}

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
        .map_or_else(next_request_id, str::to_owned);
    // RFC 9449 §8: a request with a proof learns the nonce its next proof must carry.
    let dpop_nonce = state
        .as_ref()
        .filter(|s| s.policy.dpop_nonce && req.headers().contains_key("dpop"))
        .map(|s| dpop::nonce(&s.master, s.now()));
    let method = req.method().clone();
    let path = req.path().to_owned();
    let cors_origin = match (&state, CORS_PATHS.contains(&path.as_str())) {
        (Some(state), true) => allowed_origin(state, req.request()).await,
        _ => None,
    };

    // One span per request when traces are exported: the method, the route pattern (never
    // the query string), the status and the outcome; no credential.
    let span = if crate::telemetry::exporting() {
        let route = req
            .resource_map()
            .match_pattern(req.path())
            .unwrap_or_else(|| "unmatched".into());
        tracing::info_span!(
            "request",
            otel.name = %format_args!("{method} {route}"),
            otel.kind = "server",
            otel.status_code = tracing::field::Empty,
            http.request.method = %method,
            http.route = %route,
            http.response.status_code = tracing::field::Empty,
            outcome = tracing::field::Empty,
            request_id = %request_id,
        )
    } else {
        tracing::Span::none()
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
                        "Authorization, Content-Type, DPoP",
                    ))
                    .insert_header((header::ACCESS_CONTROL_MAX_AGE, "600"));
            }
            req.into_response(preflight.finish())
        } else {
            next.call(req)
                .instrument(span.clone())
                .await?
                .map_into_boxed_body()
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
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("DPoP-Nonce, WWW-Authenticate"),
        );
    }
    if let Some(nonce) = dpop_nonce.and_then(|n| HeaderValue::from_str(&n).ok()) {
        headers.insert(HeaderName::from_static("dpop-nonce"), nonce);
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
    span.record("http.response.status_code", status);
    span.record("outcome", outcome(status));
    if status >= 500 {
        span.record("otel.status_code", "ERROR");
    }
    span.in_scope(|| {
        tracing::info!(request_id = %request_id, %method, path = %endpoint, status, ms = elapsed.as_millis() as u64, "request");
    });
    Ok(response)
}

/// How a request ended, for its span: by its status class.
fn outcome(status: u16) -> &'static str {
    match status {
        0..400 => "ok",
        401 | 403 => "unauthorized",
        429 | 503 => "refused_busy",
        400..500 => "client_error",
        _ => "server_error",
    }
}

/// The request's Origin, if it is the origin of some client's registered redirect URI.
async fn allowed_origin(state: &AppState, req: &HttpRequest) -> Option<String> {
    let origin = req.headers().get(header::ORIGIN)?.to_str().ok()?.to_owned();
    match is_registered_origin(&state.store, &origin).await {
        Ok(true) => Some(origin),
        Ok(false) => None,
        Err(e) => {
            tracing::warn!(error = %e, "cannot check the CORS origin");
            None
        }
    }
}
