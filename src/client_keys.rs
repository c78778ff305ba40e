//! Fetching the keys private_key_jwt clients publish at their `jwks_uri` (the core's
//! `ClientKeys` port): no redirects, a short timeout, a size limit, and a bounded cache so a
//! request rarely waits on a client's server. A signature by a key the cached copy lacks
//! refetches at once (the client has just rotated), but such forced refetches happen at most
//! once per `REFETCH_AFTER` per URI, so forged kids cannot make Tessera hammer a client.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::core::ports::ClientKeys;
use crate::keys::{JwkSet, JwksError};

/// How long a fetched JWK Set is used without asking again.
const FRESH_FOR: Duration = Duration::from_secs(300);
/// The shortest time between two forced refetches of one URI.
const REFETCH_AFTER: Duration = Duration::from_secs(10);
/// Larger documents are refused.
const MAX_BYTES: usize = 64 * 1024;
/// URIs remembered at most; beyond it the cache starts over.
const MAX_ENTRIES: usize = 1024;

struct Entry {
    set: Arc<JwkSet>,
    fetched: Instant,
    /// When a refetch was last forced by an unknown kid.
    forced: Option<Instant>,
}

pub struct JwksFetcher {
    http: reqwest::Client,
    cache: Mutex<HashMap<String, Entry>>,
}

impl JwksFetcher {
    pub fn new() -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(5))
            .build()?;
        Ok(Self {
            http,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// The cached set when it may serve this call, and when the last forced refetch was.
    fn cached(&self, uri: &str, refresh: bool) -> (Option<Arc<JwkSet>>, Option<Instant>) {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let Some(entry) = cache.get(uri) else {
            return (None, None);
        };
        let usable = if refresh {
            entry.forced.is_some_and(|at| at.elapsed() < REFETCH_AFTER)
        } else {
            entry.fetched.elapsed() < FRESH_FOR
        };
        (usable.then(|| entry.set.clone()), entry.forced)
    }

    async fn fetch(&self, uri: &str) -> Result<JwkSet, JwksError> {
        let failed = |why: String| JwksError::Fetch(format!("{uri}: {why}"));
        let mut response = self
            .http
            .get(uri)
            .header("accept", "application/json, application/jwk-set+json")
            .send()
            .await
            .map_err(|e| failed(e.without_url().to_string()))?;
        if !response.status().is_success() {
            return Err(failed(format!("answered {}", response.status())));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| failed(e.without_url().to_string()))?
        {
            if body.len() + chunk.len() > MAX_BYTES {
                return Err(failed(format!("larger than {MAX_BYTES} bytes")));
            }
            body.extend_from_slice(&chunk);
        }
        JwkSet::parse(&body)
    }
}

impl ClientKeys for JwksFetcher {
    async fn jwks(&self, uri: &str, refresh: bool) -> Result<Arc<JwkSet>, JwksError> {
        let (cached, forced) = self.cached(uri, refresh);
        if let Some(set) = cached {
            return Ok(set);
        }
        let set = Arc::new(self.fetch(uri).await?);
        let forced = if refresh {
            Some(Instant::now())
        } else {
            forced
        };
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= MAX_ENTRIES {
            cache.clear();
        }
        cache.insert(
            uri.to_owned(),
            Entry {
                set: set.clone(),
                fetched: Instant::now(),
                forced,
            },
        );
        Ok(set)
    }
}
