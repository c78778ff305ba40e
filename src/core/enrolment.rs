//! Operators and users' second factors: an operator enrolling an authenticator app for a
//! scripted set-up (`tessera user mfa …`, the admin API), listing, and resetting after a lost
//! phone; a user adding and removing passkeys on the account page.

use serde::Serialize;

use super::Ctx;
use super::accounts::find_user;
use super::error::{AccountError, OAuthError, StoreError};
use super::mfa;
use super::model::{PasskeyFactor, User};
use super::passkeys::{self, Answer, Challenge, Refusal};
use super::ports::{
    AssertionRepo, ClientRepo, FactorRepo, GrantRepo, Notifier, RevocationList, SessionRepo,
    UserRepo,
};
use super::sessions;

/// What an operator's enrolment hands over, once: for a scripted set-up, the app's secret and
/// URI, and the recovery codes.
#[derive(Debug, Serialize)]
pub struct OperatorEnrolment {
    pub username: String,
    pub otpauth_uri: String,
    pub secret: String,
    pub recovery_codes: Vec<String>,
}

/// An operator enrols an authenticator app for a user (`tessera user mfa enroll-totp`, the
/// admin API): confirmed at once, since the operator hands the secret over.
pub async fn enroll_totp<S: UserRepo + FactorRepo>(
    cx: &Ctx<'_, S>,
    username: &str,
) -> Result<OperatorEnrolment, AccountError> {
    let user = find_user(cx.store, username).await?;
    let enrolment = mfa::begin_totp(cx, &user).await?.ok_or_else(|| {
        AccountError::Exists(format!(
            "{username} already has an authenticator app; reset it first (tessera user mfa reset)"
        ))
    })?;
    if let Some(mut factor) = cx.store.totp(&user.id).await? {
        factor.confirmed_at = Some(cx.now);
        cx.store.put_totp(&factor).await?;
    }
    Ok(OperatorEnrolment {
        username: user.username,
        otpauth_uri: enrolment.uri,
        secret: enrolment.secret,
        recovery_codes: mfa::new_recovery_codes(cx, &user.id).await?,
    })
}

/// A user's second factors, for operators.
pub async fn second_factors<S: UserRepo + FactorRepo>(
    cx: &Ctx<'_, S>,
    username: &str,
) -> Result<mfa::Factors, AccountError> {
    let user = find_user(cx.store, username).await?;
    Ok(mfa::factors(cx, &user.id).await?)
}

/// An operator removes a user's second factors (a lost phone): every session of the user
/// ends. Returns how many.
pub async fn reset_second_factors<S, N>(
    cx: &Ctx<'_, S>,
    notifier: &N,
    username: &str,
) -> Result<usize, AccountError>
where
    S: UserRepo + FactorRepo + SessionRepo + GrantRepo + ClientRepo + RevocationList,
    N: Notifier,
{
    let user = find_user(cx.store, username).await?;
    Ok(mfa::reset(cx, notifier, &user.id, None).await?)
}

/// The account page's second factors, with a passkey registration ready to start (or why
/// none can be).
pub struct AccountFactors {
    pub factors: mfa::Factors,
    pub registration: Result<Challenge, Refusal>,
}

pub async fn account_factors<S: FactorRepo>(
    cx: &Ctx<'_, S>,
    user: &User,
) -> Result<AccountFactors, OAuthError> {
    Ok(AccountFactors {
        factors: mfa::factors(cx, &user.id).await?,
        registration: passkeys::begin_registration(cx, user).await?,
    })
}

/// A passkey the user added, and the recovery codes to show once when it is their first
/// second factor (a lost authenticator must not lock them out).
pub struct Added {
    pub passkey: PasskeyFactor,
    pub recovery_codes: Option<Vec<String>>,
}

/// The account page's "Add a passkey": checks the browser's answer and keeps the passkey.
pub async fn add_passkey<S: FactorRepo + AssertionRepo>(
    cx: &Ctx<'_, S>,
    user: &User,
    answer: Answer<'_>,
    name: &str,
) -> Result<Result<Added, Refusal>, OAuthError> {
    let first = !mfa::has_factor(cx, &user.id).await?
        && cx.store.unused_recovery_codes(&user.id).await? == 0;
    let passkey = match passkeys::finish_registration(cx, user, answer, name).await? {
        Ok(passkey) => passkey,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let recovery_codes = if first {
        Some(mfa::new_recovery_codes(cx, &user.id).await?)
    } else {
        None
    };
    Ok(Ok(Added {
        passkey,
        recovery_codes,
    }))
}

/// Which one factor a user removes on the account page.
#[derive(Clone, Copy, Debug)]
pub enum Factor<'a> {
    AuthenticatorApp,
    Passkey(&'a str),
}

/// Removes one second factor of the user: the user's other sessions end, as with a password
/// change, and the recovery codes go with the last factor. False when the user has no such
/// factor.
pub async fn remove_factor<S, N>(
    cx: &Ctx<'_, S>,
    notifier: &N,
    user_id: &str,
    factor: Factor<'_>,
    keep: Option<&str>,
) -> Result<bool, StoreError>
where
    S: FactorRepo + SessionRepo + GrantRepo + ClientRepo + RevocationList,
    N: Notifier,
{
    let removed = match factor {
        Factor::AuthenticatorApp => cx.store.delete_totp(user_id).await?,
        Factor::Passkey(id) => cx.store.delete_passkey(user_id, id).await?,
    };
    if !removed {
        return Ok(false);
    }
    tracing::info!(user_id, ?factor, "a second factor was removed");
    if !mfa::has_factor(cx, user_id).await? {
        cx.store
            .replace_recovery_codes(user_id, &[], cx.now)
            .await?;
    }
    sessions::end_user_sessions(cx, notifier, user_id, keep).await?;
    Ok(true)
}
