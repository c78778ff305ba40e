//! Two-step verification pages: the second factor after the password (for an application's
//! sign-in, with its interaction, or for the account pages, without), enrolling an
//! authenticator app when one is required, the recovery codes shown once, and the account's
//! own page to set up, renew and turn off the second factor.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::core::authorize::second_factor::{self, Answer, Browser, EnrolAnswer, Given, Prompt};
use crate::core::enrolment::{self, Factor};
use crate::core::error::OAuthError;
use crate::core::mfa::{self, CodeRefusal, Enrolment};
use crate::core::model::User;
use crate::core::params::Params;
use crate::web::cookies::{csrf_token, pending_removal, pending_token, session_cookie};
use crate::web::errors::{AccountPageError, PageError};
use crate::web::extract::{
    browser_device, csrf_form, peer_ip, query_params, require_signed_in, signed_form,
};
use crate::web::handlers::passkeys::{answer_of, refusal_status, remove_factor};
use crate::web::render;
use crate::web::render::{page, scripted_page, with_cookie};
use crate::web::respond::see_other;
use crate::web::state::AppState;
use crate::web::views::{
    EnrollPage, MfaPage, RecoveryCodeUsedPage, RecoveryCodesPage, SecondFactorContext,
    SecondFactorPage, code_refusal_message,
};

const ACCOUNT: &str = "your Tessera account";

/// The interaction a page or form is for; None for a sign-in to the account pages.
fn interaction_of(params: &Params) -> Option<String> {
    params
        .get("interaction")
        .filter(|i| !i.is_empty())
        .map(str::to_owned)
}

/// A submitted second-factor form: its interaction, the form, and the browser it came from.
struct CodeForm {
    interaction: Option<String>,
    form: Params,
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
    let form = csrf_form(state, req, body)?;
    let (signed, device) = browser_device(state, req).await?;
    Ok(CodeForm {
        interaction: interaction_of(&form),
        form,
        ip: peer_ip(req),
        proof: pending_token(state, req),
        signed,
        device,
    })
}

impl CodeForm {
    fn code(&self) -> &str {
        self.form.get("code").unwrap_or_default()
    }

    fn browser(&self) -> Browser<'_> {
        Browser {
            proof: self.proof.as_deref(),
            signed: self.signed.clone(),
            device: self.device.clone(),
            ip: self.ip.as_deref(),
        }
    }

    /// Where the sign-in goes on after a page shown in between (recovery codes).
    fn resume_to(&self, account: &str) -> String {
        match &self.interaction {
            Some(interaction) => format!("/login/resume?interaction={interaction}"),
            None => account.to_owned(),
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
        CodeRefusal::Passkey(refusal) => refusal_status(refusal),
    }
}

fn second_factor_form(
    state: &AppState,
    req: &HttpRequest,
    (prompt, interaction): (&Prompt, Option<&str>),
    status: StatusCode,
    error: Option<String>,
) -> Result<HttpResponse, PageError> {
    let (csrf, cookie) = csrf_token(state, req);
    let at = SecondFactorContext {
        client_name: prompt.client_name.as_deref().unwrap_or(ACCOUNT),
        username: &prompt.username,
        interaction: interaction.unwrap_or_default(),
        csrf: &csrf,
    };
    let factors = (prompt.totp, prompt.passkey.as_ref());
    scripted_page(&SecondFactorPage::new(at, factors, error), status, cookie)
}

/// GET /login/second-factor
pub async fn second_factor_page(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let interaction = interaction_of(&query_params(&req)?);
    let proof = pending_token(&state, &req);
    let shown = interaction.as_deref();
    let prompt = second_factor::prompt(&state.ctx(), shown, proof.as_deref()).await?;
    second_factor_form(&state, &req, (&prompt, shown), StatusCode::OK, None)
}

/// POST /login/second-factor: a code of the authenticator app, or a recovery code.
pub async fn second_factor_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let form = code_form(&state, &req, &body).await?;
    second_factor_given(&state, &req, &form, Given::Code(form.code())).await
}

/// POST /login/second-factor/passkey: one of the user's passkeys.
pub async fn second_factor_passkey(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let form = code_form(&state, &req, &body).await?;
    let given = Given::Passkey(answer_of(&form.form));
    second_factor_given(&state, &req, &form, given).await
}

async fn second_factor_given(
    state: &AppState,
    req: &HttpRequest,
    form: &CodeForm,
    given: Given<'_>,
) -> Result<HttpResponse, PageError> {
    let interaction = form.interaction.as_deref();
    let (cx, notifier) = (state.ctx(), &state.notifier);
    let answer = second_factor::answer(&cx, notifier, interaction, given, form.browser());
    let (to, cookie_token) = match answer.await? {
        Answer::Continue {
            outcome: Some(outcome),
            cookie_token,
        } => (render::outcome(state, outcome)?, cookie_token),
        Answer::Continue {
            outcome: None,
            cookie_token,
        } => (see_other("/account/sessions"), cookie_token),
        Answer::RecoveryCodeUsed { left, cookie_token } => {
            let next = form.resume_to("/account/mfa");
            (recovery_code_used(left, &next)?, cookie_token)
        }
        Answer::Refused { prompt, refusal } => {
            let status = after_code_refusal(&refusal).await;
            let error = Some(code_refusal_message(&refusal));
            return second_factor_form(state, req, (&prompt, interaction), status, error);
        }
    };
    let to = with_cookie(to, Some(pending_removal(state)))?;
    with_cookie(to, cookie_token.map(|t| session_cookie(state, t)))
}

/// The enrolment page: who enrols, for what, where the code is posted.
struct EnrolAt<'a> {
    client_name: Option<&'a str>,
    username: &'a str,
    interaction: Option<&'a str>,
    action: &'a str,
}

fn render_enrolment(
    state: &AppState,
    req: &HttpRequest,
    at: EnrolAt<'_>,
    enrolment: &Enrolment,
    (status, error): (StatusCode, Option<String>),
) -> Result<HttpResponse, PageError> {
    let (csrf, cookie) = csrf_token(state, req);
    let context = SecondFactorContext {
        client_name: at.client_name.unwrap_or(ACCOUNT),
        username: at.username,
        interaction: at.interaction.unwrap_or_default(),
        csrf: &csrf,
    };
    let shown = EnrollPage::new(context, at.action, enrolment, error);
    page(&shown, status, cookie)
}

/// The enrolment during a sign-in, with the secret pending for the user who gave the password.
async fn login_enrolment(
    state: &AppState,
    req: &HttpRequest,
    interaction: Option<&str>,
    (status, error): (StatusCode, Option<String>),
) -> Result<HttpResponse, PageError> {
    let proof = pending_token(state, req);
    let (prompt, enrolment) =
        second_factor::enrolment(&state.ctx(), interaction, proof.as_deref()).await?;
    let at = EnrolAt {
        client_name: prompt.client_name.as_deref(),
        username: &prompt.username,
        interaction,
        action: "/login/enroll",
    };
    render_enrolment(state, req, at, &enrolment, (status, error))
}

/// GET /login/enroll
pub async fn enroll_page(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let interaction = interaction_of(&query_params(&req)?);
    login_enrolment(&state, &req, interaction.as_deref(), (StatusCode::OK, None)).await
}

/// POST /login/enroll
pub async fn enroll_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let form = code_form(&state, &req, &body).await?;
    let interaction = form.interaction.as_deref();
    let (cx, notifier) = (state.ctx(), &state.notifier);
    match second_factor::enroll(&cx, notifier, interaction, form.code(), form.browser()).await? {
        EnrolAnswer::Done {
            recovery_codes,
            cookie_token,
        } => {
            let next = form.resume_to("/account/sessions");
            let codes = RecoveryCodesPage::new(&recovery_codes, &next);
            let shown = page(&codes, StatusCode::OK, Some(pending_removal(&state)))?;
            with_cookie(shown, cookie_token.map(|t| session_cookie(&state, t)))
        }
        EnrolAnswer::Refused { refusal, .. } => {
            let status = after_code_refusal(&refusal).await;
            let error = Some(code_refusal_message(&refusal));
            login_enrolment(&state, &req, interaction, (status, error)).await
        }
    }
}

/// GET /login/resume: the authorization goes on after the recovery codes were shown.
pub async fn resume(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let interaction = interaction_of(&query_params(&req)?).unwrap_or_default();
    let (signed, _) = browser_device(&state, &req).await?;
    let outcome = second_factor::resume(&state.ctx(), &interaction, signed).await?;
    render::outcome(&state, outcome)
}

/// The account page's enrolment for a signed-in user (a new or the pending secret).
async fn account_enrolment(
    state: &AppState,
    req: &HttpRequest,
    user: &User,
    (status, error): (StatusCode, Option<String>),
) -> Result<HttpResponse, PageError> {
    let Some(enrolment) = mfa::begin_totp(&state.ctx(), user).await? else {
        let enrolled = "an authenticator app is already set up for this account";
        return Err(OAuthError::invalid_request(enrolled).into());
    };
    let at = EnrolAt {
        client_name: None,
        username: &user.username,
        interaction: None,
        action: "/account/mfa/totp/confirm",
    };
    render_enrolment(state, req, at, &enrolment, (status, error))
}

/// GET /account/mfa
pub async fn account_page(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, AccountPageError> {
    let signed = require_signed_in(&state, &req).await?;
    let params = query_params(&req).map_err(PageError::from)?;
    let account = enrolment::account_factors(&state.ctx(), &signed.user).await?;
    let (csrf, cookie) = csrf_token(&state, &req);
    let data = MfaPage::new(&signed.user.username, &account, &csrf, params.get("done"));
    Ok(scripted_page(&data, StatusCode::OK, cookie)?)
}

/// POST /account/mfa/totp: the enrolment page, with a new (or the pending) secret.
pub async fn account_enroll(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, AccountPageError> {
    let (_, signed) = signed_form(&state, &req, &body).await?;
    let shown = (StatusCode::OK, None);
    Ok(account_enrolment(&state, &req, &signed.user, shown).await?)
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
            let shown = (status, Some(code_refusal_message(&refusal)));
            Ok(account_enrolment(&state, &req, &signed.user, shown).await?)
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
    if !mfa::factors(&cx, &signed.user.id).await?.any() {
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

/// POST /account/mfa/totp/remove: removes the authenticator app alone (passkeys stay);
/// every other device signs out.
pub async fn account_remove_totp(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, AccountPageError> {
    remove_factor(&state, &req, &body, |_| Factor::AuthenticatorApp).await?;
    Ok(see_other("/account/mfa?done=totp-removed"))
}
