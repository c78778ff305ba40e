//! POST /revoke (RFC 7009).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::core::error::OAuthError;
use crate::core::revocation;
use crate::web::extract::client_form;
use crate::web::state::AppState;

pub async fn revoke(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, OAuthError> {
    let (params, client) = client_form(&state, &req, &body).await?;
    revocation::revoke(&state.ctx(), &client, &params).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}
