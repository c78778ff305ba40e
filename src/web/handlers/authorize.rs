//! GET/POST /authorize: starts a flow and sends the browser to login, consent or back.

use actix_web::{HttpRequest, HttpResponse, web};

use crate::core::authorize::flow;
use crate::core::params::Params;
use crate::web::errors::PageError;
use crate::web::extract::{form_params, query_params, signed_in};
use crate::web::render;
use crate::web::state::AppState;

pub async fn authorize_get(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    start(&state, &req, query_params(&req)?).await
}

pub async fn authorize_post(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    start(&state, &req, form_params(&req, &body)?).await
}

async fn start(
    state: &AppState,
    req: &HttpRequest,
    params: Params,
) -> Result<HttpResponse, PageError> {
    let signed = signed_in(state, req).await?;
    let outcome = flow::start(&state.ctx(), &state.client_keys, &params, signed).await?;
    render::outcome(state, outcome)
}
