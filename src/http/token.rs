//! POST /token.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use super::{authorization, form_params, peer_ip};
use crate::error::OAuthError;
use crate::oauth;
use crate::state::AppState;

pub async fn token(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, OAuthError> {
    let params = form_params(&req, &body)?;
    let grant_type = params.get("grant_type").unwrap_or_default().to_owned();
    let response = oauth::token::token(
        &state,
        authorization(&req),
        params,
        peer_ip(&req).as_deref(),
    )
    .await?;
    state.metrics.token_issued(&grant_type);
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(response))
}
