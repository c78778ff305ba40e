//! GET/POST /login: the sign-in page of an authorization.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::core::authorize::flow::{self, LoginResult};
use crate::web::cookies::{csrf_token, session_cookie};
use crate::web::errors::PageError;
use crate::web::extract::{interaction_form, interaction_id, login_attempt, peer_ip, query_params};
use crate::web::render;
use crate::web::render::{scripted_page, with_cookie};
use crate::web::respond::after_refusal;
use crate::web::state::AppState;
use crate::web::views::LoginPage;

pub async fn login_page(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let id = interaction_id(&query_params(&req)?)?;
    let prompt = flow::login_prompt(&state.ctx(), &id).await?;
    let (csrf, cookie) = csrf_token(&state, &req);
    scripted_page(
        &LoginPage::for_interaction(&prompt, &id, &csrf),
        StatusCode::OK,
        cookie,
    )
}

pub async fn login_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let (form, id) = interaction_form(&state, &req, &body)?;
    let ip = peer_ip(&req);
    let attempt = login_attempt(&state, &req, &form, &ip).await?;
    let username = attempt.username;
    let result = flow::login(&state.ctx(), &state.offload, &state.notifier, &id, attempt).await?;
    match result {
        LoginResult::Continue {
            outcome,
            cookie_token,
        } => with_cookie(
            render::outcome(&state, outcome)?,
            cookie_token.map(|token| session_cookie(&state, token)),
        ),
        LoginResult::Refused { prompt, refusal } => {
            let status = after_refusal(&state, &refusal).await;
            let (csrf, cookie) = csrf_token(&state, &req);
            let form = LoginPage::for_interaction(&prompt, &id, &csrf).refused(username, &refusal);
            scripted_page(&form, status, cookie)
        }
    }
}
