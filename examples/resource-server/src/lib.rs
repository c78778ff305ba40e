//! An API protected by Tessera's access tokens, verified with public keys only: no secret is
//! shared with Tessera and no call is made to it per request (only to fetch its JWKS).
//!
//! - `GET /api/whoami`: any valid token; answers who the token is for.
//! - `GET /api/orders`: needs the `orders:read` scope.
//! - `POST /api/orders`: needs the `orders:write` scope.
//!
//! Refusals follow RFC 6750 §3: `401` with `WWW-Authenticate: Bearer error="invalid_token"`
//! for a missing, malformed, tampered, expired or foreign token, `403` with
//! `error="insufficient_scope"` for a valid token without the scope.

mod verifier;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

pub use verifier::{Claims, Refused, Verifier};

/// The API's routes; `verifier` knows the issuer and the audience this API answers to.
pub fn routes(verifier: web::Data<Verifier>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(verifier)
            .route("/api/whoami", web::get().to(whoami))
            .route("/api/orders", web::get().to(list_orders))
            .route("/api/orders", web::post().to(create_order));
    }
}

async fn whoami(req: HttpRequest, verifier: web::Data<Verifier>) -> HttpResponse {
    match authorize(&req, &verifier, None).await {
        Ok(claims) => HttpResponse::Ok().json(json!({
            "sub": claims.sub,
            "client_id": claims.client_id,
            "scope": claims.scope,
        })),
        Err(refusal) => refusal,
    }
}

async fn list_orders(req: HttpRequest, verifier: web::Data<Verifier>) -> HttpResponse {
    match authorize(&req, &verifier, Some("orders:read")).await {
        Ok(claims) => HttpResponse::Ok().json(json!({
            "orders": [{"id": 1, "item": "tessera tiles", "for": claims.sub}],
        })),
        Err(refusal) => refusal,
    }
}

async fn create_order(req: HttpRequest, verifier: web::Data<Verifier>) -> HttpResponse {
    match authorize(&req, &verifier, Some("orders:write")).await {
        Ok(claims) => HttpResponse::Created().json(json!({"id": 2, "for": claims.sub})),
        Err(refusal) => refusal,
    }
}

/// The request's verified claims, holding `scope` if one is named, or the RFC 6750 refusal.
async fn authorize(
    req: &HttpRequest,
    verifier: &Verifier,
    scope: Option<&str>,
) -> Result<Claims, HttpResponse> {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split_once(' ')
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        })
        .map(|(_, token)| token.trim());
    let Some(token) = token else {
        return Err(HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, r#"Bearer realm="api""#))
            .json(json!({"error": "invalid_request", "error_description": "a Bearer access token is required"})));
    };
    let claims = verifier.verify(token).await.map_err(|Refused(why)| {
        let quoted = why.replace(['"', '\\'], "'");
        HttpResponse::Unauthorized()
            .insert_header((
                header::WWW_AUTHENTICATE,
                format!(
                    r#"Bearer realm="api", error="invalid_token", error_description="{quoted}""#
                ),
            ))
            .json(json!({"error": "invalid_token", "error_description": why}))
    })?;
    match scope {
        Some(wanted) if !claims.has_scope(wanted) => Err(HttpResponse::Forbidden()
            .insert_header((
                header::WWW_AUTHENTICATE,
                format!(r#"Bearer realm="api", error="insufficient_scope", scope="{wanted}""#),
            ))
            .json(json!({"error": "insufficient_scope", "error_description": format!("this needs the {wanted} scope")}))),
        _ => Ok(claims),
    }
}
