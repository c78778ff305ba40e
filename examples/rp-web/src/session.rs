//! The browsers' sessions with the app, kept in memory and bounded: at most `MAX_SESSIONS`,
//! each for at most `SESSION_TTL`; when full, the oldest is dropped.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use openidconnect::CsrfToken;

const MAX_SESSIONS: usize = 1000;
const SESSION_TTL: Duration = Duration::from_secs(8 * 3600);

/// A sign-in that was started: what the callback must find again.
pub struct Pending {
    pub state: String,
    pub nonce: String,
    pub verifier: String,
}

/// A signed-in browser's tokens.
#[derive(Clone)]
pub struct SignedIn {
    pub id_token: String,
    pub id_token_claims: serde_json::Value,
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub userinfo: Option<serde_json::Value>,
}

struct Session {
    created: Instant,
    csrf: String,
    pending: Option<Pending>,
    signed_in: Option<SignedIn>,
    notice: Option<String>,
}

/// What a page shows of a session.
pub struct Snapshot {
    pub csrf: String,
    pub signed_in: Option<SignedIn>,
    pub notice: Option<String>,
}

#[derive(Default)]
pub struct Sessions {
    by_id: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    /// Records a started sign-in in the browser's session (a new one if it has none or an
    /// unknown one) and returns the session's id.
    pub fn start(&self, id: Option<&str>, pending: Pending) -> String {
        let Ok(mut sessions) = self.by_id.lock() else {
            return String::new();
        };
        if let Some(session) = id.and_then(|id| sessions.get_mut(id)) {
            session.pending = Some(pending);
            return id.unwrap_or_default().to_owned();
        }
        sessions.retain(|_, s| s.created.elapsed() < SESSION_TTL);
        if sessions.len() >= MAX_SESSIONS
            && let Some(oldest) = sessions
                .iter()
                .min_by_key(|(_, s)| s.created)
                .map(|(id, _)| id.clone())
        {
            sessions.remove(&oldest);
        }
        let id = CsrfToken::new_random().secret().clone();
        sessions.insert(
            id.clone(),
            Session {
                created: Instant::now(),
                csrf: CsrfToken::new_random().secret().clone(),
                pending: Some(pending),
                signed_in: None,
                notice: None,
            },
        );
        id
    }

    /// The started sign-in, which can be completed only once.
    pub fn take_pending(&self, id: &str) -> Option<Pending> {
        self.with(id, |s| s.pending.take()).flatten()
    }

    pub fn sign_in(&self, id: &str, tokens: SignedIn) {
        self.with(id, |s| s.signed_in = Some(tokens));
    }

    pub fn sign_out(&self, id: &str) {
        self.with(id, |s| s.signed_in = None);
    }

    /// A message for the next page shown to this browser.
    pub fn notify(&self, id: &str, notice: String) {
        self.with(id, |s| s.notice = Some(notice));
    }

    /// The session as a page shows it; `take_notice` clears the message once shown.
    pub fn snapshot(&self, id: &str, take_notice: bool) -> Option<Snapshot> {
        self.with(id, |s| Snapshot {
            csrf: s.csrf.clone(),
            signed_in: s.signed_in.clone(),
            notice: if take_notice {
                s.notice.take()
            } else {
                s.notice.clone()
            },
        })
    }

    fn with<T>(&self, id: &str, f: impl FnOnce(&mut Session) -> T) -> Option<T> {
        let mut sessions = self.by_id.lock().ok()?;
        let session = sessions.get_mut(id)?;
        if session.created.elapsed() >= SESSION_TTL {
            sessions.remove(id);
            return None;
        }
        Some(f(session))
    }
}

/// Compares two secrets in time independent of where they differ.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending() -> Pending {
        Pending {
            state: "s".into(),
            nonce: "n".into(),
            verifier: "v".into(),
        }
    }

    #[test]
    fn a_started_sign_in_completes_once() {
        let sessions = Sessions::default();
        let id = sessions.start(None, pending());
        assert!(sessions.take_pending(&id).is_some());
        assert!(sessions.take_pending(&id).is_none());
        assert!(sessions.take_pending("another browser").is_none());
    }

    #[test]
    fn the_store_is_bounded() {
        let sessions = Sessions::default();
        let first = sessions.start(None, pending());
        for _ in 0..MAX_SESSIONS {
            sessions.start(None, pending());
        }
        assert_eq!(sessions.by_id.lock().unwrap().len(), MAX_SESSIONS);
        assert!(
            sessions.snapshot(&first, false).is_none(),
            "the oldest went"
        );
    }

    #[test]
    fn secrets_compare_exactly() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "abcd"));
    }
}
