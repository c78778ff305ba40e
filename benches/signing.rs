//! Signing and verification cost per algorithm family, the work behind every token response.
//! Run with `cargo bench --bench signing`; prints operations per second (median of 5 runs).
//! No assertions: this machine is shared and noisy; compare numbers, don't gate on them.

use std::time::Instant;

use std::sync::Arc;

use tessera::keys::{Alg, Keyring, MasterKey, SigningKey, generate};

fn keyring() -> Keyring {
    let master = MasterKey::parse(&"42".repeat(32)).expect("master key");
    let keys = Alg::ALL
        .into_iter()
        .map(|alg| {
            let stored = generate(alg)
                .expect("key generation")
                .seal(&master, 1, 0, 0);
            let key = SigningKey::unseal(&stored, &master).expect("unseal");
            (Arc::new(key), true)
        })
        .collect();
    Keyring::new(keys)
}

fn ops_per_second(iterations: u32, mut op: impl FnMut()) -> f64 {
    let mut runs: Vec<f64> = (0..5)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..iterations {
                op();
            }
            f64::from(iterations) / start.elapsed().as_secs_f64()
        })
        .collect();
    runs.sort_by(f64::total_cmp);
    runs[2]
}

fn main() {
    let ring = keyring();
    let claims = serde_json::json!({
        "iss": "https://id.example.com", "sub": "user-123", "aud": "https://api.example.com",
        "exp": 1_800_000_000, "iat": 1_799_999_700, "jti": "abc", "client_id": "app", "scope": "openid profile"
    });
    println!("{:<8} {:>14} {:>14}", "alg", "sign/s", "verify/s");
    for alg in Alg::ALL {
        let key = ring.current(alg).expect("current key");
        let iterations = if alg == Alg::RS256 { 200 } else { 2_000 };
        let sign = ops_per_second(iterations, || {
            tessera::tokens::sign(key, "at+jwt", &claims).expect("sign");
        });
        let token = tessera::tokens::sign(key, "at+jwt", &claims).expect("sign");
        let verify = ops_per_second(iterations, || {
            tessera::tokens::verify::<serde_json::Value>(&ring, &token, "at+jwt").expect("verify");
        });
        println!("{:<8} {:>14.0} {:>14.0}", alg.as_str(), sign, verify);
    }
}
