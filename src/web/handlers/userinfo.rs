//! GET/POST /userinfo with an access token: a Bearer token in the Authorization header (RFC
//! 6750 §2.1) or the form body (§2.2), or a DPoP-bound token with its proof (RFC 9449 §7.1).

use actix_web::{HttpRequest, HttpResponse, web};

use crate::core::access::Presented;
use crate::core::error::BearerError;
use crate::core::userinfo;
use crate::web::extract::{form_params, header_token, presented};
use crate::web::respond::no_store_json;
use crate::web::state::AppState;

pub async fn userinfo_get(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, BearerError> {
    let token = header_token(&req)?.ok_or(BearerError::Missing)?;
    answer(&state, &presented(&state, &req, &token)?).await
}

pub async fn userinfo_post(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, BearerError> {
    let from_header = header_token(&req)?;
    let from_body = if body.is_empty() {
        None
    } else {
        let params = form_params(&req, &body)
            .map_err(|_| BearerError::InvalidRequest("the body must be a form"))?;
        params.get("access_token").map(str::to_owned)
    };
    match (&from_header, &from_body) {
        (Some(_), Some(_)) => Err(BearerError::InvalidRequest(
            "send the token in one place only",
        )),
        (Some(token), None) => answer(&state, &presented(&state, &req, token)?).await,
        (None, Some(token)) => answer(&state, &Presented::Bearer(token)).await,
        (None, None) => Err(BearerError::Missing),
    }
}

async fn answer(state: &AppState, token: &Presented<'_>) -> Result<HttpResponse, BearerError> {
    let claims = userinfo::userinfo(&state.ctx(), token).await?;
    Ok(no_store_json(claims))
}
