//! GET/POST /userinfo with a Bearer token (RFC 6750 §2.1 header, §2.2 form body).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use super::form_params;
use crate::error::BearerError;
use crate::oauth;
use crate::state::AppState;

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

/// The token of an `Authorization: Bearer` header, if there is one.
pub fn bearer_token(req: &HttpRequest) -> Result<Option<String>, BearerError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| BearerError::InvalidRequest("malformed Authorization header"))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim().to_owned()))
        }
        _ => Err(BearerError::InvalidRequest(
            "the Authorization header must be 'Bearer <token>'",
        )),
    }
}

async fn answer(state: &AppState, token: &str) -> Result<HttpResponse, BearerError> {
    let claims = oauth::userinfo::userinfo(state, token).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(claims))
}
