//! Throttling of password and client-secret guessing: per account (or client) and per IP, a
//! growing delay on each failure, then a temporary lockout. Counters live in the database so
//! every replica sees them.

use std::time::Duration;

use crate::state::AppState;

/// What is being guessed at, and from where.
pub struct Subjects {
    keys: Vec<(String, i64)>,
}

impl Subjects {
    /// A user's password, guessed from `ip`.
    pub fn login(state: &AppState, username: &str, ip: Option<&str>) -> Self {
        Self::new(state, "user", username, ip)
    }

    /// A client's secret, guessed from `ip`.
    pub fn client(state: &AppState, client_id: &str, ip: Option<&str>) -> Self {
        Self::new(state, "client", client_id, ip)
    }

    fn new(state: &AppState, kind: &str, name: &str, ip: Option<&str>) -> Self {
        let limits = &state.config.throttle;
        let mut keys = vec![(
            format!("{kind}:{}", name.to_lowercase()),
            limits.max_failures,
        )];
        if let Some(ip) = ip {
            keys.push((format!("ip:{ip}"), limits.max_failures_per_ip));
        }
        Self { keys }
    }

    /// Seconds until the lockout ends, if any subject is locked out.
    pub async fn locked_for(&self, state: &AppState) -> Result<Option<i64>, sea_orm::DbErr> {
        let now = state.now();
        let mut longest = None;
        for (key, _) in &self.keys {
            if let Some(until) = state.store.locked_until(key, now).await? {
                longest = Some(longest.unwrap_or(0).max(until - now));
            }
        }
        Ok(longest)
    }

    /// Counts a failure and waits a little longer after each one (up to 2 s).
    pub async fn failed(&self, state: &AppState) -> Result<(), sea_orm::DbErr> {
        let limits = &state.config.throttle;
        let mut worst = 0;
        for (key, max) in &self.keys {
            let n = state
                .store
                .record_failure(key, state.now(), limits.window, *max, limits.lockout)
                .await?;
            worst = worst.max(n);
        }
        let delay_ms = (100u64 << worst.clamp(0, 5)).min(2_000);
        actix_web::rt::time::sleep(Duration::from_millis(delay_ms)).await;
        Ok(())
    }

    /// A success clears the account's (not the IP's) count.
    pub async fn succeeded(&self, state: &AppState) -> Result<(), sea_orm::DbErr> {
        state.store.clear_failures(&self.keys[0].0).await
    }
}

/// "3 minutes", for messages.
pub fn describe_wait(seconds: i64) -> String {
    let minutes = (seconds + 59) / 60;
    if minutes <= 1 {
        "a minute".into()
    } else {
        format!("{minutes} minutes")
    }
}
