//! Prometheus metrics of one process (each replica is scraped on its own): requests by
//! endpoint and status, latency histograms, tokens issued by grant type, login failures.
//! Key ages and the time to the next rotation come from the key timeline when scraped.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

#[derive(Default)]
pub struct Metrics {
    /// Requests by endpoint, then status.
    requests: Mutex<BTreeMap<String, BTreeMap<u16, u64>>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
    tokens: Mutex<BTreeMap<String, u64>>,
    login_failures: AtomicU64,
    client_auth_failures: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Metrics {
    pub fn observe_request(&self, endpoint: &str, status: u16, seconds: f64) {
        {
            let mut requests = lock(&self.requests);
            if !requests.contains_key(endpoint) {
                requests.insert(endpoint.to_owned(), BTreeMap::new());
            }
            if let Some(by_status) = requests.get_mut(endpoint) {
                *by_status.entry(status).or_default() += 1;
            }
        }
        let mut latency = lock(&self.latency);
        if !latency.contains_key(endpoint) {
            latency.insert(endpoint.to_owned(), Histogram::default());
        }
        let Some(h) = latency.get_mut(endpoint) else {
            return;
        };
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                h.counts[i] += 1;
            }
        }
        h.sum += seconds;
        h.count += 1;
    }

    pub fn token_issued(&self, grant_type: &str) {
        *lock(&self.tokens).entry(grant_type.to_owned()).or_default() += 1;
    }

    pub fn login_failed(&self) {
        self.login_failures.fetch_add(1, Ordering::Relaxed);
    }

    pub fn client_auth_failed(&self) {
        self.client_auth_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// The text exposition format; `keys` adds lines about signing keys.
    pub fn render(&self, keys: &[KeyGauge]) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP tessera_http_requests_total HTTP requests by endpoint and status."
        );
        let _ = writeln!(out, "# TYPE tessera_http_requests_total counter");
        for (endpoint, by_status) in lock(&self.requests).iter() {
            for (status, n) in by_status {
                let _ = writeln!(
                    out,
                    "tessera_http_requests_total{{endpoint=\"{endpoint}\",status=\"{status}\"}} {n}"
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP tessera_http_request_duration_seconds Request latency by endpoint."
        );
        let _ = writeln!(
            out,
            "# TYPE tessera_http_request_duration_seconds histogram"
        );
        for (endpoint, h) in lock(&self.latency).iter() {
            for (bound, n) in BUCKETS.iter().zip(h.counts) {
                let _ = writeln!(
                    out,
                    "tessera_http_request_duration_seconds_bucket{{endpoint=\"{endpoint}\",le=\"{bound}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "tessera_http_request_duration_seconds_bucket{{endpoint=\"{endpoint}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "tessera_http_request_duration_seconds_sum{{endpoint=\"{endpoint}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "tessera_http_request_duration_seconds_count{{endpoint=\"{endpoint}\"}} {}",
                h.count
            );
        }
        let _ = writeln!(
            out,
            "# HELP tessera_tokens_issued_total Token responses by grant type."
        );
        let _ = writeln!(out, "# TYPE tessera_tokens_issued_total counter");
        for (grant, n) in lock(&self.tokens).iter() {
            let _ = writeln!(
                out,
                "tessera_tokens_issued_total{{grant_type=\"{grant}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP tessera_login_failures_total Failed password sign-ins."
        );
        let _ = writeln!(out, "# TYPE tessera_login_failures_total counter");
        let _ = writeln!(
            out,
            "tessera_login_failures_total {}",
            self.login_failures.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP tessera_client_auth_failures_total Failed client authentications."
        );
        let _ = writeln!(out, "# TYPE tessera_client_auth_failures_total counter");
        let _ = writeln!(
            out,
            "tessera_client_auth_failures_total {}",
            self.client_auth_failures.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP tessera_signing_key_age_seconds Age of each family's current signing key."
        );
        let _ = writeln!(out, "# TYPE tessera_signing_key_age_seconds gauge");
        for k in keys {
            let _ = writeln!(
                out,
                "tessera_signing_key_age_seconds{{alg=\"{}\",kid=\"{}\"}} {}",
                k.alg, k.kid, k.age
            );
        }
        let _ = writeln!(
            out,
            "# HELP tessera_key_rotation_in_seconds Time until the family's next key signs."
        );
        let _ = writeln!(out, "# TYPE tessera_key_rotation_in_seconds gauge");
        for k in keys {
            let _ = writeln!(
                out,
                "tessera_key_rotation_in_seconds{{alg=\"{}\"}} {}",
                k.alg, k.next_rotation_in
            );
        }
        out
    }
}

/// What /metrics says about one family's current key.
pub struct KeyGauge {
    pub alg: String,
    pub kid: String,
    pub age: i64,
    pub next_rotation_in: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms() {
        let m = Metrics::default();
        m.observe_request("/token", 200, 0.003);
        m.observe_request("/token", 200, 0.2);
        m.token_issued("authorization_code");
        m.login_failed();
        let text = m.render(&[KeyGauge {
            alg: "ES256".into(),
            kid: "k".into(),
            age: 5,
            next_rotation_in: 10,
        }]);
        assert!(text.contains("tessera_http_requests_total{endpoint=\"/token\",status=\"200\"} 2"));
        assert!(text.contains(
            "tessera_http_request_duration_seconds_bucket{endpoint=\"/token\",le=\"0.005\"} 1"
        ));
        assert!(text.contains(
            "tessera_http_request_duration_seconds_bucket{endpoint=\"/token\",le=\"+Inf\"} 2"
        ));
        assert!(text.contains("tessera_tokens_issued_total{grant_type=\"authorization_code\"} 1"));
        assert!(text.contains("tessera_login_failures_total 1"));
        assert!(text.contains("tessera_key_rotation_in_seconds{alg=\"ES256\"} 10"));
    }
}
