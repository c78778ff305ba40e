//! The key lifecycle as a function of time: a key is `next` until it activates, `current`
//! until its successor activates, `retired` (still published) until every token it signed has
//! expired, then removed. Replicas that share the key rows derive the same states.

use serde::Serialize;

use super::{Alg, StoredKey};
use crate::wire::wire_names;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyState {
    /// Published, not yet signing.
    Next,
    Current,
    /// Published so that tokens it signed still verify; signs nothing.
    Retired,
    /// Past its retention: no longer published, about to be deleted.
    Removed,
    /// Pulled out of the JWKS by an operator.
    Revoked,
}

wire_names!(KeyState { Next => "next", Current => "current", Retired => "retired", Removed => "removed", Revoked => "revoked" });

/// The times that drive rotation, in seconds.
#[derive(Clone, Copy, Debug)]
pub struct Schedule {
    /// How long a key signs before its successor takes over.
    pub rotation_period: i64,
    /// How long a new key is published before it signs: the longest a verifier keeps a copy
    /// of the JWKS (twice its max-age, or the bound on caches that ignore it) plus the
    /// replicas' reload interval, so every cached JWKS already holds it.
    pub prepublish: i64,
    /// How long a retired key stays published: the longest lifetime of a token it signed,
    /// plus clock skew, the longest a verifier keeps a copy of the JWKS and the reload
    /// interval.
    pub retention: i64,
}

/// The settings rotation follows, in seconds.
#[derive(Clone, Copy, Debug)]
pub struct Rotation {
    /// How long a key signs before its successor takes over.
    pub period: i64,
    /// Cache-Control max-age of the JWKS.
    pub jwks_max_age: i64,
    /// The longest a verifier may keep a copy of the JWKS whatever its Cache-Control says
    /// (API gateways hold it for up to two hours); 0 when every verifier honours max-age.
    pub jwks_cache_bound: i64,
    /// How often every replica reloads the keyring.
    pub reload_interval: i64,
    /// Clock difference tolerated between Tessera and relying parties.
    pub clock_skew: i64,
}

impl Schedule {
    pub fn new(rotation: &Rotation, longest_token_ttl: i64) -> Self {
        let reload = rotation.reload_interval;
        let cached = rotation.jwks_cache_bound;
        Self {
            rotation_period: rotation.period,
            prepublish: (2 * rotation.jwks_max_age).max(cached) + reload,
            retention: longest_token_ttl
                + rotation.clock_skew
                + rotation.jwks_max_age.max(cached)
                + reload,
        }
    }
}

/// One key's past and planned transitions.
#[derive(Clone, Debug, Serialize)]
pub struct Timeline {
    pub kid: String,
    pub alg: Alg,
    pub state: KeyState,
    pub created_at: i64,
    pub activates_at: i64,
    pub retires_at: Option<i64>,
    pub removes_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// The timeline of every key at `now`.
pub fn timeline(keys: &[StoredKey], schedule: &Schedule, now: i64) -> Vec<Timeline> {
    let order = |k: &StoredKey| (k.activates_at, k.generation);
    keys.iter()
        .map(|key| {
            let retires_at = keys
                .iter()
                .filter(|other| {
                    other.alg == key.alg && other.revoked_at.is_none() && order(other) > order(key)
                })
                .map(|other| other.activates_at)
                .min();
            let removes_at = retires_at.map(|r| r + schedule.retention);
            let state = if key.revoked_at.is_some() {
                KeyState::Revoked
            } else if now < key.activates_at {
                KeyState::Next
            } else if removes_at.is_some_and(|r| now >= r) {
                KeyState::Removed
            } else if retires_at.is_some_and(|r| now >= r) {
                KeyState::Retired
            } else {
                KeyState::Current
            };
            Timeline {
                kid: key.kid.clone(),
                alg: key.alg,
                state,
                created_at: key.created_at,
                activates_at: key.activates_at,
                retires_at,
                removes_at,
                revoked_at: key.revoked_at,
            }
        })
        .collect()
}

/// When a new key of this family should activate, if one must be created now: immediately
/// when the family has no current key, otherwise one period after the current key activated,
/// and never sooner than a full pre-publication window from now.
pub fn due_rotation(family: &[&Timeline], schedule: &Schedule, now: i64) -> Option<i64> {
    let current = family.iter().find(|t| t.state == KeyState::Current);
    let Some(current) = current else {
        return Some(now);
    };
    if family.iter().any(|t| t.state == KeyState::Next) {
        return None;
    }
    let planned = current.activates_at + schedule.rotation_period;
    (now >= planned - schedule.prepublish).then(|| planned.max(now + schedule.prepublish))
}

/// When the family's next key takes over: the published successor's activation, or, before
/// one exists, one period after the current key activated.
pub fn next_activation(family: &[&Timeline], schedule: &Schedule) -> Option<i64> {
    let current = family.iter().find(|t| t.state == KeyState::Current)?;
    let successor = family
        .iter()
        .filter(|t| t.state == KeyState::Next)
        .map(|t| t.activates_at)
        .min();
    Some(successor.unwrap_or(current.activates_at + schedule.rotation_period))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEDULE: Schedule = Schedule {
        rotation_period: 1000,
        prepublish: 100,
        retention: 300,
    };

    #[test]
    fn the_windows_cover_a_gateway_that_caches_the_jwks_for_two_hours() {
        let rotation = |jwks_cache_bound| Rotation {
            period: 30 * 86_400,
            jwks_max_age: 300,
            jwks_cache_bound,
            reload_interval: 10,
            clock_skew: 60,
        };
        let gateways = Schedule::new(&rotation(7200), 3600);
        assert_eq!(
            gateways.prepublish,
            7200 + 10,
            "published two hours before it signs"
        );
        assert_eq!(gateways.retention, 3600 + 60 + 7200 + 10);
        let honouring = Schedule::new(&rotation(0), 3600);
        assert_eq!(
            honouring.prepublish,
            2 * 300 + 10,
            "twice the max-age when caches obey it"
        );
        assert_eq!(honouring.retention, 3600 + 60 + 300 + 10);
    }

    fn key(kid: &str, generation: i64, activates_at: i64) -> StoredKey {
        StoredKey {
            kid: kid.into(),
            alg: Alg::ES256,
            generation,
            created_at: activates_at - 100,
            activates_at,
            revoked_at: None,
            sealed_private_key: String::new(),
            public_jwk: String::new(),
        }
    }

    fn states(keys: &[StoredKey], now: i64) -> Vec<KeyState> {
        timeline(keys, &SCHEDULE, now)
            .into_iter()
            .map(|t| t.state)
            .collect()
    }

    #[test]
    fn keys_move_next_current_retired_removed_by_time() {
        let keys = [key("a", 1, 0), key("b", 2, 1000)];
        assert_eq!(states(&keys, 500), [KeyState::Current, KeyState::Next]);
        assert_eq!(states(&keys, 1000), [KeyState::Retired, KeyState::Current]);
        assert_eq!(states(&keys, 1299), [KeyState::Retired, KeyState::Current]);
        assert_eq!(states(&keys, 1300), [KeyState::Removed, KeyState::Current]);
        let t = timeline(&keys, &SCHEDULE, 0);
        assert_eq!((t[0].retires_at, t[0].removes_at), (Some(1000), Some(1300)));
    }

    #[test]
    fn rotation_is_due_one_prepublication_window_ahead() {
        let keys = [key("a", 1, 0)];
        let at = |now| {
            let t = timeline(&keys, &SCHEDULE, now);
            due_rotation(&t.iter().collect::<Vec<_>>(), &SCHEDULE, now)
        };
        assert_eq!(at(899), None);
        assert_eq!(at(900), Some(1000), "published 100 s before it signs");
        assert_eq!(
            at(950),
            Some(1050),
            "late: still a full window of publication"
        );
        let with_next = [key("a", 1, 0), key("b", 2, 1000)];
        let t = timeline(&with_next, &SCHEDULE, 950);
        assert_eq!(
            due_rotation(&t.iter().collect::<Vec<_>>(), &SCHEDULE, 950),
            None
        );
        assert_eq!(
            next_activation(&t.iter().collect::<Vec<_>>(), &SCHEDULE),
            Some(1000),
            "the published successor"
        );
        let alone = timeline(&keys, &SCHEDULE, 950);
        assert_eq!(
            next_activation(&alone.iter().collect::<Vec<_>>(), &SCHEDULE),
            Some(1000),
            "one period after the current key"
        );
        assert_eq!(
            due_rotation(&[], &SCHEDULE, 5),
            Some(5),
            "no current key: one now"
        );
    }

    #[test]
    fn a_revoked_key_neither_signs_nor_retires_its_predecessor() {
        let mut keys = [key("a", 1, 0), key("b", 2, 1000)];
        keys[1].revoked_at = Some(1100);
        assert_eq!(states(&keys, 1200), [KeyState::Current, KeyState::Revoked]);
    }
}
