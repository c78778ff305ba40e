//! Operators and users' second factors (`tessera user mfa …`, the admin API): enrolling an
//! authenticator app for a scripted set-up, listing, and resetting after a lost phone.

use serde::Serialize;

use super::Ctx;
use super::accounts::find_user;
use super::error::AccountError;
use super::mfa;
use super::ports::{
    ClientRepo, FactorRepo, GrantRepo, Notifier, RevocationList, SessionRepo, UserRepo,
};

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
