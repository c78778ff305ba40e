//! The second factor within an authorization: after the password (or, for a step-up, the
//! browser's existing session) the browser holds a sealed proof of that first factor and
//! gives a code of the user's authenticator app, one of their passkeys, or a recovery code;
//! a user who must have a
//! second factor and has none enrols an authenticator app first, sees the recovery codes
//! once, and then resumes the authorization. A sign-in to the account pages takes the same
//! steps without an authorization.

use super::flow::{Outcome, after_login, client_name, pending};
use crate::core::Ctx;
use crate::core::error::OAuthError;
use crate::core::login;
use crate::core::mfa::{self, CodeRefusal, Enrolment, Used};
use crate::core::model::{Device, Interaction, User};
use crate::core::passkeys::{self, Challenge};
use crate::core::ports::{
    AssertionRepo, ClientRepo, CodeRepo, ConsentRepo, FactorRepo, GrantRepo, InteractionRepo,
    Notifier, RevocationList, SessionRepo, ThrottleRepo, UserRepo,
};
use crate::core::sessions::SignedIn;

/// What the second-factor pages show.
pub struct Prompt {
    /// The application being signed in to; None for the account pages.
    pub client_name: Option<String>,
    pub username: String,
    /// The user has an authenticator app (else only a recovery code is typed).
    pub totp: bool,
    /// A passkey check to offer, when the user has passkeys.
    pub passkey: Option<Challenge>,
}

/// The pending authorization (None for a sign-in to the account pages) and the user who gave
/// the first factor in this browser.
struct FirstFactor {
    authorization: Option<(Interaction, super::AuthorizeRequest)>,
    user: User,
    prompt: Prompt,
}

async fn first_factor<S: InteractionRepo + ClientRepo + UserRepo + FactorRepo>(
    cx: &Ctx<'_, S>,
    interaction_id: Option<&str>,
    proof: Option<&str>,
) -> Result<FirstFactor, OAuthError> {
    let authorization = match interaction_id {
        Some(id) => Some(pending(cx, id).await?),
        None => None,
    };
    let user = login::pending_user(cx, proof).await?.ok_or_else(|| {
        OAuthError::invalid_request(
            "this sign-in took too long or was started in another browser; sign in again",
        )
    })?;
    let client_name = match &authorization {
        Some((interaction, _)) => Some(client_name(cx, &interaction.client_id).await?),
        None => None,
    };
    let totp = cx.store.totp(&user.id).await?;
    let prompt = Prompt {
        client_name,
        username: user.username.clone(),
        totp: totp.is_some_and(|f| f.confirmed_at.is_some()),
        passkey: passkeys::begin_second_factor(cx, &user.id).await?,
    };
    Ok(FirstFactor {
        authorization,
        user,
        prompt,
    })
}

pub async fn prompt<S: InteractionRepo + ClientRepo + UserRepo + FactorRepo>(
    cx: &Ctx<'_, S>,
    interaction_id: Option<&str>,
    proof: Option<&str>,
) -> Result<Prompt, OAuthError> {
    Ok(first_factor(cx, interaction_id, proof).await?.prompt)
}

/// The answer to a second-factor form.
pub enum Answer {
    /// Signed in with both factors: the browser goes on (None: to the account pages).
    Continue {
        outcome: Option<Outcome>,
        cookie_token: Option<String>,
    },
    /// Signed in with a recovery code: the user is told (and how many are left) before the
    /// authorization resumes.
    RecoveryCodeUsed {
        left: usize,
        cookie_token: Option<String>,
    },
    Refused {
        prompt: Prompt,
        refusal: CodeRefusal,
    },
}

/// What the user gave as the second factor.
#[derive(Clone, Copy)]
pub enum Given<'a> {
    /// A code: of the authenticator app, or a recovery code.
    Code(&'a str),
    Passkey(passkeys::Answer<'a>),
}

/// The browser signing in.
pub struct Browser<'a> {
    pub proof: Option<&'a str>,
    pub signed: Option<SignedIn>,
    pub device: Device,
    pub ip: Option<&'a str>,
}

/// Checks the second factor, signs the browser in with both factors, and goes on with the
/// authorization `interaction_id` (None: a sign-in to the account pages).
pub async fn answer<S, N>(
    cx: &Ctx<'_, S>,
    notifier: &N,
    interaction_id: Option<&str>,
    given: Given<'_>,
    browser: Browser<'_>,
) -> Result<Answer, OAuthError>
where
    S: InteractionRepo
        + ClientRepo
        + UserRepo
        + FactorRepo
        + ThrottleRepo
        + SessionRepo
        + GrantRepo
        + RevocationList
        + ConsentRepo
        + CodeRepo
        + AssertionRepo,
    N: Notifier,
{
    let first = first_factor(cx, interaction_id, browser.proof).await?;
    let user_id = &first.user.id;
    let checked = match given {
        Given::Code(code) => mfa::check(cx, user_id, code, browser.ip).await?,
        Given::Passkey(answer) => passkeys::finish_second_factor(cx, user_id, answer)
            .await?
            .map(|amr| Used::Passkey { amr })
            .map_err(CodeRefusal::Passkey),
    };
    let used = match checked {
        Ok(used) => used,
        Err(refusal) => {
            let prompt = first.prompt;
            return Ok(Answer::Refused { prompt, refusal });
        }
    };
    let there = (browser.signed, browser.device);
    let done = login::signed_in_with(cx, notifier, first.user, used.amr(), there).await?;
    let cookie_token = done.cookie_token;
    match (used, first.authorization) {
        (Used::RecoveryCode { left }, authorization) => {
            if let Some((interaction, _)) = authorization {
                cx.store
                    .set_interaction_session(&interaction.id, &done.signed.session.id)
                    .await?;
            }
            Ok(Answer::RecoveryCodeUsed { left, cookie_token })
        }
        (_, Some((interaction, req))) => Ok(Answer::Continue {
            outcome: Some(after_login(cx, &interaction, &req, &done.signed).await?),
            cookie_token,
        }),
        (_, None) => Ok(Answer::Continue {
            outcome: None,
            cookie_token,
        }),
    }
}

/// An enrolment to show: a new (or the pending) secret for the user who gave the password.
pub async fn enrolment<S>(
    cx: &Ctx<'_, S>,
    interaction_id: Option<&str>,
    proof: Option<&str>,
) -> Result<(Prompt, Enrolment), OAuthError>
where
    S: InteractionRepo + ClientRepo + UserRepo + FactorRepo,
{
    let first = first_factor(cx, interaction_id, proof).await?;
    let enrolment = mfa::begin_totp(cx, &first.user).await?.ok_or_else(|| {
        OAuthError::invalid_request("an authenticator app is already set up for this account")
    })?;
    Ok((first.prompt, enrolment))
}

/// The answer to an enrolment form.
pub enum EnrolAnswer {
    /// Enrolled and signed in: show the recovery codes once, then resume.
    Done {
        recovery_codes: Vec<String>,
        cookie_token: Option<String>,
    },
    Refused {
        prompt: Prompt,
        refusal: CodeRefusal,
    },
}

/// Confirms the enrolment with its first code and signs the browser in with both factors;
/// the authorization (if any) resumes once the recovery codes were shown.
pub async fn enroll<S, N>(
    cx: &Ctx<'_, S>,
    notifier: &N,
    interaction_id: Option<&str>,
    code: &str,
    browser: Browser<'_>,
) -> Result<EnrolAnswer, OAuthError>
where
    S: InteractionRepo
        + ClientRepo
        + UserRepo
        + FactorRepo
        + ThrottleRepo
        + SessionRepo
        + GrantRepo
        + RevocationList,
    N: Notifier,
{
    let first = first_factor(cx, interaction_id, browser.proof).await?;
    let recovery_codes = match mfa::confirm_totp(cx, &first.user.id, code, browser.ip).await? {
        Ok(codes) => codes,
        Err(refusal) => {
            let prompt = first.prompt;
            return Ok(EnrolAnswer::Refused { prompt, refusal });
        }
    };
    let there = (browser.signed, browser.device);
    let amr = mfa::AMR_SECOND_FACTOR;
    let signed_in = login::signed_in_with(cx, notifier, first.user, amr, there).await?;
    if let Some((interaction, _)) = first.authorization {
        cx.store
            .set_interaction_session(&interaction.id, &signed_in.signed.session.id)
            .await?;
    }
    Ok(EnrolAnswer::Done {
        recovery_codes,
        cookie_token: signed_in.cookie_token,
    })
}

/// After the recovery codes were shown: the authorization goes on, for the browser whose
/// session signed in during it.
pub async fn resume<S>(
    cx: &Ctx<'_, S>,
    interaction_id: &str,
    signed: Option<SignedIn>,
) -> Result<Outcome, OAuthError>
where
    S: InteractionRepo + ConsentRepo + GrantRepo + CodeRepo + SessionRepo,
{
    let (interaction, req) = pending(cx, interaction_id).await?;
    let signed = signed
        .filter(|s| interaction.session_id.as_deref() == Some(s.session.id.as_str()))
        .ok_or_else(|| {
            OAuthError::invalid_request(
                "this sign-in continues only in the browser that signed in; go back to the application and start again",
            )
        })?;
    after_login(cx, &interaction, &req, &signed).await
}
