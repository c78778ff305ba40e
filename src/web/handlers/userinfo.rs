//! GET/POST /userinfo with a Bearer token (RFC 6750 §2.1 header, §2.2 form body).

use actix_web::{HttpRequest, HttpResponse, web};

use crate::core::error::BearerError;
use crate::core::userinfo;
use crate::web::extract::{bearer_token, form_params};
use crate::web::respond::no_store_json;
use crate::web::state::AppState;

pub async fn userinfo_get(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, BearerError> {
    let token = bearer_token(&req)?.ok_or(BearerError::Missing)?;
    answer(&state, &token).await
}

pub async fn userinfo_post(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, BearerError> {
    let from_header = bearer_token(&req)?;
    let from_body = if body.is_empty() {
        None
    } else {
        let params = form_params(&req, &body)
            .map_err(|_| BearerError::InvalidRequest("the body must be a form"))?;
        params.get("access_token").map(str::to_owned)
    };
    let token = match (from_header, from_body) {
        (Some(_), Some(_)) => {
            return Err(BearerError::InvalidRequest(
                "send the token in one place only",
            ));
        }
        (Some(t), None) | (None, Some(t)) => t,
        (None, None) => return Err(BearerError::Missing),
    };
    answer(&state, &token).await
}

async fn answer(state: &AppState, token: &str) -> Result<HttpResponse, BearerError> {
    let claims = userinfo::userinfo(&state.ctx(), token).await?;
    Ok(no_store_json(claims))
}
