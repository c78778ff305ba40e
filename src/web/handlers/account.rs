//! The signed-in user's own pages: their devices (sessions), signing devices out, and changing
//! the password (which signs every other device out).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::core::accounts::{self, PasswordChange, PasswordForm};
use crate::core::login::{self, SignIn};
use crate::core::passkeys;
use crate::core::sessions;
use crate::web::cookies::{csrf_token, pending_second_factor, session_cookie};
use crate::web::errors::{AccountPageError, PageError};
use crate::web::extract::{
    csrf_form, login_attempt, peer_ip, query_params, require_signed_in, signed_form,
};
use crate::web::render::{page, scripted_page, with_cookie};
use crate::web::respond::{after_refusal, see_other};
use crate::web::state::AppState;
use crate::web::views::{self, LoginPage, PasswordPage, SessionsPage};

pub async fn account() -> HttpResponse {
    see_other("/account/sessions")
}

pub async fn login_page(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let passkey = passkeys::begin_sign_in(&state.ctx())?;
    let (csrf, cookie) = csrf_token(&state, &req);
    let shown = LoginPage::for_account(&csrf, passkey.as_ref());
    scripted_page(&shown, StatusCode::OK, cookie)
}

pub async fn login_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let form = csrf_form(&state, &req, &body)?;
    let ip = peer_ip(&req);
    let attempt = login_attempt(&state, &req, &form, &ip).await?;
    let username = attempt.username;
    let cx = state.ctx();
    let demands = login::Demands::default();
    match login::sign_in(&cx, &state.offload, &state.notifier, attempt, demands).await? {
        SignIn::Done(done) => with_cookie(
            see_other("/account/sessions"),
            done.cookie_token.map(|token| session_cookie(&state, token)),
        ),
        // A user with a second factor gives it for the account pages too.
        SignIn::SecondFactor { pending, enroll } => with_cookie(
            see_other(if enroll {
                "/login/enroll"
            } else {
                "/login/second-factor"
            }),
            Some(pending_second_factor(&state, pending)),
        ),
        SignIn::Refused(refusal) => {
            let status = after_refusal(&state, &refusal).await;
            let passkey = passkeys::begin_sign_in(&cx)?;
            let (csrf, cookie) = csrf_token(&state, &req);
            let shown = LoginPage::for_account(&csrf, passkey.as_ref()).refused(username, &refusal);
            scripted_page(&shown, status, cookie)
        }
    }
}

pub async fn sessions_page(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, AccountPageError> {
    let signed = require_signed_in(&state, &req).await?;
    let params = query_params(&req).map_err(PageError::from)?;
    let sessions = sessions::live_sessions(&state.ctx(), &signed.user.id).await?;
    let (csrf, cookie) = csrf_token(&state, &req);
    let data = SessionsPage::new(
        &signed.user.username,
        sessions,
        &signed.session.id,
        &csrf,
        params.get("done"),
    );
    Ok(page(&data, StatusCode::OK, cookie)?)
}

pub async fn revoke_session(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, AccountPageError> {
    let (form, signed) = signed_form(&state, &req, &body).await?;
    let sid = form.get("sid").unwrap_or_default();
    sessions::end_own_session(&state.ctx(), &state.notifier, &signed.user, sid).await?;
    Ok(see_other("/account/sessions?done=revoked"))
}

pub async fn revoke_others(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, AccountPageError> {
    let (_, signed) = signed_form(&state, &req, &body).await?;
    let (user, keep) = (&signed.user.id, Some(signed.session.id.as_str()));
    sessions::end_user_sessions(&state.ctx(), &state.notifier, user, keep).await?;
    Ok(see_other("/account/sessions?done=others"))
}

pub async fn password_page(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, AccountPageError> {
    let signed = require_signed_in(&state, &req).await?;
    let (csrf, cookie) = csrf_token(&state, &req);
    let data = PasswordPage::new(&signed.user.username, &csrf);
    Ok(page(&data, StatusCode::OK, cookie)?)
}

pub async fn change_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, AccountPageError> {
    let (form, signed) = signed_form(&state, &req, &body).await?;
    let ip = peer_ip(&req);
    let change = PasswordForm {
        current: form.get("current_password").unwrap_or_default(),
        new: form.get("new_password").unwrap_or_default(),
        confirm: form.get("confirm_password").unwrap_or_default(),
        ip: ip.as_deref(),
    };
    let cx = state.ctx();
    let result =
        accounts::change_own_password(&cx, &state.offload, &state.notifier, &signed, change)
            .await?;
    let (status, message) = match result {
        PasswordChange::Changed => return Ok(see_other("/account/sessions?done=password")),
        PasswordChange::Locked { seconds } => {
            let refusal = login::Refusal::Locked { seconds };
            (
                StatusCode::TOO_MANY_REQUESTS,
                views::refusal_message(&refusal),
            )
        }
        PasswordChange::WrongCurrent { delay } => {
            let refusal = login::Refusal::WrongCredentials { delay };
            after_refusal(&state, &refusal).await;
            (
                StatusCode::BAD_REQUEST,
                views::WRONG_CURRENT_PASSWORD.into(),
            )
        }
        PasswordChange::Mismatch => (StatusCode::BAD_REQUEST, views::PASSWORDS_DIFFER.into()),
        PasswordChange::Policy(e) => (StatusCode::BAD_REQUEST, views::policy_message(&e)),
    };
    let (csrf, cookie) = csrf_token(&state, &req);
    let data = PasswordPage::new(&signed.user.username, &csrf).with_error(message);
    Ok(page(&data, status, cookie)?)
}
