//! The flow driver: runs multi-step OpenID Connect flows against a provider, found by its
//! discovery document, as many virtual users at once, for a fixed time, and prints one JSON
//! line with the rate. It follows redirects itself and fills the provider's HTML forms
//! (username and password, then "approve"), so it drives Tessera and the peer alike.
//!
//!   flows ISSUER SCENARIO CONCURRENCY SECONDS CLIENT_ID CLIENT_SECRET REDIRECT_URI USER PASSWORD
//!
//! Scenarios:
//!   sso      each user signs in once; then authorize → code → token, id_token verified
//!   refresh  each user signs in once; then refresh grants, rotating the refresh token
//!   login    every flow in a fresh browser: authorize → login → consent → code → token
//!   tokens   one sign-in; prints its token response (for the single-request scenarios)

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use tessera_bench::{Provider, authorize, authorize_url, exchange, signed_in, token};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 10 {
        eprintln!(
            "usage: flows ISSUER sso|refresh|login|tokens CONCURRENCY SECONDS CLIENT_ID CLIENT_SECRET REDIRECT_URI USER PASSWORD"
        );
        std::process::exit(2);
    }
    let (scenario, concurrency, seconds) = (
        args[2].clone(),
        args[3].parse::<usize>().expect("a concurrency"),
        args[4].parse::<f64>().expect("seconds"),
    );
    let p = Provider::discover(
        &args[1],
        (&args[5], &args[6]),
        &args[7],
        (&args[8], &args[9]),
    )
    .await
    .expect("discovery");
    let p = Arc::new(p);
    if scenario == "tokens" {
        let (_, tokens) = signed_in(&p).await.expect("a sign-in");
        println!("{tokens}");
        return;
    }
    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let first_error = Arc::new(std::sync::Mutex::new(None::<String>));
    // Sign every user in before the clock starts (the sso and refresh scenarios measure what
    // comes after the sign-in).
    let mut users = Vec::new();
    if scenario != "login" {
        for _ in 0..concurrency {
            users.push(signed_in(&p).await.expect("a first sign-in"));
        }
    }
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::new();
    for n in 0..concurrency {
        let (p, done, errors, first_error) =
            (p.clone(), done.clone(), errors.clone(), first_error.clone());
        let user = users.get(n).cloned();
        let scenario = scenario.clone();
        tasks.push(tokio::spawn(async move {
            let mut refresh_token = user
                .as_ref()
                .and_then(|(_, t)| t["refresh_token"].as_str().map(str::to_owned));
            while Instant::now() < deadline {
                let result = match scenario.as_str() {
                    "sso" => {
                        let (http, _) = user.as_ref().expect("a signed-in user");
                        let url = authorize_url(&p, "").replace("&prompt=consent", "");
                        match authorize(http, &p, url, false).await {
                            Ok(code) => exchange(http, &p, &code).await.map(|_| ()),
                            Err(e) => Err(e),
                        }
                    }
                    "refresh" => {
                        let (http, _) = user.as_ref().expect("a signed-in user");
                        let rt = refresh_token.clone().unwrap_or_default();
                        let form = [
                            ("grant_type", "refresh_token"),
                            ("refresh_token", rt.as_str()),
                        ];
                        token(http, &p, &form).await.and_then(|t| {
                            refresh_token = t["refresh_token"].as_str().map(str::to_owned);
                            refresh_token
                                .as_ref()
                                .map(|_| ())
                                .ok_or_else(|| "no new refresh token".into())
                        })
                    }
                    _ => signed_in(&p).await.map(|_| ()),
                };
                match result {
                    Ok(()) => {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        first_error.lock().unwrap().get_or_insert(e.to_string());
                    }
                }
            }
        }));
    }
    for task in tasks {
        task.await.expect("a virtual user");
    }
    let elapsed = started.elapsed().as_secs_f64();
    let flows = done.load(Ordering::Relaxed);
    let mut out: HashMap<&str, Value> = HashMap::new();
    out.insert("scenario", scenario.into());
    out.insert("flows", flows.into());
    out.insert("errors", errors.load(Ordering::Relaxed).into());
    out.insert("seconds", elapsed.into());
    out.insert("rate", (flows as f64 / elapsed).round().into());
    if let Some(e) = first_error.lock().unwrap().take() {
        out.insert("first_error", e.into());
    }
    println!("{}", serde_json::to_string(&out).expect("JSON"));
}
