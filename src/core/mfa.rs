//! Second factors: an authenticator app (TOTP, `totp`), passkeys (`passkeys`) and single-use
//! recovery codes. When a sign-in needs one, the proof of a password that waits for it, TOTP
//! enrolment, checking a code (throttled like passwords, each code once), and the level
//! (`acr`) a session reached.

use serde::{Deserialize, Serialize};

use super::Ctx;
use super::error::{OAuthError, StoreError};
use super::model::{Client, PasskeyFactor, TotpFactor, User};
use super::passkeys;
use super::ports::{
    ClientRepo, FactorRepo, GrantRepo, Notifier, RevocationList, SessionRepo, ThrottleRepo,
};
use super::sessions;
use super::throttle::Attempts;
use super::totp;
use crate::keys::MasterKey;
use crate::secret::{hash, random_bytes};

/// The authentication levels (`acr`): a password alone, or a password and a second factor.
pub const ACR_PASSWORD: &str = "urn:tessera:acr:password";
pub const ACR_MFA: &str = "urn:tessera:acr:mfa";
pub const ACR_VALUES: [&str; 2] = [ACR_PASSWORD, ACR_MFA];
/// The methods (`amr`, RFC 8176) of a session: a password, then also a one-time code (a
/// passkey's are in `passkeys::amr`).
pub const AMR_PASSWORD: &str = "pwd";
pub const AMR_SECOND_FACTOR: &str = "pwd otp mfa";
/// Recovery codes made at a time.
pub const RECOVERY_CODES: usize = 10;
/// How long a browser that gave the right password has to give its second factor.
pub const PENDING_TTL: i64 = 600;
const PENDING_LABEL: &str = "mfa-pending";

/// The level a session with these methods reached.
pub fn acr(amr: &str) -> &'static str {
    if has_second_factor(amr) {
        ACR_MFA
    } else {
        ACR_PASSWORD
    }
}

pub fn has_second_factor(amr: &str) -> bool {
    amr.split(' ').any(|m| m == "mfa")
}

/// Whether a request's acr values ask for a second factor: they name the MFA level and not
/// the password level (acr_values are in order of preference, any one will do).
pub fn wants_second_factor(acr_values: &[String]) -> bool {
    acr_values.iter().any(|v| v == ACR_MFA) && !acr_values.iter().any(|v| v == ACR_PASSWORD)
}

/// What a sign-in must do after the password.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Needed {
    Nothing,
    /// Give the second factor the user has.
    Verify,
    /// The user has none but must: enrol one now.
    Enroll,
}

/// A user with a second factor (an authenticator app or a passkey) is always asked for it; one
/// without is asked to enrol when every user must, the client requires it, or the request asks
/// for the MFA level.
pub async fn needed<S: FactorRepo>(
    cx: &Ctx<'_, S>,
    user_id: &str,
    client: Option<&Client>,
    wanted: bool,
) -> Result<Needed, StoreError> {
    Ok(if has_factor(cx, user_id).await? {
        Needed::Verify
    } else if wanted || cx.policy.require_mfa || client.is_some_and(|c| c.require_mfa) {
        Needed::Enroll
    } else {
        Needed::Nothing
    })
}

/// Whether the user has a confirmed authenticator app or a passkey.
pub async fn has_factor<S: FactorRepo>(cx: &Ctx<'_, S>, user_id: &str) -> Result<bool, StoreError> {
    let totp = cx.store.totp(user_id).await?;
    if totp.is_some_and(|f| f.confirmed_at.is_some()) {
        return Ok(true);
    }
    Ok(!cx.store.passkeys(user_id).await?.is_empty())
}

#[derive(Serialize, Deserialize)]
struct Pending {
    user_id: String,
    expires_at: i64,
}

/// The proof that this browser gave `user_id`'s password, for a cookie while the second factor
/// is asked for: sealed under the master key, so no replica needs to store it.
pub fn seal_pending(master: &MasterKey, user_id: &str, now: i64) -> String {
    let pending = Pending {
        user_id: user_id.to_owned(),
        expires_at: now + PENDING_TTL,
    };
    let json = serde_json::to_vec(&pending).unwrap_or_default();
    master.seal(PENDING_LABEL, &json)
}

/// The user whose password this browser gave, if the proof is genuine and fresh.
pub fn open_pending(master: &MasterKey, sealed: &str, now: i64) -> Option<String> {
    let json = master.open(PENDING_LABEL, sealed).ok()?;
    let pending: Pending = serde_json::from_slice(&json).ok()?;
    (pending.expires_at > now).then_some(pending.user_id)
}

/// A TOTP enrolment waiting for its first code: what the authenticator app is given.
pub struct Enrolment {
    /// The secret in base32, to type in.
    pub secret: String,
    /// The otpauth:// URI, for the QR code.
    pub uri: String,
}

/// Starts a TOTP enrolment with a new secret, kept sealed and unconfirmed until a first code
/// arrives; an enrolment started within `PENDING_TTL` is shown again instead (a reload, or a
/// wrong first code, keeps the secret the app already has). None when the user's factor is
/// confirmed: it must be removed first.
pub async fn begin_totp<S: FactorRepo>(
    cx: &Ctx<'_, S>,
    user: &User,
) -> Result<Option<Enrolment>, StoreError> {
    let master = cx.secrets;
    let label = TotpFactor::secret_label(&user.id);
    let account = user.email.as_deref().unwrap_or(&user.username);
    let shown = |secret: &[u8]| Enrolment {
        secret: totp::base32(secret),
        uri: totp::otpauth_uri(&issuer_name(cx), account, secret),
    };
    match cx.store.totp(&user.id).await? {
        Some(existing) if existing.confirmed_at.is_some() => return Ok(None),
        Some(existing) if existing.created_at + PENDING_TTL > cx.now => {
            if let Ok(secret) = master.open(&label, &existing.secret_sealed) {
                return Ok(Some(shown(&secret)));
            }
        }
        _ => {}
    }
    let secret: [u8; totp::SECRET_LEN] = random_bytes();
    let factor = TotpFactor {
        user_id: user.id.clone(),
        secret_sealed: master.seal(&label, &secret),
        confirmed_at: None,
        last_step: None,
        created_at: cx.now,
    };
    cx.store.put_totp(&factor).await?;
    Ok(Some(shown(&secret)))
}

/// The name authenticator apps show for this provider: the issuer's host.
fn issuer_name<S>(cx: &Ctx<'_, S>) -> String {
    url::Url::parse(&cx.policy.issuer)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "Tessera".into())
}

/// Why a code was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeRefusal {
    /// Wrong, reused or expired; answer only after `delay`.
    Wrong { delay: std::time::Duration },
    /// Too many wrong codes: locked for this many seconds.
    Locked { seconds: i64 },
    /// No enrolment to check against.
    NotEnrolled,
    /// A passkey's answer was not accepted.
    Passkey(passkeys::Refusal),
}

/// Which factor a good code was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Used {
    Otp,
    /// A recovery code; this many are left.
    RecoveryCode {
        left: usize,
    },
    /// A passkey, with the methods of both factors.
    Passkey {
        amr: &'static str,
    },
}

impl Used {
    /// The methods (amr) of a session signed in with the password and this.
    pub fn amr(self) -> &'static str {
        match self {
            Self::Otp | Self::RecoveryCode { .. } => AMR_SECOND_FACTOR,
            Self::Passkey { amr } => amr,
        }
    }
}

/// Confirms a TOTP enrolment with its first code and makes the recovery codes, which are
/// returned to be shown once.
pub async fn confirm_totp<S: FactorRepo + ThrottleRepo>(
    cx: &Ctx<'_, S>,
    user_id: &str,
    code: &str,
    ip: Option<&str>,
) -> Result<Result<Vec<String>, CodeRefusal>, OAuthError> {
    let Some(factor) = cx.store.totp(user_id).await? else {
        return Ok(Err(CodeRefusal::NotEnrolled));
    };
    let attempts = Attempts::second_factor(cx.policy, user_id, ip);
    if let Some(seconds) = attempts.locked_for(cx.store, cx.now).await? {
        return Ok(Err(CodeRefusal::Locked { seconds }));
    }
    let step = matching_step(cx.secrets, &factor, code, cx.now)?;
    let confirmed = match step {
        Some(step) => cx.store.use_totp_step(user_id, step, Some(cx.now)).await?,
        None => false,
    };
    if !confirmed {
        let delay = attempts.failed(cx.store, cx.policy, cx.now).await?;
        return Ok(Err(CodeRefusal::Wrong { delay }));
    }
    attempts.succeeded(cx.store).await?;
    Ok(Ok(new_recovery_codes(cx, user_id).await?))
}

fn matching_step(
    master: &MasterKey,
    factor: &TotpFactor,
    code: &str,
    now: i64,
) -> Result<Option<i64>, OAuthError> {
    let label = TotpFactor::secret_label(&factor.user_id);
    let secret = master
        .open(&label, &factor.secret_sealed)
        .map_err(|_| OAuthError::server_error())?;
    Ok(totp::matching_step(&secret, code, now, factor.last_step))
}

/// Checks a second factor: a code of the user's authenticator app, or one of their recovery
/// codes. Throttled per user and per IP as passwords are; every code works once.
pub async fn check<S: FactorRepo + ThrottleRepo>(
    cx: &Ctx<'_, S>,
    user_id: &str,
    code: &str,
    ip: Option<&str>,
) -> Result<Result<Used, CodeRefusal>, OAuthError> {
    let factor = cx.store.totp(user_id).await?;
    let Some(factor) = factor.filter(|f| f.confirmed_at.is_some()) else {
        return Ok(Err(CodeRefusal::NotEnrolled));
    };
    let attempts = Attempts::second_factor(cx.policy, user_id, ip);
    if let Some(seconds) = attempts.locked_for(cx.store, cx.now).await? {
        return Ok(Err(CodeRefusal::Locked { seconds }));
    }
    let used = match recovery_code_form(code) {
        Some(normalized) => {
            let hashed = hash(&normalized);
            if cx.store.use_recovery_code(user_id, &hashed, cx.now).await? {
                let left = cx.store.unused_recovery_codes(user_id).await?;
                tracing::warn!(user_id, left, "a recovery code was used");
                Some(Used::RecoveryCode { left })
            } else {
                None
            }
        }
        None => match matching_step(cx.secrets, &factor, code, cx.now)? {
            Some(step) if cx.store.use_totp_step(user_id, step, None).await? => Some(Used::Otp),
            _ => None,
        },
    };
    match used {
        Some(used) => {
            attempts.succeeded(cx.store).await?;
            Ok(Ok(used))
        }
        None => {
            let delay = attempts.failed(cx.store, cx.policy, cx.now).await?;
            Ok(Err(CodeRefusal::Wrong { delay }))
        }
    }
}

/// A recovery code as stored (lower case, no separators), if `code` has the shape of one
/// (ten letters and digits, e.g. `k7dq2-9xwmf`); None for a six-digit TOTP code.
fn recovery_code_form(code: &str) -> Option<String> {
    let normalized: String = code
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (normalized.len() == 10 && normalized.chars().all(|c| c.is_ascii_alphanumeric()))
        .then_some(normalized)
}

/// New recovery codes for the user, replacing the old ones: returned once, stored hashed.
pub async fn new_recovery_codes<S: FactorRepo>(
    cx: &Ctx<'_, S>,
    user_id: &str,
) -> Result<Vec<String>, StoreError> {
    // Lower-case letters and digits without the look-alikes 0, o, 1, l.
    const ALPHABET: &[u8] = b"23456789abcdefghijkmnpqrstuvwxyz";
    let codes: Vec<String> = (0..RECOVERY_CODES)
        .map(|_| {
            let bytes: [u8; 10] = random_bytes();
            let chars: String = bytes
                .iter()
                .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
                .collect();
            format!("{}-{}", &chars[..5], &chars[5..])
        })
        .collect();
    let hashes: Vec<String> = codes
        .iter()
        .filter_map(|c| recovery_code_form(c))
        .map(|c| hash(&c))
        .collect();
    cx.store
        .replace_recovery_codes(user_id, &hashes, cx.now)
        .await?;
    Ok(codes)
}

/// What a user has enrolled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Factors {
    /// When the authenticator app was confirmed, if there is one.
    pub totp_since: Option<i64>,
    pub passkeys: Vec<PasskeyInfo>,
    pub recovery_codes_left: usize,
}

impl Factors {
    pub fn any(&self) -> bool {
        self.totp_since.is_some() || !self.passkeys.is_empty()
    }
}

/// A passkey as the account page and operators list it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PasskeyInfo {
    pub id: String,
    pub name: String,
    /// The authenticator may sync it to the user's other devices (backup eligible).
    pub synced: bool,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

impl From<PasskeyFactor> for PasskeyInfo {
    fn from(p: PasskeyFactor) -> Self {
        Self {
            id: p.id,
            name: p.name,
            synced: p.backup_eligible,
            created_at: p.created_at,
            last_used_at: p.last_used_at,
        }
    }
}

pub async fn factors<S: FactorRepo>(cx: &Ctx<'_, S>, user_id: &str) -> Result<Factors, StoreError> {
    let totp = cx.store.totp(user_id).await?;
    let passkeys = cx.store.passkeys(user_id).await?;
    Ok(Factors {
        totp_since: totp.and_then(|f| f.confirmed_at),
        passkeys: passkeys.into_iter().map(PasskeyInfo::from).collect(),
        recovery_codes_left: cx.store.unused_recovery_codes(user_id).await?,
    })
}

/// Removes every second factor of the user and ends their sessions but `keep` (the browser
/// that asked, on the account page), as a password change does.
pub async fn reset<S, N>(
    cx: &Ctx<'_, S>,
    notifier: &N,
    user_id: &str,
    keep: Option<&str>,
) -> Result<usize, StoreError>
where
    S: FactorRepo + SessionRepo + GrantRepo + ClientRepo + RevocationList,
    N: Notifier,
{
    cx.store.delete_factors(user_id).await?;
    sessions::end_user_sessions(cx, notifier, user_id, keep).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testing::{MemoryStore, block_on, context, master, policy, user};

    fn code_now(master: &MasterKey, store: &MemoryStore, user_id: &str, now: i64) -> String {
        let factor = block_on(store.totp(user_id)).unwrap().unwrap();
        let secret = master
            .open(&TotpFactor::secret_label(user_id), &factor.secret_sealed)
            .unwrap();
        totp::code(&secret, u64::try_from(totp::step_at(now)).unwrap())
    }

    #[test]
    fn enrol_confirm_then_every_code_works_once() {
        let store = MemoryStore::default();
        let policy = policy();
        let master = master();
        let alice = user("alice");
        let cx = context(&store, &policy, 1_000_000);
        assert_eq!(
            block_on(needed(&cx, &alice.id, None, false)).unwrap(),
            Needed::Nothing
        );
        assert_eq!(
            block_on(needed(&cx, &alice.id, None, true)).unwrap(),
            Needed::Enroll
        );
        let enrolment = block_on(begin_totp(&cx, &alice)).unwrap().unwrap();
        assert!(enrolment.uri.starts_with("otpauth://totp/id.example:"));
        assert!(
            enrolment
                .uri
                .contains(&format!("secret={}", enrolment.secret))
        );
        assert_eq!(
            block_on(check(&cx, &alice.id, "000000", None)).unwrap(),
            Err(CodeRefusal::NotEnrolled),
            "an unconfirmed enrolment is no factor yet"
        );
        let first = code_now(master, &store, &alice.id, cx.now);
        let codes = block_on(confirm_totp(&cx, &alice.id, &first, None))
            .unwrap()
            .unwrap();
        assert_eq!(codes.len(), RECOVERY_CODES);
        assert_eq!(
            block_on(needed(&cx, &alice.id, None, false)).unwrap(),
            Needed::Verify
        );
        assert!(block_on(begin_totp(&cx, &alice)).unwrap().is_none());

        // The confirming code's step is used; the next step's code works, once.
        assert!(matches!(
            block_on(check(&cx, &alice.id, &first, None)).unwrap(),
            Err(CodeRefusal::Wrong { .. })
        ));
        let later = context(&store, &policy, cx.now + 30);
        let next = code_now(master, &store, &alice.id, later.now);
        assert_eq!(
            block_on(check(&later, &alice.id, &next, None)).unwrap(),
            Ok(Used::Otp)
        );
        assert!(matches!(
            block_on(check(&later, &alice.id, &next, None)).unwrap(),
            Err(CodeRefusal::Wrong { .. })
        ));

        // A recovery code works once, however it is typed.
        let typed = codes[0].to_uppercase().replace('-', " ");
        assert_eq!(
            block_on(check(&later, &alice.id, &typed, None)).unwrap(),
            Ok(Used::RecoveryCode { left: 9 })
        );
        assert!(matches!(
            block_on(check(&later, &alice.id, &codes[0], None)).unwrap(),
            Err(CodeRefusal::Wrong { .. })
        ));
    }

    #[test]
    fn wrong_codes_lock_the_second_factor_like_passwords() {
        let store = MemoryStore::default();
        let policy = policy();
        let master = master();
        let alice = user("alice");
        let cx = context(&store, &policy, 1_000_000);
        block_on(begin_totp(&cx, &alice)).unwrap();
        let first = code_now(master, &store, &alice.id, cx.now);
        block_on(confirm_totp(&cx, &alice.id, &first, None))
            .unwrap()
            .unwrap();
        for _ in 0..policy.throttle.max_failures {
            let refused = block_on(check(&cx, &alice.id, "000000", None)).unwrap();
            assert!(matches!(refused, Err(CodeRefusal::Wrong { .. })));
        }
        let later = context(&store, &policy, cx.now + 30);
        let good = code_now(master, &store, &alice.id, later.now);
        assert!(matches!(
            block_on(check(&later, &alice.id, &good, None)).unwrap(),
            Err(CodeRefusal::Locked { .. })
        ));
    }

    #[test]
    fn the_pending_proof_is_sealed_and_expires() {
        let master = master();
        let sealed = seal_pending(master, "user-1", 100);
        assert_eq!(
            open_pending(master, &sealed, 101).as_deref(),
            Some("user-1")
        );
        assert_eq!(open_pending(master, &sealed, 100 + PENDING_TTL), None);
        assert_eq!(open_pending(master, "forged", 101), None);
    }

    #[test]
    fn levels_and_requests() {
        assert_eq!(acr(AMR_PASSWORD), ACR_PASSWORD);
        assert_eq!(acr(AMR_SECOND_FACTOR), ACR_MFA);
        assert!(wants_second_factor(&[ACR_MFA.into()]));
        assert!(!wants_second_factor(&[ACR_MFA.into(), ACR_PASSWORD.into()]));
        assert!(!wants_second_factor(&["urn:other".into()]));
        assert_eq!(
            recovery_code_form("K7DQ2-9XWMF").as_deref(),
            Some("k7dq29xwmf")
        );
        assert_eq!(recovery_code_form("123456"), None);
    }
}
