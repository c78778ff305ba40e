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

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::header::LOCATION;
use serde_json::Value;

struct Provider {
    authorize: String,
    token: String,
    keys: Vec<Value>,
    client_id: String,
    client_secret: String,
    redirect_uri: String,
    user: String,
    password: String,
}

type Failure = String;

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(4)
        .build()
        .expect("an HTTP client")
}

fn param(url: &str, name: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    parsed
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The first POST form of a page: its action and fields, with the credentials and approval
/// filled in where the form asks for them.
fn fill_form(html: &str, p: &Provider) -> Result<(String, Vec<(String, String)>), Failure> {
    let start = html.find("<form").ok_or("a page without a form")?;
    let form = &html[start
        ..html[start..]
            .find("</form>")
            .map_or(html.len(), |e| start + e)];
    let attr = |tag: &str, name: &str| -> Option<String> {
        let marker = format!("{name}=\"");
        let at = tag.find(&marker)? + marker.len();
        Some(unescape(&tag[at..at + tag[at..].find('"')?]))
    };
    let action = attr(&form[..form.find('>').unwrap_or(form.len())], "action")
        .ok_or("a form without an action")?;
    let mut fields = Vec::new();
    for tag in form.split("<input").skip(1) {
        let tag = &tag[..tag.find('>').unwrap_or(tag.len())];
        let Some(name) = attr(tag, "name") else {
            continue;
        };
        let value = match name.as_str() {
            "username" | "login" => p.user.clone(),
            "password" => p.password.clone(),
            _ => attr(tag, "value").unwrap_or_default(),
        };
        fields.push((name, value));
    }
    if form.contains("name=\"decision\"") {
        fields.push(("decision".into(), "approve".into()));
    }
    Ok((action, fields))
}

fn unescape(text: &str) -> String {
    text.replace("&#x2F;", "/")
        .replace("&#47;", "/")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Follows an authorization from `url` until the provider redirects to the client; returns
/// the code. With `pages_allowed` false, any page (login, consent) is a failure.
async fn authorize(
    http: &reqwest::Client,
    p: &Provider,
    mut url: String,
    pages_allowed: bool,
) -> Result<String, Failure> {
    for _ in 0..12 {
        let response = http.get(&url).send().await.map_err(|e| e.to_string())?;
        let mut response = response;
        loop {
            let status = response.status();
            if status.is_redirection() {
                let location = response
                    .headers()
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .ok_or("a redirect without Location")?;
                let next = response
                    .url()
                    .join(location)
                    .map_err(|e| e.to_string())?
                    .to_string();
                if next.starts_with(&p.redirect_uri) {
                    return param(&next, "code").ok_or_else(|| format!("no code in {next}"));
                }
                url = next;
                break;
            }
            if status != 200 || !pages_allowed {
                let body = response.text().await.unwrap_or_default();
                return Err(format!(
                    "{status} at {url}: {}",
                    &body[..body.len().min(200)]
                ));
            }
            let page_url = response.url().clone();
            let html = response.text().await.map_err(|e| e.to_string())?;
            let (action, fields) = fill_form(&html, p)?;
            let target = page_url.join(&action).map_err(|e| e.to_string())?;
            response = http
                .post(target)
                .form(&fields)
                .send()
                .await
                .map_err(|e| e.to_string())?;
        }
    }
    Err("too many steps".into())
}

fn authorize_url(p: &Provider, extra: &str) -> String {
    let redirect: String =
        url::form_urlencoded::byte_serialize(p.redirect_uri.as_bytes()).collect();
    format!(
        "{}?response_type=code&client_id={}&redirect_uri={redirect}&scope=openid%20profile%20offline_access&state=s&nonce=n&prompt=consent{extra}",
        p.authorize, p.client_id
    )
}

async fn token(
    http: &reqwest::Client,
    p: &Provider,
    form: &[(&str, &str)],
) -> Result<Value, Failure> {
    let response = http
        .post(&p.token)
        .basic_auth(&p.client_id, Some(&p.client_secret))
        .form(form)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let body: Value = response.json().await.map_err(|e| e.to_string())?;
    if status != 200 {
        return Err(format!("token endpoint answered {status}: {body}"));
    }
    Ok(body)
}

async fn exchange(http: &reqwest::Client, p: &Provider, code: &str) -> Result<Value, Failure> {
    let tokens = token(
        http,
        p,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &p.redirect_uri),
        ],
    )
    .await?;
    let id_token = tokens["id_token"].as_str().ok_or("no id_token")?;
    verify(p, id_token)?;
    Ok(tokens)
}

/// Checks a JWT's signature against the provider's JWKS, as a relying party does.
fn verify(p: &Provider, jwt: &str) -> Result<(), Failure> {
    let parts: Vec<&str> = jwt.split('.').collect();
    let decode = |s: &str| URL_SAFE_NO_PAD.decode(s).map_err(|e| e.to_string());
    let header: Value = serde_json::from_slice(&decode(parts[0])?).map_err(|e| e.to_string())?;
    let key = p
        .keys
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .ok_or("kid not in the JWKS")?;
    let message = format!("{}.{}", parts[0], parts[1]);
    let signature = decode(parts.get(2).ok_or("not a JWS")?)?;
    let b64 = |name: &str| decode(key[name].as_str().unwrap_or_default());
    let ok = match header["alg"].as_str() {
        Some("RS256") => ring::signature::RsaPublicKeyComponents {
            n: b64("n")?,
            e: b64("e")?,
        }
        .verify(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            message.as_bytes(),
            &signature,
        )
        .is_ok(),
        Some("ES256") => {
            let mut point = vec![4];
            point.extend(b64("x")?);
            point.extend(b64("y")?);
            ring::signature::UnparsedPublicKey::new(
                &ring::signature::ECDSA_P256_SHA256_FIXED,
                point,
            )
            .verify(message.as_bytes(), &signature)
            .is_ok()
        }
        other => return Err(format!("unexpected alg {other:?}")),
    };
    if ok {
        Ok(())
    } else {
        Err("id_token signature does not verify".into())
    }
}

/// One signed-in browser and its first token response.
async fn signed_in(p: &Provider) -> Result<(reqwest::Client, Value), Failure> {
    let http = browser();
    let code = authorize(&http, p, authorize_url(p, ""), true).await?;
    let tokens = exchange(&http, p, &code).await?;
    Ok((http, tokens))
}

async fn discover(issuer: &str) -> Result<(String, String, Vec<Value>), Failure> {
    let http = browser();
    let get = |url: String| {
        let http = http.clone();
        async move {
            http.get(url)
                .send()
                .await
                .map_err(|e| e.to_string())?
                .json::<Value>()
                .await
                .map_err(|e| e.to_string())
        }
    };
    let meta = get(format!("{issuer}/.well-known/openid-configuration")).await?;
    let s = |name: &str| meta[name].as_str().unwrap_or_default().to_owned();
    let jwks = get(s("jwks_uri")).await?;
    let keys = jwks["keys"].as_array().cloned().unwrap_or_default();
    Ok((s("authorization_endpoint"), s("token_endpoint"), keys))
}

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
    let (authorize_endpoint, token_endpoint, keys) = discover(&args[1]).await.expect("discovery");
    let p = Arc::new(Provider {
        authorize: authorize_endpoint,
        token: token_endpoint,
        keys,
        client_id: args[5].clone(),
        client_secret: args[6].clone(),
        redirect_uri: args[7].clone(),
        user: args[8].clone(),
        password: args[9].clone(),
    });
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
                                .ok_or_else(|| "no new refresh token".to_string())
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
                        first_error.lock().unwrap().get_or_insert(e);
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
