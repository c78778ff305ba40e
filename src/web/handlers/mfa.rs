//! Two-step verification pages: the second factor after the password (for an application's
//! sign-in, with its interaction, or for the account pages, without), enrolling an
//! authenticator app when one is required, the recovery codes shown once, and the account's
//! own page to set up, renew and turn off the second factor.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::core::authorize::second_factor::{self, Answer, Browser, EnrolAnswer};
use crate::core::error::OAuthError;
use crate::core::login::{self, Enrolled, SecondFactorAnswer};
use crate::core::mfa::{self, CodeRefusal, Enrolment, Used};
use crate::core::model::User;
use crate::core::params::Params;
use crate::web::cookies::{csrf_token, pending_removal, pending_token, session_cookie};
use crate::web::errors::{AccountPageError, PageError};
use crate::web::extract::{
    browser_device, check_csrf, form_params, peer_ip, query_params, require_signed_in, signed_form,
};
use crate::web::render;
use crate::web::render::{page, with_cookie};
use crate::web::respond::see_other;
use crate::web::state::AppState;
use crate::web::views::{
    EnrollPage, MfaPage, RecoveryCodeUsedPage, RecoveryCodesPage, SecondFactorContext,
    SecondFactorPage, code_refusal_message,
};

const ACCOUNT: &str = "your Tessera account";

/// The user whose password this browser gave, for the account pages (no interaction).
async fn account_user(state: &AppState, req: &HttpRequest) -> Result<User, PageError> {
    let proof = pending_token(state, req);
    login::pending_user(&state.ctx(), proof.as_deref())
        .await?
        .ok_or_else(|| {
            OAuthError::invalid_request(
                "this sign-in took too long or was started in another browser; sign in again",
            )
            .into()
        })
}

/// Who is signing in and to what: from the interaction, or the account's.
async fn context_names(
    state: &AppState,
    req: &HttpRequest,
    interaction: &str,
) -> Result<(String, String), PageError> {
    if interaction.is_empty() {
        Ok((ACCOUNT.to_owned(), account_user(state, req).await?.username))
    } else {
        let proof = pending_token(state, req);
        let prompt = second_factor::prompt(&state.ctx(), interaction, proof.as_deref()).await?;
        Ok((prompt.client_name, prompt.username))
    }
}

fn interaction_of(params: &Params) -> String {
    params.get("interaction").unwrap_or_default().to_owned()
}

/// A submitted code form: its interaction (empty for the account pages), the code, and the
/// browser it came from.
struct CodeForm {
    interaction: String,
    code: String,
    ip: Option<String>,
    proof: Option<String>,
    signed: Option<crate::core::sessions::SignedIn>,
    device: crate::core::model::Device,
}

async fn code_form(
    state: &AppState,
    req: &HttpRequest,
    body: &[u8],
) -> Result<CodeForm, PageError> {
    let form = form_params(req, body)?;
    check_csrf(state, req, form.get("csrf"))?;
    let (signed, device) = browser_device(state, req).await?;
    Ok(CodeForm {
        interaction: interaction_of(&form),
        code: form.get("code").unwrap_or_default().to_owned(),
        ip: peer_ip(req),
        proof: pending_token(state, req),
        signed,
        device,
    })
}

impl CodeForm {
    fn browser(&self) -> Browser<'_> {
        Browser {
            proof: self.proof.as_deref(),
            signed: self.signed.clone(),
            device: self.device.clone(),
            ip: self.ip.as_deref(),
        }
    }
}

/// The page telling a user they signed in with a recovery code, and how many are left.
fn recovery_code_used(left: usize, continue_to: &str) -> Result<HttpResponse, PageError> {
    page(
        &RecoveryCodeUsedPage::new(left, continue_to),
        StatusCode::OK,
        None,
    )
}

/// Waits out a wrong code's delay; the status the form is shown again with.
async fn after_code_refusal(refusal: &CodeRefusal) -> StatusCode {
    match refusal {
        CodeRefusal::Wrong { delay } => {
            actix_web::rt::time::sleep(*delay).await;
            StatusCode::UNAUTHORIZED
        }
        CodeRefusal::Locked { .. } => StatusCode::TOO_MANY_REQUESTS,
        CodeRefusal::NotEnrolled => StatusCode::BAD_REQUEST,
    }
}

async fn second_factor_form(
    state: &AppState,
    req: &HttpRequest,
    interaction: &str,
    status: StatusCode,
    error: Option<String>,
) -> Result<HttpResponse, PageError> {
    let (client_name, username) = context_names(state, req, interaction).await?;
    let (csrf, cookie) = csrf_token(state, req);
    let at = SecondFactorContext {
        client_name: &client_name,
        username: &username,
        interaction,
        csrf: &csrf,
    };
    page(&SecondFactorPage::new(at, error), status, cookie)
}

/// GET /login/second-factor
pub async fn second_factor_page(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let interaction = interaction_of(&query_params(&req)?);
    second_factor_form(&state, &req, &interaction, StatusCode::OK, None).await
}

/// POST /login/second-factor
pub async fn second_factor_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let form = code_form(&state, &req, &body).await?;
    let (interaction, code) = (form.interaction.as_str(), form.code.as_str());
    let cx = state.ctx();
    let passed = if interaction.is_empty() {
        let user = account_user(&state, &req).await?;
        let there = (form.signed.clone(), form.device.clone());
        let ip = form.ip.as_deref();
        match login::second_factor(&cx, &state.notifier, user, code, ip, there).await? {
            SecondFactorAnswer::Done(done, Used::RecoveryCode { left }) => {
                let page = recovery_code_used(left, "/account/mfa")?;
                Ok((page, done.cookie_token))
            }
            SecondFactorAnswer::Done(done, Used::Otp) => {
                Ok((see_other("/account/sessions"), done.cookie_token))
            }
            SecondFactorAnswer::Refused(refusal) => Err(refusal),
        }
    } else {
        let browser = form.browser();
        match second_factor::answer(&cx, &state.notifier, interaction, code, browser).await? {
            Answer::Continue {
                outcome,
                cookie_token,
            } => Ok((render::outcome(&state, outcome)?, cookie_token)),
            Answer::RecoveryCodeUsed { left, cookie_token } => {
                let next = format!("/login/resume?interaction={interaction}");
                Ok((recovery_code_used(left, &next)?, cookie_token))
            }
            Answer::Refused { refusal, .. } => Err(refusal),
        }
    };
    let (to, cookie_token) = match passed {
        Ok(passed) => passed,
        Err(refusal) => {
            let status = after_code_refusal(&refusal).await;
            let error = Some(code_refusal_message(&refusal));
            return second_factor_form(&state, &req, interaction, status, error).await;
        }
    };
    let to = with_cookie(to, Some(pending_removal(&state)))?;
    with_cookie(to, cookie_token.map(|t| session_cookie(&state, t)))
}

async fn enrol_form(
    state: &AppState,
    req: &HttpRequest,
    (interaction, action): (&str, &str),
    user: &User,
    (status, error): (StatusCode, Option<String>),
) -> Result<HttpResponse, PageError> {
    let cx = state.ctx();
    let Some(enrolment) = mfa::begin_totp(&cx, user).await? else {
        return Err(OAuthError::invalid_request(
            "an authenticator app is already set up for this account",
        )
        .into());
    };
    let client_name = if interaction.is_empty() {
        ACCOUNT.to_owned()
    } else {
        context_names(state, req, interaction).await?.0
    };
    render_enrolment(
        state,
        req,
        (&client_name, interaction, action),
        user,
        &enrolment,
        (status, error),
    )
}

fn render_enrolment(
    state: &AppState,
    req: &HttpRequest,
    (client_name, interaction, action): (&str, &str, &str),
    user: &User,
    enrolment: &Enrolment,
    (status, error): (StatusCode, Option<String>),
) -> Result<HttpResponse, PageError> {
    let (csrf, cookie) = csrf_token(state, req);
    let at = SecondFactorContext {
        client_name,
        username: &user.username,
        interaction,
        csrf: &csrf,
    };
    page(
        &EnrollPage::new(at, action, enrolment, error),
        status,
        cookie,
    )
}

/// The user enrolling during a sign-in: from the interaction's proof, or the account's.
async fn enrolling_user(
    state: &AppState,
    req: &HttpRequest,
    interaction: &str,
) -> Result<User, PageError> {
    let user = account_user(state, req).await?;
    if !interaction.is_empty() {
        // The interaction must still be pending.
        second_factor::prompt(
            &state.ctx(),
            interaction,
            pending_token(state, req).as_deref(),
        )
        .await?;
    }
    Ok(user)
}

/// GET /login/enroll
pub async fn enroll_page(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let interaction = interaction_of(&query_params(&req)?);
    let user = enrolling_user(&state, &req, &interaction).await?;
    let at = (interaction.as_str(), "/login/enroll");
    enrol_form(&state, &req, at, &user, (StatusCode::OK, None)).await
}

/// POST /login/enroll
pub async fn enroll_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let form = code_form(&state, &req, &body).await?;
    let (interaction, code) = (form.interaction.as_str(), form.code.as_str());
    let cx = state.ctx();
    let answer = if interaction.is_empty() {
        let user = account_user(&state, &req).await?;
        let there = (form.signed.clone(), form.device.clone());
        match login::enroll(&cx, &state.notifier, user, code, form.ip.as_deref(), there).await? {
            Enrolled::Done {
                signed_in,
                recovery_codes,
            } => EnrolAnswer::Done {
                recovery_codes,
                cookie_token: signed_in.cookie_token,
            },
            Enrolled::Refused(refusal) => EnrolAnswer::Refused {
                prompt: second_factor::Prompt {
                    client_name: ACCOUNT.into(),
                    username: String::new(),
                },
                refusal,
            },
        }
    } else {
        let browser = form.browser();
        second_factor::enroll(&cx, &state.notifier, interaction, code, browser).await?
    };
    match answer {
        EnrolAnswer::Done {
            recovery_codes,
            cookie_token,
        } => {
            let next = if interaction.is_empty() {
                "/account/sessions".to_owned()
            } else {
                format!("/login/resume?interaction={interaction}")
            };
            let codes = RecoveryCodesPage::new(&recovery_codes, &next);
            let shown = page(&codes, StatusCode::OK, Some(pending_removal(&state)))?;
            with_cookie(shown, cookie_token.map(|t| session_cookie(&state, t)))
        }
        EnrolAnswer::Refused { refusal, .. } => {
            let status = after_code_refusal(&refusal).await;
            let user = enrolling_user(&state, &req, interaction).await?;
            let error = Some(code_refusal_message(&refusal));
            let at = (interaction, "/login/enroll");
            enrol_form(&state, &req, at, &user, (status, error)).await
        }
    }
}

/// GET /login/resume: the authorization goes on after the recovery codes were shown.
pub async fn resume(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let interaction = interaction_of(&query_params(&req)?);
    let (signed, _) = browser_device(&state, &req).await?;
    let outcome = second_factor::resume(&state.ctx(), &interaction, signed).await?;
    render::outcome(&state, outcome)
}

/// GET /account/mfa
pub async fn account_page(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, AccountPageError> {
    let signed = require_signed_in(&state, &req).await?;
    let params = query_params(&req).map_err(PageError::from)?;
    let factors = mfa::factors(&state.ctx(), &signed.user.id).await?;
    let (csrf, cookie) = csrf_token(&state, &req);
    let data = MfaPage::new(&signed.user.username, &factors, &csrf, params.get("done"));
    Ok(page(&data, StatusCode::OK, cookie)?)
}

/// POST /account/mfa/totp: the enrolment page, with a new (or the pending) secret.
pub async fn account_enroll(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, AccountPageError> {
    let (_, signed) = signed_form(&state, &req, &body).await?;
    let at = ("", "/account/mfa/totp/confirm");
    Ok(enrol_form(&state, &req, at, &signed.user, (StatusCode::OK, None)).await?)
}

/// POST /account/mfa/totp/confirm: the first code turns it on; the recovery codes follow.
pub async fn account_confirm(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, AccountPageError> {
    let (form, signed) = signed_form(&state, &req, &body).await?;
    let code = form.get("code").unwrap_or_default();
    let ip = peer_ip(&req);
    let cx = state.ctx();
    match mfa::confirm_totp(&cx, &signed.user.id, code, ip.as_deref()).await? {
        Ok(codes) => {
            let next = "/account/mfa?done=enrolled";
            Ok(page(
                &RecoveryCodesPage::new(&codes, next),
                StatusCode::OK,
                None,
            )?)
        }
        Err(refusal) => {
            let status = after_code_refusal(&refusal).await;
            let error = (status, Some(code_refusal_message(&refusal)));
            let at = ("", "/account/mfa/totp/confirm");
            Ok(enrol_form(&state, &req, at, &signed.user, error).await?)
        }
    }
}

/// POST /account/mfa/recovery-codes: new codes; the old ones stop working.
pub async fn account_recovery_codes(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, AccountPageError> {
    let (_, signed) = signed_form(&state, &req, &body).await?;
    let cx = state.ctx();
    if mfa::factors(&cx, &signed.user.id)
        .await?
        .totp_since
        .is_none()
    {
        return Ok(see_other("/account/mfa"));
    }
    let codes = mfa::new_recovery_codes(&cx, &signed.user.id).await?;
    let next = "/account/mfa";
    Ok(page(
        &RecoveryCodesPage::new(&codes, next),
        StatusCode::OK,
        None,
    )?)
}

/// POST /account/mfa/remove: turns the second factor off; every other device signs out.
pub async fn account_remove(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, AccountPageError> {
    let (_, signed) = signed_form(&state, &req, &body).await?;
    let keep = Some(signed.session.id.as_str());
    mfa::reset(&state.ctx(), &state.notifier, &signed.user.id, keep).await?;
    Ok(see_other("/account/mfa?done=removed"))
}
