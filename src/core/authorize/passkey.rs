//! Signing in with a passkey alone, on the login page of an authorization or of the account
//! pages: the passkey names its user (a discoverable credential), the browser is signed in
//! with a passkey's methods (which satisfy the MFA level), and the authorization goes on.

use super::flow::{LoginPrompt, Outcome, after_login, client_name, pending};
use crate::core::Ctx;
use crate::core::error::OAuthError;
use crate::core::login;
use crate::core::model::Device;
use crate::core::passkeys::{self, Answer, Refusal};
use crate::core::ports::{
    AssertionRepo, ClientRepo, CodeRepo, ConsentRepo, FactorRepo, GrantRepo, InteractionRepo,
    Notifier, RevocationList, SessionRepo, UserRepo,
};
use crate::core::sessions::SignedIn;

/// The answer to a passkey sign-in.
pub enum PasskeySignIn {
    /// Signed in: the authorization goes on (None: to the account pages), with a new session
    /// cookie when one was started.
    Continue {
        outcome: Option<Outcome>,
        cookie_token: Option<String>,
    },
    /// The login page again: why, and a new passkey request (`prompt.client_name` is empty
    /// for the account pages).
    Refused {
        refusal: Refusal,
        prompt: LoginPrompt,
    },
}

/// Checks the passkey's answer and signs the browser in; then goes on with the authorization
/// `interaction_id` (None: a sign-in to the account pages).
pub async fn sign_in<S, N>(
    cx: &Ctx<'_, S>,
    notifier: &N,
    interaction_id: Option<&str>,
    answer: Answer<'_>,
    there: (Option<SignedIn>, Device),
) -> Result<PasskeySignIn, OAuthError>
where
    S: InteractionRepo
        + ClientRepo
        + UserRepo
        + FactorRepo
        + AssertionRepo
        + SessionRepo
        + GrantRepo
        + RevocationList
        + ConsentRepo
        + CodeRepo,
    N: Notifier,
{
    let authorization = match interaction_id {
        Some(id) => Some(pending(cx, id).await?),
        None => None,
    };
    let verified = match passkeys::finish_sign_in(cx, answer).await? {
        Ok(verified) => verified,
        Err(refusal) => {
            let client_name = match &authorization {
                Some((interaction, _)) => client_name(cx, &interaction.client_id).await?,
                None => String::new(),
            };
            let prompt = LoginPrompt {
                client_name,
                login_hint: None,
                passkey: passkeys::begin_sign_in(cx)?,
            };
            return Ok(PasskeySignIn::Refused { refusal, prompt });
        }
    };
    let done = login::signed_in_with(cx, notifier, verified.user, verified.amr, there).await?;
    let outcome = match authorization {
        Some((interaction, req)) => Some(after_login(cx, &interaction, &req, &done.signed).await?),
        None => None,
    };
    Ok(PasskeySignIn::Continue {
        outcome,
        cookie_token: done.cookie_token,
    })
}
