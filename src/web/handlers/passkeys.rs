//! Passkey forms: "Sign in with a passkey" on the login pages, and adding and removing
//! passkeys on the account page (with removing one factor, which the authenticator app's
//! form shares; a passkey as the second step is posted to `mfa::second_factor_passkey`). The browser's WebAuthn answer arrives in an ordinary form
//! post, filled in by the static `/assets/passkey.js`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::core::authorize::passkey::{self, PasskeySignIn};
use crate::core::enrolment::{self, Factor};
use crate::core::error::OAuthError;
use crate::core::params::Params;
use crate::core::passkeys::{Answer, Refusal};
use crate::web::cookies::{csrf_token, session_cookie};
use crate::web::errors::{AccountPageError, PageError};
use crate::web::extract::{browser_device, csrf_form, signed_form};
use crate::web::render::{self, scripted_page, with_cookie};
use crate::web::respond::see_other;
use crate::web::state::AppState;
use crate::web::views::{LoginPage, MfaPage, RecoveryCodesPage, passkey_refusal_message};

/// The WebAuthn answer in a posted form.
pub fn answer_of(form: &Params) -> Answer<'_> {
    Answer {
        ceremony: form.get("ceremony").unwrap_or_default(),
        credential: form.get("credential").unwrap_or_default(),
    }
}

/// The status a form is shown again with after a refused passkey.
pub fn refusal_status(refusal: &Refusal) -> StatusCode {
    match refusal {
        Refusal::Unavailable | Refusal::Stale => StatusCode::BAD_REQUEST,
        Refusal::Failed | Refusal::Unknown => StatusCode::UNAUTHORIZED,
        Refusal::Duplicate | Refusal::TooMany => StatusCode::CONFLICT,
    }
}

/// POST /login/passkey: signs in with a discoverable passkey, for an authorization (its
/// interaction in the form) or the account pages.
pub async fn sign_in(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let form = csrf_form(&state, &req, &body)?;
    let interaction = form.get("interaction");
    let there = browser_device(&state, &req).await?;
    let (cx, notifier) = (state.ctx(), &state.notifier);
    match passkey::sign_in(&cx, notifier, interaction, answer_of(&form), there).await? {
        PasskeySignIn::Continue {
            outcome,
            cookie_token,
        } => {
            let to = match outcome {
                Some(outcome) => render::outcome(&state, outcome)?,
                None => see_other("/account/sessions"),
            };
            with_cookie(to, cookie_token.map(|t| session_cookie(&state, t)))
        }
        PasskeySignIn::Refused { refusal, prompt } => {
            let (csrf, cookie) = csrf_token(&state, &req);
            let shown = match interaction {
                Some(id) => LoginPage::for_interaction(&prompt, id, &csrf),
                None => LoginPage::for_account(&csrf, prompt.passkey.as_ref()),
            };
            let shown = shown.passkey_refused(passkey_refusal_message(&refusal));
            scripted_page(&shown, refusal_status(&refusal), cookie)
        }
    }
}

/// POST /account/passkeys: keeps the passkey the browser just made; the recovery codes
/// follow when it is the account's first second factor.
pub async fn add(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, AccountPageError> {
    let (form, signed) = signed_form(&state, &req, &body).await?;
    let name = form.get("name").unwrap_or_default();
    let cx = state.ctx();
    let added = enrolment::add_passkey(&cx, &signed.user, answer_of(&form), name).await?;
    match added {
        Ok(added) => match added.recovery_codes {
            Some(codes) => {
                let next = "/account/mfa?done=passkey-added";
                let shown = RecoveryCodesPage::new(&codes, next);
                Ok(render::page(&shown, StatusCode::OK, None)?)
            }
            None => Ok(see_other("/account/mfa?done=passkey-added")),
        },
        Err(refusal) => {
            let account = enrolment::account_factors(&cx, &signed.user).await?;
            let (csrf, cookie) = csrf_token(&state, &req);
            let shown = MfaPage::new(&signed.user.username, &account, &csrf, None);
            let status = refusal_status(&refusal);
            Ok(scripted_page(&shown.refused(&refusal), status, cookie)?)
        }
    }
}

/// POST /account/passkeys/remove: removes one passkey; every other device signs out.
pub async fn remove(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, AccountPageError> {
    fn pick(form: &Params) -> Factor<'_> {
        Factor::Passkey(form.get("id").unwrap_or_default())
    }
    if remove_factor(&state, &req, &body, pick).await? {
        Ok(see_other("/account/mfa?done=passkey-removed"))
    } else {
        let unknown = OAuthError::invalid_request("no such passkey on this account");
        Err(PageError::from(unknown).into())
    }
}

/// Removes the factor `pick` names in the form of the signed-in user who posted it; every
/// other device signs out. False when the user had no such factor.
pub async fn remove_factor(
    state: &AppState,
    req: &HttpRequest,
    body: &[u8],
    pick: fn(&Params) -> Factor<'_>,
) -> Result<bool, AccountPageError> {
    let (form, signed) = signed_form(state, req, body).await?;
    let factor = pick(&form);
    let keep = Some(signed.session.id.as_str());
    let cx = state.ctx();
    Ok(enrolment::remove_factor(&cx, &state.notifier, &signed.user.id, factor, keep).await?)
}
