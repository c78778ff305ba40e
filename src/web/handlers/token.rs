//! POST /token.

use actix_web::{HttpRequest, HttpResponse, web};

use crate::core::error::OAuthError;
use crate::core::token;
use crate::web::extract::client_form_with_proof;
use crate::web::respond::no_store_json;
use crate::web::state::AppState;

pub async fn token(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, OAuthError> {
    let (params, client, proof) = client_form_with_proof(&state, &req, &body).await?;
    let response = token::token(&state.ctx(), &client, &params, proof.as_ref()).await?;
    state
        .metrics
        .token_issued(params.get("grant_type").unwrap_or_default());
    Ok(no_store_json(response))
}
