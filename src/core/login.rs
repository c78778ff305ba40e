//! Signing in with a password: the credential check (throttled per account and per IP,
//! argon2id off the request threads, the same work for unknown users), then, for a user who
//! has (or must enrol) a second factor, the proof of the password that waits for it (see
//! `mfa`), else the browser's session: refreshed when it already belongs to this user,
//! otherwise the previous user's session ends (one browser, one signed-in user) and a new one
//! starts.

use std::time::Duration;

use super::Ctx;
use super::error::{OAuthError, StoreError, Unavailable};
use super::mfa::{self, Needed};
use super::model::{Client, Device, Session, User};
use super::ports::{
    ClientRepo, FactorRepo, GrantRepo, Notifier, Offload, RevocationList, SessionRepo,
    ThrottleRepo, UserRepo,
};
use super::sessions::{self, SignedIn};
use super::throttle::Attempts;
use crate::password;
use crate::secret::{hash, random_id, random_token};

/// A submitted sign-in form and where it came from.
pub struct Attempt<'a> {
    pub username: &'a str,
    pub password: &'a str,
    pub ip: Option<&'a str>,
    pub device: Device,
    /// The browser's current session, if it has one.
    pub browser: Option<SignedIn>,
}

/// Why a sign-in did not succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Wrong username or password; the answer should come only after `delay`, which grows
    /// with each failure.
    WrongCredentials { delay: Duration },
    /// Too many failures: locked out for this many seconds.
    Locked { seconds: i64 },
}

pub enum SignIn {
    Done(Box<SignedInNow>),
    Refused(Refusal),
    /// The password was right; the second factor comes next (or its enrolment, `enroll`).
    /// `pending` is the sealed proof of the password, for a cookie.
    SecondFactor {
        pending: String,
        enroll: bool,
    },
}

/// What decides whether a second factor is asked for, besides the user's own factors.
#[derive(Clone, Copy, Default)]
pub struct Demands<'a> {
    /// The application being signed in to, which may require one.
    pub client: Option<&'a Client>,
    /// The request asked for the MFA level (acr_values).
    pub second_factor: bool,
}

/// A browser that has just signed in.
pub struct SignedInNow {
    pub signed: SignedIn,
    /// The cookie value of a newly started session (None when the session was refreshed).
    pub cookie_token: Option<String>,
}

pub async fn sign_in<S, O, N>(
    cx: &Ctx<'_, S>,
    offload: &O,
    notifier: &N,
    attempt: Attempt<'_>,
    demands: Demands<'_>,
) -> Result<SignIn, OAuthError>
where
    S: UserRepo + ThrottleRepo + SessionRepo + GrantRepo + ClientRepo + RevocationList + FactorRepo,
    O: Offload,
    N: Notifier,
{
    let user = match check_credentials(cx, offload, attempt.username, attempt.password, attempt.ip)
        .await?
    {
        Ok(user) => user,
        Err(refusal) => return Ok(SignIn::Refused(refusal)),
    };
    let needed = mfa::needed(cx, &user.id, demands.client, demands.second_factor).await?;
    if needed != Needed::Nothing {
        return Ok(SignIn::SecondFactor {
            pending: mfa::seal_pending(cx.secrets, &user.id, cx.now),
            enroll: needed == Needed::Enroll,
        });
    }
    let (session, cookie_token) = start_browser_session(
        cx,
        notifier,
        attempt.browser,
        &user,
        attempt.device,
        mfa::AMR_PASSWORD,
    )
    .await?;
    Ok(SignIn::Done(Box::new(SignedInNow {
        signed: SignedIn { session, user },
        cookie_token,
    })))
}

/// The user whose password this browser gave, from the sealed proof in its cookie; None
/// when there is none, it is forged or expired, or the user was disabled since.
pub async fn pending_user<S: UserRepo>(
    cx: &Ctx<'_, S>,
    pending: Option<&str>,
) -> Result<Option<User>, StoreError> {
    let Some(user_id) = pending.and_then(|p| mfa::open_pending(cx.secrets, p, cx.now)) else {
        return Ok(None);
    };
    let user = cx.store.find_user(&user_id).await?;
    Ok(user.filter(|u| !u.disabled))
}

/// Signs the browser in as `user`, authenticated by the methods `amr` (checked by the caller:
/// the password and a second factor, see `mfa::check` and `mfa::confirm_totp`, or a passkey
/// alone, see `passkeys::finish_sign_in`).
pub async fn signed_in_with<S, N>(
    cx: &Ctx<'_, S>,
    notifier: &N,
    user: User,
    amr: &str,
    (browser, device): (Option<SignedIn>, Device),
) -> Result<SignedInNow, OAuthError>
where
    S: SessionRepo + GrantRepo + ClientRepo + RevocationList,
    N: Notifier,
{
    let (session, cookie_token) =
        start_browser_session(cx, notifier, browser, &user, device, amr).await?;
    Ok(SignedInNow {
        signed: SignedIn { session, user },
        cookie_token,
    })
}

/// Checks a password, throttled per account and per IP (see `throttle`).
pub async fn check_credentials<S, O>(
    cx: &Ctx<'_, S>,
    offload: &O,
    username: &str,
    password: &str,
    ip: Option<&str>,
) -> Result<Result<User, Refusal>, Unavailable>
where
    S: UserRepo + ThrottleRepo,
    O: Offload,
{
    let attempts = Attempts::login(cx.policy, username, ip);
    if let Some(seconds) = attempts.locked_for(cx.store, cx.now).await? {
        return Ok(Err(Refusal::Locked { seconds }));
    }
    let user = if username.is_empty() || password.len() > password::MAX_LENGTH {
        None
    } else {
        cx.store.find_user_by_username(username).await?
    };
    let stored_hash = user.as_ref().map(|u| u.password_hash.clone());
    let password = zeroize::Zeroizing::new(password.to_owned());
    let matches = offload
        .run(move || password::verify(&password, stored_hash.as_deref()))
        .await
        .ok_or(Unavailable::Busy)?;
    match user.filter(|u| matches && !u.disabled) {
        Some(user) => {
            attempts.succeeded(cx.store).await?;
            Ok(Ok(user))
        }
        None => {
            let delay = attempts.failed(cx.store, cx.policy, cx.now).await?;
            Ok(Err(Refusal::WrongCredentials { delay }))
        }
    }
}

/// Signs `user` in on this browser, authenticated by the methods `amr`; returns the session
/// and, for a new one, its cookie token.
pub(crate) async fn start_browser_session<S, N>(
    cx: &Ctx<'_, S>,
    notifier: &N,
    browser: Option<SignedIn>,
    user: &User,
    device: Device,
    amr: &str,
) -> Result<(Session, Option<String>), OAuthError>
where
    S: SessionRepo + GrantRepo + ClientRepo + RevocationList,
    N: Notifier,
{
    match browser {
        Some(current) if current.user.id == user.id => {
            cx.store
                .reauthenticate(&current.session.id, amr, cx.now)
                .await?;
            let session = Session {
                amr: amr.to_owned(),
                auth_time: cx.now,
                last_seen_at: cx.now,
                ..current.session
            };
            Ok((session, None))
        }
        other => {
            if let Some(previous) = other {
                sessions::end_sessions(cx, notifier, &[previous.session]).await?;
            }
            let token = random_token();
            let session = Session {
                id: random_id(),
                token_hash: hash(&token),
                user_id: user.id.clone(),
                device,
                amr: amr.to_owned(),
                auth_time: cx.now,
                created_at: cx.now,
                last_seen_at: cx.now,
                expires_at: cx.now + cx.policy.session_ttl,
                ended_at: None,
            };
            cx.store.insert_session(&session).await?;
            Ok((session, Some(token)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testing::{Inline, MemoryStore, Recorder, block_on, context, policy, user};

    fn attempt<'a>(username: &'a str, password: &'a str, browser: Option<SignedIn>) -> Attempt<'a> {
        Attempt {
            username,
            password,
            ip: Some("192.0.2.7"),
            device: Device::default(),
            browser,
        }
    }

    fn signed(outcome: SignIn) -> (SignedIn, Option<String>) {
        match outcome {
            SignIn::Done(done) => (done.signed, done.cookie_token),
            SignIn::Refused(r) => panic!("refused: {r:?}"),
            SignIn::SecondFactor { .. } => panic!("no second factor here"),
        }
    }

    #[test]
    fn one_browser_holds_one_signed_in_user() {
        let store = MemoryStore::default();
        let policy = policy();
        for name in ["alice", "bob"] {
            block_on(store.insert_user(&user(name))).unwrap();
        }
        let cx = context(&store, &policy, 100);
        let recorder = Recorder::default();
        let sign_in =
            |a| block_on(sign_in(&cx, &Inline, &recorder, a, Demands::default())).unwrap();
        let (alice, cookie) = signed(sign_in(attempt("alice", "correct horse", None)));
        assert!(cookie.is_some(), "a new session sets a cookie");
        let (again, cookie) = signed(sign_in(attempt(
            "alice",
            "correct horse",
            Some(alice.clone()),
        )));
        assert_eq!(
            again.session.id, alice.session.id,
            "the same user refreshes the session"
        );
        assert!(cookie.is_none());
        let (bob, _) = signed(sign_in(attempt("bob", "correct horse", Some(again))));
        assert_ne!(bob.session.id, alice.session.id);
        let alices = block_on(store.live_sessions(&alice.user.id, 100)).unwrap();
        assert!(
            alices.is_empty(),
            "another user's sign-in ended alice's session here"
        );
    }

    #[test]
    fn unknown_users_wrong_passwords_and_disabled_users_get_the_same_refusal() {
        let store = MemoryStore::default();
        let policy = policy();
        let mut carol = user("carol");
        carol.disabled = true;
        block_on(store.insert_user(&user("alice"))).unwrap();
        block_on(store.insert_user(&carol)).unwrap();
        let cx = context(&store, &policy, 100);
        let recorder = Recorder::default();
        for (name, password) in [
            ("alice", "wrong"),
            ("nobody", "correct horse"),
            ("carol", "correct horse"),
            ("", "x"),
        ] {
            let outcome = block_on(sign_in(
                &cx,
                &Inline,
                &recorder,
                attempt(name, password, None),
                Demands::default(),
            ))
            .unwrap();
            assert!(
                matches!(outcome, SignIn::Refused(Refusal::WrongCredentials { .. })),
                "{name}"
            );
        }
    }
}
