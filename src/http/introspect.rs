//! POST /introspect (RFC 7662).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use super::{authorization, form_params, peer_ip};
use crate::error::OAuthError;
use crate::oauth;
use crate::state::AppState;

pub async fn introspect(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, OAuthError> {
    let params = form_params(&req, &body)?;
    let answer = oauth::revocation::introspect(
        &state,
        authorization(&req),
        params,
        peer_ip(&req).as_deref(),
    )
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(answer))
}
