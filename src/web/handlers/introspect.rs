//! POST /introspect (RFC 7662).

use actix_web::{HttpRequest, HttpResponse, web};

use crate::core::error::OAuthError;
use crate::core::introspection;
use crate::web::extract::client_form;
use crate::web::respond::no_store_json;
use crate::web::state::AppState;

pub async fn introspect(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, OAuthError> {
    let (params, client) = client_form(&state, &req, &body).await?;
    let answer = introspection::introspect(&state.ctx(), &client, &params).await?;
    Ok(no_store_json(answer))
}
