//! Passkeys (WebAuthn Level 3), checked by the `webauthn-rs` crate: registering one, signing
//! in with one alone (a discoverable credential names its user, so no username is typed), and
//! one as the second factor after a password. The relying party id is the issuer's host; an
//! issuer at an IP address has no passkeys, since WebAuthn needs a domain. Each ceremony's
//! state is sealed under the master key into the page that starts it, expires with WebAuthn's
//! recommended timeout, and is used once (recorded like a client assertion's jti). The crate
//! checks the signature counter (a counter that goes back is refused) and the backup flags;
//! each use stores what changed.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use webauthn_rs::prelude::{
    Credential, DiscoverableAuthentication, Passkey, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Url, Uuid, Webauthn, WebauthnBuilder,
};

use super::Ctx;
use super::Policy;
use super::error::{OAuthError, StoreError};
use super::model::{PasskeyFactor, User};
use super::ports::{AssertionRepo, FactorRepo, UserRepo};
use crate::secret::{b64url, b64url_decode, hash, random_id};

/// Passkeys one account may hold.
pub const MAX_PASSKEYS: usize = 20;
/// Seconds a started ceremony stays good (WebAuthn's recommended timeout, 300 s).
pub const CEREMONY_TTL: i64 = 300;
/// The longest name a passkey may be given, in characters.
pub const MAX_NAME: usize = 64;
/// The largest answer a browser may post (a credential with its attestation).
const MAX_ANSWER: usize = 32 * 1024;
/// Where used ceremonies are recorded, beside client assertions' jtis.
const USED_AT: &str = "tessera:webauthn";

/// The relying party this issuer is, or None when its host is not a domain name.
pub fn relying_party(policy: &Policy) -> Option<Webauthn> {
    let issuer = Url::parse(&policy.issuer).ok()?;
    let rp_id = issuer.domain()?.to_owned();
    let origin = Url::parse(&issuer.origin().ascii_serialization()).ok()?;
    let builder = WebauthnBuilder::new(&rp_id, &origin).ok()?;
    builder.rp_name("Tessera").build().ok()
}

/// The WebAuthn user handle of a user: derived from the internal id (no personal data), the
/// same on every replica and for every passkey of the account.
pub fn user_handle(user_id: &str) -> Uuid {
    let digest = b64url_decode(&hash(&format!("webauthn-user\0{user_id}"))).unwrap_or_default();
    let mut bytes = [0u8; 16];
    for (to, from) in bytes.iter_mut().zip(digest) {
        *to = from;
    }
    Uuid::from_bytes(bytes)
}

/// The methods (RFC 8176) of a passkey sign-in: a key held in hardware (`hwk`, a device-bound
/// passkey) or in software that may sync it (`swk`, backup eligible), with the user present
/// and verified by the authenticator, which is itself a second factor (`mfa`).
pub fn amr(after_password: bool, backup_eligible: bool) -> &'static str {
    match (after_password, backup_eligible) {
        (false, false) => "hwk user mfa",
        (false, true) => "swk user mfa",
        (true, false) => "pwd hwk user mfa",
        (true, true) => "pwd swk user mfa",
    }
}

/// Why a passkey was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// This issuer has no relying party id (its host is an IP address).
    Unavailable,
    /// The ceremony expired, was used already, or belongs to someone else: start again.
    Stale,
    /// The browser's answer could not be read or did not verify.
    Failed,
    /// No account has this passkey.
    Unknown,
    /// This passkey is registered already.
    Duplicate,
    /// The account holds `MAX_PASSKEYS` already.
    TooMany,
}

/// What a page gives the browser to start a ceremony.
#[derive(Clone, Debug)]
pub struct Challenge {
    /// The `publicKey` options for `navigator.credentials.create` or `.get`, as JSON (binary
    /// members in base64url).
    pub options: String,
    /// The sealed ceremony, posted back with the answer.
    pub ceremony: String,
}

/// What the browser posts back.
#[derive(Clone, Copy, Debug)]
pub struct Answer<'a> {
    pub ceremony: &'a str,
    /// The credential as JSON (base64url binary members).
    pub credential: &'a str,
}

#[derive(Clone, Copy)]
enum Purpose {
    Registration,
    SignIn,
    SecondFactor,
}

impl Purpose {
    fn label(self) -> &'static str {
        match self {
            Self::Registration => "webauthn-registration",
            Self::SignIn => "webauthn-sign-in",
            Self::SecondFactor => "webauthn-second-factor",
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Ceremony<T> {
    id: String,
    /// The account it is for (None: a discoverable sign-in, for whoever the passkey names).
    user_id: Option<String>,
    expires_at: i64,
    state: T,
}

fn start<S, T: Serialize>(
    cx: &Ctx<'_, S>,
    purpose: Purpose,
    user_id: Option<&str>,
    options: serde_json::Value,
    state: T,
) -> Result<Challenge, OAuthError> {
    let ceremony = Ceremony {
        id: random_id(),
        user_id: user_id.map(str::to_owned),
        expires_at: cx.now + CEREMONY_TTL,
        state,
    };
    let sealed = serde_json::to_vec(&ceremony).map_err(|_| OAuthError::server_error())?;
    Ok(Challenge {
        options: options.to_string(),
        ceremony: cx.secrets.seal(purpose.label(), &sealed),
    })
}

/// The ceremony behind an answer and the credential the browser sent, if the ceremony is
/// genuine, for `user_id`, fresh, and used for the first time now.
async fn finish<S: AssertionRepo, T: DeserializeOwned, C: DeserializeOwned>(
    cx: &Ctx<'_, S>,
    purpose: Purpose,
    user_id: Option<&str>,
    answer: Answer<'_>,
) -> Result<Result<(T, C), Refusal>, StoreError> {
    let opened = cx.secrets.open(purpose.label(), answer.ceremony).ok();
    let ceremony = opened.and_then(|json| serde_json::from_slice::<Ceremony<T>>(&json).ok());
    let Some(ceremony) =
        ceremony.filter(|c| c.expires_at > cx.now && c.user_id.as_deref() == user_id)
    else {
        return Ok(Err(Refusal::Stale));
    };
    let credential = (answer.credential.len() <= MAX_ANSWER)
        .then(|| serde_json::from_str::<C>(answer.credential).ok())
        .flatten();
    let Some(credential) = credential else {
        return Ok(Err(Refusal::Failed));
    };
    if !cx
        .store
        .first_use(USED_AT, &ceremony.id, ceremony.expires_at)
        .await?
    {
        return Ok(Err(Refusal::Stale));
    }
    Ok(Ok((ceremony.state, credential)))
}

fn stored_passkey(stored: &PasskeyFactor) -> Result<Passkey, OAuthError> {
    serde_json::from_str(&stored.credential).map_err(|_| OAuthError::server_error())
}

/// Starts registering a passkey for `user`; the account's passkeys are excluded, so one
/// authenticator is not registered twice.
pub async fn begin_registration<S: FactorRepo>(
    cx: &Ctx<'_, S>,
    user: &User,
) -> Result<Result<Challenge, Refusal>, OAuthError> {
    let Some(rp) = relying_party(cx.policy) else {
        return Ok(Err(Refusal::Unavailable));
    };
    let existing = cx.store.passkeys(&user.id).await?;
    if existing.len() >= MAX_PASSKEYS {
        return Ok(Err(Refusal::TooMany));
    }
    let exclude = existing
        .iter()
        .map(|p| stored_passkey(p).map(|k| k.cred_id().clone()))
        .collect::<Result<Vec<_>, _>>()?;
    let account = user.email.as_deref().unwrap_or(&user.username);
    let display = user.name.as_deref().unwrap_or(&user.username);
    let (options, state) = rp
        .start_passkey_registration(user_handle(&user.id), account, display, Some(exclude))
        .map_err(|_| OAuthError::server_error())?;
    let mut options =
        serde_json::to_value(options.public_key).map_err(|_| OAuthError::server_error())?;
    // The crate asks authenticators not to keep the credential (residentKey "discouraged"),
    // sparing security keys' few slots; a passkey that signs in without a username must be
    // discoverable, so ask for one where the authenticator can keep it (WebAuthn §5.4.6).
    options["authenticatorSelection"]["residentKey"] = "preferred".into();
    Ok(Ok(start(
        cx,
        Purpose::Registration,
        Some(&user.id),
        options,
        state,
    )?))
}

/// The name a passkey is kept under: what the user typed, trimmed, without control
/// characters, at most `MAX_NAME` characters; "Passkey N" when nothing was typed.
pub fn passkey_name(typed: &str, existing: usize) -> String {
    let name: String = typed
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME)
        .collect();
    if name.is_empty() {
        format!("Passkey {}", existing + 1)
    } else {
        name
    }
}

/// Checks the browser's answer to a registration and keeps the passkey under `name`.
pub async fn finish_registration<S: FactorRepo + AssertionRepo>(
    cx: &Ctx<'_, S>,
    user: &User,
    answer: Answer<'_>,
    name: &str,
) -> Result<Result<PasskeyFactor, Refusal>, OAuthError> {
    let Some(rp) = relying_party(cx.policy) else {
        return Ok(Err(Refusal::Unavailable));
    };
    let finished = finish(cx, Purpose::Registration, Some(&user.id), answer).await?;
    let (state, credential): (PasskeyRegistration, RegisterPublicKeyCredential) = match finished {
        Ok(both) => both,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let passkey = match rp.finish_passkey_registration(&credential, &state) {
        Ok(passkey) => passkey,
        Err(e) => {
            tracing::info!(error = %e, "a passkey registration did not verify");
            return Ok(Err(Refusal::Failed));
        }
    };
    let existing = cx.store.passkeys(&user.id).await?.len();
    if existing >= MAX_PASSKEYS {
        return Ok(Err(Refusal::TooMany));
    }
    let stored = PasskeyFactor {
        id: random_id(),
        user_id: user.id.clone(),
        name: passkey_name(name, existing),
        credential_id: b64url(passkey.cred_id().as_ref()),
        credential: serde_json::to_string(&passkey).map_err(|_| OAuthError::server_error())?,
        backup_eligible: Credential::from(passkey).backup_eligible,
        created_at: cx.now,
        last_used_at: None,
    };
    if !cx.store.insert_passkey(&stored).await? {
        return Ok(Err(Refusal::Duplicate));
    }
    tracing::info!(user_id = %user.id, passkey = %stored.id, "a passkey was registered");
    Ok(Ok(stored))
}

/// Starts a sign-in with a discoverable passkey: no account is named, the authenticator
/// offers the passkeys it keeps for this relying party. None when passkeys are unavailable.
pub fn begin_sign_in<S>(cx: &Ctx<'_, S>) -> Result<Option<Challenge>, OAuthError> {
    let Some(rp) = relying_party(cx.policy) else {
        return Ok(None);
    };
    let (options, state) = rp
        .start_discoverable_authentication()
        .map_err(|_| OAuthError::server_error())?;
    // The page asks when its button is pressed (a modal request), so only the publicKey
    // options go, without the crate's conditional mediation.
    let options =
        serde_json::to_value(options.public_key).map_err(|_| OAuthError::server_error())?;
    start(cx, Purpose::SignIn, None, options, state).map(Some)
}

/// A user a passkey signed in, and how (amr).
#[derive(Debug)]
pub struct Verified {
    pub user: User,
    pub amr: &'static str,
}

/// Checks a discoverable passkey's answer: the passkey must be registered, to the account
/// its user handle names, and that account enabled.
pub async fn finish_sign_in<S: FactorRepo + AssertionRepo + UserRepo>(
    cx: &Ctx<'_, S>,
    answer: Answer<'_>,
) -> Result<Result<Verified, Refusal>, OAuthError> {
    let Some(rp) = relying_party(cx.policy) else {
        return Ok(Err(Refusal::Unavailable));
    };
    let finished = finish(cx, Purpose::SignIn, None, answer).await?;
    let (state, credential): (DiscoverableAuthentication, PublicKeyCredential) = match finished {
        Ok(both) => both,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let Ok((handle, credential_id)) = rp.identify_discoverable_authentication(&credential) else {
        return Ok(Err(Refusal::Unknown));
    };
    let stored = cx
        .store
        .passkey_by_credential(&b64url(credential_id))
        .await?;
    let Some(stored) = stored.filter(|s| user_handle(&s.user_id) == handle) else {
        return Ok(Err(Refusal::Unknown));
    };
    let user = cx.store.find_user(&stored.user_id).await?;
    let Some(user) = user.filter(|u| !u.disabled) else {
        return Ok(Err(Refusal::Unknown));
    };
    let verified = verify(cx, &rp, &stored, (state, &credential), false).await?;
    Ok(verified.map(|amr| Verified { user, amr }))
}

/// Starts a passkey check of `user_id`, who gave the password: their passkeys are the
/// allowed credentials. None when they have none (or passkeys are unavailable). The sealed
/// state is the small one of a discoverable request (no public keys, so a page stays within
/// the form limits whatever the number of passkeys); the allowed credentials go to the
/// browser in the options, and the answer is checked against the one passkey it names,
/// which must be this user's.
pub async fn begin_second_factor<S: FactorRepo>(
    cx: &Ctx<'_, S>,
    user_id: &str,
) -> Result<Option<Challenge>, OAuthError> {
    let Some(rp) = relying_party(cx.policy) else {
        return Ok(None);
    };
    let allowed: Vec<serde_json::Value> = cx
        .store
        .passkeys(user_id)
        .await?
        .iter()
        .map(|p| serde_json::json!({"type": "public-key", "id": p.credential_id}))
        .collect();
    if allowed.is_empty() {
        return Ok(None);
    }
    let (options, state) = rp
        .start_discoverable_authentication()
        .map_err(|_| OAuthError::server_error())?;
    let mut options =
        serde_json::to_value(options.public_key).map_err(|_| OAuthError::server_error())?;
    options["allowCredentials"] = allowed.into();
    start(cx, Purpose::SecondFactor, Some(user_id), options, state).map(Some)
}

/// Checks a passkey given as the second factor by `user_id`; the amr of both factors.
pub async fn finish_second_factor<S: FactorRepo + AssertionRepo>(
    cx: &Ctx<'_, S>,
    user_id: &str,
    answer: Answer<'_>,
) -> Result<Result<&'static str, Refusal>, OAuthError> {
    let Some(rp) = relying_party(cx.policy) else {
        return Ok(Err(Refusal::Unavailable));
    };
    let finished = finish(cx, Purpose::SecondFactor, Some(user_id), answer).await?;
    let (state, credential): (DiscoverableAuthentication, PublicKeyCredential) = match finished {
        Ok(both) => both,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let stored = cx
        .store
        .passkey_by_credential(&b64url(&credential.raw_id))
        .await?;
    let Some(stored) = stored.filter(|s| s.user_id == user_id) else {
        return Ok(Err(Refusal::Unknown));
    };
    verify(cx, &rp, &stored, (state, &credential), true).await
}

/// Checks an assertion of the `stored` passkey (signature, user verification, counter,
/// backup flags), then stores what the use changed and when: the methods (amr) it proves.
async fn verify<S: FactorRepo>(
    cx: &Ctx<'_, S>,
    rp: &Webauthn,
    stored: &PasskeyFactor,
    (state, credential): (DiscoverableAuthentication, &PublicKeyCredential),
    after_password: bool,
) -> Result<Result<&'static str, Refusal>, OAuthError> {
    let mut passkey = stored_passkey(stored)?;
    let result = match rp.finish_discoverable_authentication_v2(credential, state, &passkey) {
        Ok(result) => result,
        Err(e) => {
            tracing::info!(error = %e, passkey = %stored.id, "a passkey's answer did not verify");
            return Ok(Err(Refusal::Failed));
        }
    };
    passkey.update_credential(&result);
    let json = serde_json::to_string(&passkey).map_err(|_| OAuthError::server_error())?;
    let backup_eligible = result.backup_eligible() || stored.backup_eligible;
    cx.store
        .passkey_used(&stored.id, &json, backup_eligible, cx.now)
        .await?;
    Ok(Ok(amr(after_password, backup_eligible)))
}

#[cfg(test)]
mod tests;
