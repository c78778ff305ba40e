//! GET/POST /consent: what the application asks for, and the user's answer.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::core::consent::{self, Step};
use crate::core::error::OAuthError;
use crate::web::cookies::csrf_token;
use crate::web::errors::PageError;
use crate::web::extract::{interaction_form, interaction_id, query_params, signed_in};
use crate::web::render;
use crate::web::render::page;
use crate::web::state::AppState;
use crate::web::views::ConsentPage;

pub async fn consent_page(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let id = interaction_id(&query_params(&req)?)?;
    let signed = signed_in(&state, &req).await?;
    match consent::prompt(&state.ctx(), &id, signed).await? {
        Step::Go(outcome) => render::outcome(&state, outcome),
        Step::Ask(prompt) => {
            let (csrf, cookie) = csrf_token(&state, &req);
            page(&ConsentPage::new(&prompt, &csrf), StatusCode::OK, cookie)
        }
    }
}

pub async fn consent_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let (form, id) = interaction_form(&state, &req, &body)?;
    let approved = match form.get("decision") {
        Some("approve") => true,
        Some("deny") => false,
        _ => return Err(OAuthError::invalid_request("choose Allow or Deny").into()),
    };
    let signed = signed_in(&state, &req).await?;
    let outcome = consent::answer(&state.ctx(), &id, signed, approved).await?;
    render::outcome(&state, outcome)
}
