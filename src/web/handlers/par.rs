//! POST /par: pushed authorization requests (RFC 9126 §2).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::core::authorize::par;
use crate::core::error::OAuthError;
use crate::web::extract::client_form_with_proof;
use crate::web::state::AppState;

pub async fn push(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, OAuthError> {
    let (params, client, proof) = client_form_with_proof(&state, &req, &body).await?;
    let pushed = par::push(
        &state.ctx(),
        &state.client_keys,
        &client,
        &params,
        proof.as_ref(),
    )
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(pushed))
}
