//! The second factor within an authorization: after the password (or, for a step-up, the
//! browser's existing session) the browser holds a sealed proof of that first factor and
//! gives a code of the user's authenticator app or a recovery code; a user who must have a
//! second factor and has none enrols an authenticator app first, sees the recovery codes
//! once, and then resumes the authorization.

use super::flow::{Outcome, after_login, client_name, pending};
use crate::core::Ctx;
use crate::core::error::OAuthError;
use crate::core::login::{self, Enrolled, SecondFactorAnswer, SignedInNow};
use crate::core::mfa::{self, CodeRefusal, Enrolment, Used};
use crate::core::model::{Device, Interaction, User};
use crate::core::ports::{
    ClientRepo, CodeRepo, ConsentRepo, FactorRepo, GrantRepo, InteractionRepo, Notifier,
    RevocationList, SessionRepo, ThrottleRepo, UserRepo,
};
use crate::core::sessions::SignedIn;

/// What the second-factor pages show.
pub struct Prompt {
    pub client_name: String,
    pub username: String,
}

/// The interaction and the user who gave the first factor in this browser.
async fn first_factor<S: InteractionRepo + ClientRepo + UserRepo>(
    cx: &Ctx<'_, S>,
    interaction_id: &str,
    proof: Option<&str>,
) -> Result<(Interaction, super::AuthorizeRequest, User, Prompt), OAuthError> {
    let (interaction, req) = pending(cx, interaction_id).await?;
    let user = login::pending_user(cx, proof).await?.ok_or_else(|| {
        OAuthError::invalid_request(
            "this sign-in took too long or was started in another browser; go back to the application and sign in again",
        )
    })?;
    let prompt = Prompt {
        client_name: client_name(cx, &interaction.client_id).await?,
        username: user.username.clone(),
    };
    Ok((interaction, req, user, prompt))
}

pub async fn prompt<S: InteractionRepo + ClientRepo + UserRepo>(
    cx: &Ctx<'_, S>,
    interaction_id: &str,
    proof: Option<&str>,
) -> Result<Prompt, OAuthError> {
    Ok(first_factor(cx, interaction_id, proof).await?.3)
}

/// The answer to a second-factor form.
pub enum Answer {
    /// Signed in with both factors: the browser goes on.
    Continue {
        outcome: Outcome,
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

/// The browser signing in.
pub struct Browser<'a> {
    pub proof: Option<&'a str>,
    pub signed: Option<SignedIn>,
    pub device: Device,
    pub ip: Option<&'a str>,
}

pub async fn answer<S, N>(
    cx: &Ctx<'_, S>,
    notifier: &N,
    interaction_id: &str,
    code: &str,
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
        + CodeRepo,
    N: Notifier,
{
    let (interaction, req, user, prompt) = first_factor(cx, interaction_id, browser.proof).await?;
    let there = (browser.signed, browser.device);
    match login::second_factor(cx, notifier, user, code, browser.ip, there).await? {
        SecondFactorAnswer::Refused(refusal) => Ok(Answer::Refused { prompt, refusal }),
        SecondFactorAnswer::Done(done, Used::RecoveryCode { left }) => {
            cx.store
                .set_interaction_session(&interaction.id, &done.signed.session.id)
                .await?;
            Ok(Answer::RecoveryCodeUsed {
                left,
                cookie_token: done.cookie_token,
            })
        }
        SecondFactorAnswer::Done(done, Used::Otp) => continued(cx, &interaction, &req, *done).await,
    }
}

async fn continued<S>(
    cx: &Ctx<'_, S>,
    interaction: &Interaction,
    req: &super::AuthorizeRequest,
    done: SignedInNow,
) -> Result<Answer, OAuthError>
where
    S: InteractionRepo + ConsentRepo + GrantRepo + CodeRepo + SessionRepo,
{
    Ok(Answer::Continue {
        outcome: after_login(cx, interaction, req, &done.signed).await?,
        cookie_token: done.cookie_token,
    })
}

/// An enrolment to show: a new secret for the user who gave the password.
pub async fn enrolment<S>(
    cx: &Ctx<'_, S>,
    interaction_id: &str,
    proof: Option<&str>,
) -> Result<(Prompt, Enrolment), OAuthError>
where
    S: InteractionRepo + ClientRepo + UserRepo + FactorRepo,
{
    let (_, _, user, prompt) = first_factor(cx, interaction_id, proof).await?;
    let enrolment = mfa::begin_totp(cx, &user).await?.ok_or_else(|| {
        OAuthError::invalid_request("an authenticator app is already set up for this account")
    })?;
    Ok((prompt, enrolment))
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

pub async fn enroll<S, N>(
    cx: &Ctx<'_, S>,
    notifier: &N,
    interaction_id: &str,
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
    let (interaction, _, user, prompt) = first_factor(cx, interaction_id, browser.proof).await?;
    let there = (browser.signed, browser.device);
    match login::enroll(cx, notifier, user, code, browser.ip, there).await? {
        Enrolled::Refused(refusal) => Ok(EnrolAnswer::Refused { prompt, refusal }),
        Enrolled::Done {
            signed_in,
            recovery_codes,
        } => {
            cx.store
                .set_interaction_session(&interaction.id, &signed_in.signed.session.id)
                .await?;
            Ok(EnrolAnswer::Done {
                recovery_codes,
                cookie_token: signed_in.cookie_token,
            })
        }
    }
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
