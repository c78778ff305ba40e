//! The crash driver (`bench/crash.py` runs it): a mixed load of flows that remembers what
//! every client received, and, after the provider was killed and restarted, checks that each
//! of those things still behaves as it should.
//!
//!   crash load CONFIG STATE    run the load until the provider goes away; write STATE
//!   crash check CONFIG STATE   against the restarted provider: check STATE; print a summary
//!
//! CONFIG is a JSON object: issuer, app [id, secret], service [id, secret], redirect_uri,
//! user [name, password], concurrency, seconds; for a soak (`bench/soak.py`) also record
//! (false: keep nothing for a check), rate (iterations per second, all users together) and
//! window (seconds: one JSON line of steps, latencies and errors per window on stdout). Each virtual user signs in (login and
//! consent), then loops: a code by its SSO session, held (never redeemed) one time in five,
//! otherwise redeemed; refresh grants; userinfo; a client_credentials token; now and then a
//! revocation. A request the kill cut off leaves its outcome uncertain and is recorded as
//! such: the check then accepts either outcome the spec allows, and nothing else.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tessera_bench::{
    Failure, Provider, authorize, authorize_url, browser, exchange, post_as_client, token, verify,
};

/// One refresh token family (one grant) as its client knows it.
#[derive(Default)]
struct Family {
    refresh_token: String,
    access_token: String,
    /// A refresh was sent and no answer came back: the rotation may or may not have happened.
    uncertain: bool,
    /// The revocation was answered 200.
    revoked: bool,
}

#[derive(Default)]
struct State {
    /// Keep what was received, for the check (off in a soak, which would grow without end).
    record: bool,
    families: Vec<Family>,
    /// Codes received and never sent to the token endpoint.
    held_codes: Vec<String>,
    /// Codes sent for redemption whose answer the kill cut off.
    uncertain_codes: Vec<String>,
    /// Every JWT received (id_tokens, access tokens): each must verify after the restart.
    jwts: Vec<String>,
    /// Answers that were wrong while the provider was up (the first few) and how many.
    errors: Vec<String>,
    error_count: u64,
    /// Each step's time (µs) and the iterations begun, since the last report.
    latencies: Vec<u32>,
    iterations: u64,
}

impl State {
    fn to_json(&self) -> Value {
        let families: Vec<Value> = self
            .families
            .iter()
            .map(|f| {
                json!({"refresh_token": f.refresh_token, "access_token": f.access_token,
                       "uncertain": f.uncertain, "revoked": f.revoked})
            })
            .collect();
        json!({"families": families, "held_codes": self.held_codes,
               "uncertain_codes": self.uncertain_codes, "jwts": self.jwts,
               "errors": self.errors, "error_count": self.error_count})
    }

    fn jwt(&mut self, tokens: &Value, name: &str) {
        if self.record {
            self.jwts.push(text(tokens, name));
        }
    }

    fn keep(&mut self, family: Family) {
        if self.record {
            self.families.push(family);
        }
    }

    fn error(&mut self, e: String) {
        self.error_count += 1;
        if self.errors.len() < 50 {
            self.errors.push(e);
        }
    }

    /// The report of one window: steps, their p50/p99/max, the errors seen.
    fn window(&mut self, seconds: f64, errors_before: &mut u64) -> Value {
        let mut lat = std::mem::take(&mut self.latencies);
        lat.sort_unstable();
        let at = |q: f64| {
            lat.get(((lat.len() as f64 * q) as usize).min(lat.len().saturating_sub(1)))
                .map_or(0.0, |&us| f64::from(us) / 1000.0)
        };
        let errors = self.error_count - *errors_before;
        *errors_before = self.error_count;
        let iterations = std::mem::take(&mut self.iterations);
        json!({"iterations_per_s": iterations as f64 / seconds,
               "steps": lat.len(), "rate": (lat.len() as f64 / seconds).round(),
               "p50_ms": at(0.5), "p99_ms": at(0.99), "max_ms": at(1.0), "errors": errors,
               "last_error": if errors > 0 { self.errors.last().cloned() } else { None }})
    }
}

/// A small xorshift generator: which step a virtual user takes next.
struct Dice(u64);

impl Dice {
    fn one_in(&mut self, n: u64) -> bool {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0.is_multiple_of(n)
    }
}

/// What to do with the outcome of one step: go on, or stop (the provider went away).
fn settle(state: &Mutex<State>, failure: &Failure) -> bool {
    match failure {
        Failure::Transport(_) => false,
        Failure::Answer(e) => {
            state.lock().unwrap().error(e.clone());
            true
        }
    }
}

/// One step (a request, or a sign-in), timed.
async fn timed<T>(state: &Mutex<State>, step: impl Future<Output = T>) -> T {
    let start = Instant::now();
    let out = step.await;
    let us = u32::try_from(start.elapsed().as_micros()).unwrap_or(u32::MAX);
    state.lock().unwrap().latencies.push(us);
    out
}

/// How a virtual user paces itself: until `deadline`, at most one iteration per tick of
/// `ticks` (shared by all users) when there are ticks.
struct Pace<'a> {
    deadline: Instant,
    ticks: Option<&'a tokio::sync::Mutex<tokio::time::Interval>>,
}

async fn virtual_user(
    (app, service): (&Provider, &Provider),
    state: &Mutex<State>,
    pace: Pace<'_>,
    seed: u64,
) {
    let mut dice = Dice(seed | 1);
    let http = browser();
    let mut url = authorize_url(app, "");
    let mut pages = true;
    while Instant::now() < pace.deadline {
        if let Some(ticks) = pace.ticks {
            ticks.lock().await.tick().await;
        }
        state.lock().unwrap().iterations += 1;
        let code = match timed(state, authorize(&http, app, url.clone(), pages)).await {
            Ok(code) => code,
            Err(e) if settle(state, &e) => continue,
            Err(_) => return,
        };
        // Signed in and consented: from now on, codes come by the SSO session alone.
        url = authorize_url(app, "").replace("&prompt=consent", "");
        pages = false;
        if dice.one_in(5) {
            let mut s = state.lock().unwrap();
            if s.record {
                s.held_codes.push(code);
            }
            continue;
        }
        let tokens = match timed(state, exchange(&http, app, &code)).await {
            Ok(tokens) => tokens,
            Err(Failure::Transport(_)) => {
                state.lock().unwrap().uncertain_codes.push(code);
                return;
            }
            Err(e) => {
                settle(state, &e);
                continue;
            }
        };
        let mut family = Family {
            refresh_token: text(&tokens, "refresh_token"),
            access_token: text(&tokens, "access_token"),
            ..Family::default()
        };
        {
            let mut s = state.lock().unwrap();
            s.jwt(&tokens, "id_token");
            s.jwt(&tokens, "access_token");
        }
        for _ in 0..3 {
            let form = [
                ("grant_type", "refresh_token"),
                ("refresh_token", family.refresh_token.as_str()),
            ];
            match timed(state, token(&http, app, &form)).await {
                Ok(t) => {
                    let mut s = state.lock().unwrap();
                    s.jwt(&t, "id_token");
                    s.jwt(&t, "access_token");
                    family.refresh_token = text(&t, "refresh_token");
                    family.access_token = text(&t, "access_token");
                }
                Err(Failure::Transport(_)) => {
                    family.uncertain = true;
                    state.lock().unwrap().keep(family);
                    return;
                }
                Err(e) => {
                    settle(state, &e);
                }
            }
        }
        let userinfo = async {
            let response = http
                .get(app.endpoint("userinfo_endpoint"))
                .bearer_auth(&family.access_token)
                .send()
                .await?;
            match response.status().as_u16() {
                200 => Ok::<(), Failure>(()),
                status => Err(format!("userinfo answered {status}").into()),
            }
        };
        if let Err(e) = timed(state, userinfo).await
            && !settle(state, &e)
        {
            state.lock().unwrap().keep(family);
            return;
        }
        let form = [("grant_type", "client_credentials")];
        match timed(state, token(&http, service, &form)).await {
            Ok(t) => state.lock().unwrap().jwt(&t, "access_token"),
            Err(e) if settle(state, &e) => {}
            Err(_) => {
                state.lock().unwrap().keep(family);
                return;
            }
        }
        if dice.one_in(4) {
            let form = [
                ("token", family.refresh_token.as_str()),
                ("token_type_hint", "refresh_token"),
            ];
            match timed(
                state,
                post_as_client(&http, app, "revocation_endpoint", &form),
            )
            .await
            {
                Ok((200, _)) => family.revoked = true,
                Ok((status, body)) => {
                    let e = format!("revocation answered {status}: {body}");
                    state.lock().unwrap().error(e);
                }
                // Revoked or not: the check accepts either outcome.
                Err(_) => {
                    family.uncertain = true;
                    state.lock().unwrap().keep(family);
                    return;
                }
            }
        }
        state.lock().unwrap().keep(family);
    }
}

fn text(value: &Value, name: &str) -> String {
    value[name].as_str().unwrap_or_default().to_owned()
}

/// What the check found: counts of what was checked, and what failed.
#[derive(Default)]
struct Report {
    checked: std::collections::BTreeMap<&'static str, u64>,
    failures: Vec<String>,
}

impl Report {
    fn expect(&mut self, what: &'static str, ok: bool, detail: impl FnOnce() -> String) {
        *self.checked.entry(what).or_default() += 1;
        if !ok {
            self.failures.push(format!("{what}: {}", detail()));
        }
    }
}

fn invalid_grant(answer: &(u16, Value)) -> bool {
    answer.0 == 400 && answer.1["error"] == "invalid_grant"
}

async fn refresh(
    http: &reqwest::Client,
    app: &Provider,
    rt: &str,
) -> Result<(u16, Value), Failure> {
    let form = [("grant_type", "refresh_token"), ("refresh_token", rt)];
    post_as_client(http, app, "token_endpoint", &form).await
}

async fn redeem(
    http: &reqwest::Client,
    app: &Provider,
    code: &str,
) -> Result<(u16, Value), Failure> {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", app.redirect_uri.as_str()),
    ];
    post_as_client(http, app, "token_endpoint", &form).await
}

/// Whether a JWT issued after the restart verifies; an unknown kid (a key published since the
/// JWKS was read) makes it fetch the JWKS again, as a relying party does.
async fn verify_new(app: &mut Provider, answer: &(u16, Value)) -> Result<bool, Failure> {
    let jwt = answer.1["id_token"].as_str().unwrap_or_default();
    if answer.0 != 200 {
        return Ok(false);
    }
    if verify(app, jwt).is_ok() {
        return Ok(true);
    }
    app.reload_keys().await?;
    Ok(verify(app, jwt).is_ok())
}

async fn check(app: &mut Provider, state: &Value) -> Result<Report, Failure> {
    let http = browser();
    let mut report = Report::default();
    let list = |name: &str| state[name].as_array().cloned().unwrap_or_default();
    for jwt in list("jwts") {
        let jwt = jwt.as_str().unwrap_or_default();
        let verified = verify(app, jwt);
        report.expect(
            "JWTs received verify against the JWKS",
            verified.is_ok(),
            || format!("{verified:?}"),
        );
    }
    for family in list("families") {
        let rt = family["refresh_token"].as_str().unwrap_or_default();
        let answer = refresh(&http, app, rt).await?;
        if family["revoked"] == true {
            report.expect(
                "revoked grants stay revoked",
                invalid_grant(&answer),
                || format!("refresh answered {answer:?}"),
            );
            let at = family["access_token"].as_str().unwrap_or_default();
            let form = [("token", at)];
            let (_, body) = post_as_client(&http, app, "introspection_endpoint", &form).await?;
            report.expect(
                "access tokens of revoked grants are inactive",
                body["active"] == false,
                || format!("introspection answered {body}"),
            );
            continue;
        }
        let certain = family["uncertain"] == false;
        if certain || answer.0 == 200 {
            let ok = verify_new(app, &answer).await?;
            let what = if certain {
                "the last refresh token received refreshes"
            } else {
                "a cut-off request that did not take effect left the token live"
            };
            report.expect(what, ok, || format!("refresh answered {answer:?}"));
            // The head just received is the family's one live head: it refreshes too.
            let next = refresh(&http, app, &text(&answer.1, "refresh_token")).await?;
            report.expect("the new head refreshes again", next.0 == 200, || {
                format!("refresh answered {next:?}")
            });
        } else {
            report.expect(
                "a cut-off request that took effect: the token is refused",
                invalid_grant(&answer),
                || format!("refresh answered {answer:?}"),
            );
        }
    }
    for (name, held) in [("held_codes", true), ("uncertain_codes", false)] {
        for code in list(name) {
            let code = code.as_str().unwrap_or_default();
            let first = redeem(&http, app, code).await?;
            let redeemed = verify_new(app, &first).await?;
            if held {
                report.expect("codes never redeemed redeem once", redeemed, || {
                    format!("token answered {first:?}")
                });
            } else {
                report.expect(
                    "codes whose redemption was cut off: redeemed now or refused",
                    redeemed || invalid_grant(&first),
                    || format!("token answered {first:?}"),
                );
            }
            let second = redeem(&http, app, code).await?;
            report.expect("no code redeems twice", invalid_grant(&second), || {
                format!("token answered {second:?}")
            });
        }
    }
    Ok(report)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 || !["load", "check"].contains(&args[1].as_str()) {
        eprintln!("usage: crash load|check CONFIG STATE");
        std::process::exit(2);
    }
    let config: Value =
        serde_json::from_slice(&std::fs::read(&args[2]).expect("the config file")).expect("JSON");
    let pair = |name: &str| {
        let at = |i: usize| config[name][i].as_str().unwrap_or_default();
        (at(0), at(1))
    };
    let issuer = config["issuer"].as_str().expect("an issuer");
    let redirect_uri = config["redirect_uri"].as_str().expect("a redirect_uri");
    let discover = |client| Provider::discover(issuer, client, redirect_uri, pair("user"));
    if args[1] == "check" {
        let state: Value =
            serde_json::from_slice(&std::fs::read(&args[3]).expect("the state file"))
                .expect("JSON");
        let mut app = discover(pair("app")).await.expect("the restarted provider");
        match check(&mut app, &state).await {
            Ok(report) => {
                println!(
                    "{}",
                    json!({"checked": report.checked, "failures": report.failures})
                );
                if !report.failures.is_empty() {
                    std::process::exit(1);
                }
            }
            Err(e) => {
                eprintln!("crash check: the restarted provider failed: {e}");
                std::process::exit(1);
            }
        }
        return;
    }
    let (Ok(app), Ok(service)) = (discover(pair("app")).await, discover(pair("service")).await)
    else {
        // Killed before the load could start: nothing was received, nothing to check.
        std::fs::write(&args[3], State::default().to_json().to_string()).expect("the state file");
        return;
    };
    let seconds = config["seconds"].as_f64().unwrap_or(10.0);
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let (app, service) = (Arc::new(app), Arc::new(service));
    let state = Arc::new(Mutex::new(State {
        record: config["record"].as_bool().unwrap_or(true),
        ..State::default()
    }));
    // A soak paces itself: `rate` iterations per second across all users.
    let ticks = config["rate"].as_f64().filter(|r| *r > 0.0).map(|rate| {
        let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Arc::new(tokio::sync::Mutex::new(ticks))
    });
    // One JSON line per window on stdout: how many steps, how fast, errors.
    if let Some(window) = config["window"].as_f64().filter(|w| *w > 0.0) {
        let state = state.clone();
        tokio::spawn(async move {
            let mut errors_before = 0;
            loop {
                tokio::time::sleep(Duration::from_secs_f64(window)).await;
                let line = state.lock().unwrap().window(window, &mut errors_before);
                println!("{line}");
            }
        });
    }
    let concurrency = config["concurrency"].as_u64().unwrap_or(8);
    let users: Vec<_> = (0..concurrency)
        .map(|n| {
            let (app, service, state, ticks) =
                (app.clone(), service.clone(), state.clone(), ticks.clone());
            let seed = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ u64::from(std::process::id());
            tokio::spawn(async move {
                let pace = Pace {
                    deadline,
                    ticks: ticks.as_deref(),
                };
                virtual_user((&app, &service), &state, pace, seed).await
            })
        })
        .collect();
    for user in users {
        user.await.expect("a virtual user");
    }
    let state = state.lock().unwrap().to_json();
    std::fs::write(&args[3], state.to_string()).expect("the state file");
}
