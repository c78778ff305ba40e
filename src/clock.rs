//! The time source. Rules take `now` as an argument; the adapters read it from a `Clock`, which
//! tests replace with a fixed, movable one.
//!
//! The system clock is read so that it never goes back within a process. If the machine's
//! clock is stepped backwards (a fast clock corrected by NTP, an operator's mistake), `now`
//! holds at the latest time already seen until the clock catches up: a token that has expired
//! stays expired, a code or a refresh token does not come back to life, and the key schedule
//! never sees a time it has already passed. A step back of more than a second is logged (at
//! most once a minute). Steps forwards are followed: they are usually the real time (a resume
//! from suspend, a slow clock corrected).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

#[derive(Clone, Debug, Default)]
pub enum Clock {
    #[default]
    System,
    Fixed(Arc<AtomicI64>),
}

/// The latest system time this process has seen (Unix ms), and when a step back was last
/// logged (in that time).
static LATEST_MS: AtomicI64 = AtomicI64::new(0);
static WARNED_MS: AtomicI64 = AtomicI64::new(0);

impl Clock {
    /// Unix seconds.
    pub fn now(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    /// Unix milliseconds (a fixed clock holds whole seconds).
    pub fn now_ms(&self) -> i64 {
        match self {
            Clock::System => {
                let system = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis() as i64)
                    .unwrap_or(0);
                let (now, behind) = never_back(&LATEST_MS, system);
                if behind > 1000 && warn_due(&WARNED_MS, now) {
                    tracing::warn!(
                        behind_ms = behind,
                        "the system clock went back; Tessera holds the time until it catches up"
                    );
                }
                now
            }
            Clock::Fixed(t) => t.load(Ordering::SeqCst) * 1000,
        }
    }
}

/// `system`, unless an earlier reading was later: then that one; and how far behind it the
/// system clock is.
fn never_back(latest: &AtomicI64, system: i64) -> (i64, i64) {
    let previous = latest.fetch_max(system, Ordering::SeqCst);
    (previous.max(system), previous - system)
}

/// True at most once a minute (of `now`).
fn warn_due(warned: &AtomicI64, now: i64) -> bool {
    let last = warned.load(Ordering::Relaxed);
    now - last >= 60_000
        && warned
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_never_goes_back_and_follows_the_clock_once_it_catches_up() {
        let latest = AtomicI64::new(0);
        let readings = [10_000, 20_000, 15_000, 19_999, 20_500, 86_400_000];
        let seen: Vec<i64> = readings
            .iter()
            .map(|&system| never_back(&latest, system).0)
            .collect();
        assert_eq!(seen, [10_000, 20_000, 20_000, 20_000, 20_500, 86_400_000]);
        assert_eq!(never_back(&latest, 86_399_000).1, 1_000, "how far behind");
    }

    #[test]
    fn a_step_back_is_logged_at_most_once_a_minute() {
        let warned = AtomicI64::new(0);
        assert!(warn_due(&warned, 100_000));
        assert!(!warn_due(&warned, 130_000));
        assert!(warn_due(&warned, 160_000));
    }

    #[test]
    fn a_fixed_clock_moves_only_when_told() {
        let t = Arc::new(AtomicI64::new(100));
        let clock = Clock::Fixed(t.clone());
        assert_eq!(clock.now(), 100);
        t.store(50, Ordering::SeqCst);
        assert_eq!(clock.now(), 50, "tests may move it either way");
    }
}
