//! Throttling of password and client-secret guessing: per account (or client) and per IP, a
//! growing delay after each failure, then a temporary lockout. The counters live in the store
//! so every replica sees them; the caller waits out the delay before answering.

use std::time::Duration;

use super::Policy;
use super::error::StoreError;
use super::model::Failures;
use super::ports::ThrottleRepo;

/// The secret being guessed at, and from where: the counters one attempt moves.
pub struct Attempts {
    /// (counter key, failures allowed within the window)
    keys: Vec<(String, i64)>,
}

impl Attempts {
    /// A user's password, guessed from `ip`.
    pub fn login(policy: &Policy, username: &str, ip: Option<&str>) -> Self {
        Self::new(policy, "user", username, ip)
    }

    /// A user's second factor (one-time or recovery codes), guessed from `ip`.
    pub fn second_factor(policy: &Policy, user_id: &str, ip: Option<&str>) -> Self {
        Self::new(policy, "mfa", user_id, ip)
    }

    /// A client's secret, guessed from `ip`.
    pub fn client(policy: &Policy, client_id: &str, ip: Option<&str>) -> Self {
        Self::new(policy, "client", client_id, ip)
    }

    fn new(policy: &Policy, kind: &str, name: &str, ip: Option<&str>) -> Self {
        let limits = &policy.throttle;
        let mut keys = vec![(
            format!("{kind}:{}", name.to_lowercase()),
            limits.max_failures,
        )];
        if let Some(ip) = ip {
            keys.push((format!("ip:{ip}"), limits.max_failures_per_ip));
        }
        Self { keys }
    }

    /// Seconds until the lockout ends, if any counter is locked.
    pub async fn locked_for<R: ThrottleRepo>(
        &self,
        repo: &R,
        now: i64,
    ) -> Result<Option<i64>, StoreError> {
        let mut longest = None;
        for (key, _) in &self.keys {
            let until = repo.failures(key).await?.and_then(|f| f.locked_until);
            if let Some(until) = until.filter(|until| *until > now) {
                longest = Some(longest.unwrap_or(0).max(until - now));
            }
        }
        Ok(longest)
    }

    /// Counts a failure on every counter; returns how long to wait before answering.
    pub async fn failed<R: ThrottleRepo>(
        &self,
        repo: &R,
        policy: &Policy,
        now: i64,
    ) -> Result<Duration, StoreError> {
        let mut worst = 0;
        for (key, max) in &self.keys {
            let previous = repo.failures(key).await?;
            let counted = count_failure(previous, now, *max, policy);
            repo.save_failures(key, &counted).await?;
            worst = worst.max(counted.count);
        }
        Ok(delay_after(worst))
    }

    /// A success clears the account's (not the IP's) count, when there is one: the common
    /// success, with no failures before it, writes nothing.
    pub async fn succeeded<R: ThrottleRepo>(&self, repo: &R) -> Result<(), StoreError> {
        let account = &self.keys[0].0;
        if repo.failures(account).await?.is_some() {
            repo.clear_failures(account).await?;
        }
        Ok(())
    }
}

/// One more failure within the window (or the first of a new window); the `max`-th locks the
/// counter for the lockout period. Concurrent failures may be counted once: throttling needs
/// the order of magnitude, not the exact number.
pub fn count_failure(previous: Option<Failures>, now: i64, max: i64, policy: &Policy) -> Failures {
    let (count, window_start) = match previous {
        Some(f) if now - f.window_start < policy.throttle.window => (f.count + 1, f.window_start),
        _ => (1, now),
    };
    Failures {
        count,
        window_start,
        locked_until: (count >= max).then_some(now + policy.throttle.lockout),
    }
}

/// 200 ms after the first failure, doubling, at most 2 s.
pub fn delay_after(failures: i64) -> Duration {
    Duration::from_millis((100u64 << failures.clamp(0, 5)).min(2_000))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testing::{MemoryStore, block_on, policy};

    #[test]
    fn failures_grow_the_delay_then_lock_until_the_lockout_ends() {
        let policy = policy();
        let store = MemoryStore::default();
        let attempts = Attempts::login(&policy, "Alice", Some("192.0.2.1"));
        let now = 1_000;
        let mut delays = Vec::new();
        for _ in 0..policy.throttle.max_failures {
            assert_eq!(block_on(attempts.locked_for(&store, now)).unwrap(), None);
            delays.push(block_on(attempts.failed(&store, &policy, now)).unwrap());
        }
        assert_eq!(delays[0], Duration::from_millis(200));
        assert!(delays.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(*delays.last().unwrap(), Duration::from_secs(2));
        let lockout = policy.throttle.lockout;
        assert_eq!(
            block_on(attempts.locked_for(&store, now)).unwrap(),
            Some(lockout)
        );
        assert_eq!(
            block_on(Attempts::login(&policy, "alice", None).locked_for(&store, now + 10)).unwrap(),
            Some(lockout - 10),
            "the account is locked whatever the IP and the case of the name"
        );
        assert_eq!(
            block_on(attempts.locked_for(&store, now + lockout)).unwrap(),
            None
        );
    }

    #[test]
    fn a_success_clears_the_account_but_not_the_ip() {
        let policy = policy();
        let store = MemoryStore::default();
        let attempts = Attempts::login(&policy, "alice", Some("192.0.2.1"));
        block_on(attempts.failed(&store, &policy, 5)).unwrap();
        block_on(attempts.succeeded(&store)).unwrap();
        let counters = store.failure_counts();
        assert_eq!(counters, vec![("ip:192.0.2.1".to_string(), 1)]);
    }

    #[test]
    fn a_success_without_failures_writes_nothing() {
        let policy = policy();
        let store = MemoryStore::default();
        let attempts = Attempts::client(&policy, "app", Some("192.0.2.1"));
        block_on(attempts.succeeded(&store)).unwrap();
        assert_eq!(store.throttle_writes(), 0);
        block_on(attempts.failed(&store, &policy, 5)).unwrap();
        block_on(attempts.succeeded(&store)).unwrap();
        assert_eq!(
            store.throttle_writes(),
            3,
            "two failures counted, one cleared"
        );
    }

    #[test]
    fn the_window_restarts_the_count() {
        let policy = policy();
        let window = policy.throttle.window;
        let first = count_failure(None, 100, 3, &policy);
        let second = count_failure(Some(first), 100 + window - 1, 3, &policy);
        assert_eq!((second.count, second.window_start), (2, 100));
        let third = count_failure(Some(second), 100 + window, 3, &policy);
        assert_eq!(
            (third.count, third.window_start, third.locked_until),
            (1, 100 + window, None)
        );
        let locked = count_failure(Some(second), 150, 3, &policy);
        assert_eq!(locked.locked_until, Some(150 + policy.throttle.lockout));
    }
}
