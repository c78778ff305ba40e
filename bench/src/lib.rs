//! What the benchmark's drivers share: an OpenID Connect client that discovers a provider,
//! follows its redirects, fills its HTML forms (username and password, then "approve"),
//! redeems codes and verifies JWTs against the provider's JWKS, as a relying party does.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::header::LOCATION;
use serde_json::Value;

pub struct Provider {
    /// The discovery document.
    pub meta: Value,
    pub keys: Vec<Value>,
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uri: String,
    pub user: String,
    pub password: String,
}

/// Why a step failed: the connection (the provider went away mid-request) or its answer.
#[derive(Debug)]
pub enum Failure {
    Transport(String),
    Answer(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Transport(e) => write!(f, "transport: {e}"),
            Failure::Answer(e) => f.write_str(e),
        }
    }
}

impl From<reqwest::Error> for Failure {
    fn from(e: reqwest::Error) -> Self {
        Failure::Transport(e.to_string())
    }
}

impl From<String> for Failure {
    fn from(e: String) -> Self {
        Failure::Answer(e)
    }
}

impl From<&str> for Failure {
    fn from(e: &str) -> Self {
        Failure::Answer(e.to_owned())
    }
}

pub fn browser() -> reqwest::Client {
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
pub async fn authorize(
    http: &reqwest::Client,
    p: &Provider,
    mut url: String,
    pages_allowed: bool,
) -> Result<String, Failure> {
    for _ in 0..12 {
        let response = http.get(&url).send().await?;
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
                    return param(&next, "code").ok_or_else(|| format!("no code in {next}").into());
                }
                url = next;
                break;
            }
            if status != 200 || !pages_allowed {
                let body = response.text().await.unwrap_or_default();
                return Err(format!("{status} at {url}: {}", &body[..body.len().min(200)]).into());
            }
            let page_url = response.url().clone();
            let html = response.text().await?;
            let (action, fields) = fill_form(&html, p)?;
            let target = page_url.join(&action).map_err(|e| e.to_string())?;
            response = http.post(target).form(&fields).send().await?;
        }
    }
    Err("too many steps".into())
}

pub fn authorize_url(p: &Provider, extra: &str) -> String {
    let redirect: String =
        url::form_urlencoded::byte_serialize(p.redirect_uri.as_bytes()).collect();
    format!(
        "{}?response_type=code&client_id={}&redirect_uri={redirect}&scope=openid%20profile%20offline_access&state=s&nonce=n&prompt=consent{extra}",
        p.endpoint("authorization_endpoint"),
        p.client_id
    )
}

/// A POST to one of the provider's endpoints as the client (Basic auth): the status and the
/// JSON body (null when there is none).
pub async fn post_as_client(
    http: &reqwest::Client,
    p: &Provider,
    endpoint: &str,
    form: &[(&str, &str)],
) -> Result<(u16, Value), Failure> {
    let response = http
        .post(p.endpoint(endpoint))
        .basic_auth(&p.client_id, Some(&p.client_secret))
        .form(form)
        .send()
        .await?;
    let status = response.status().as_u16();
    let body = response.bytes().await?;
    // Revocation answers 200 with an empty body.
    let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
    Ok((status, json))
}

pub async fn token(
    http: &reqwest::Client,
    p: &Provider,
    form: &[(&str, &str)],
) -> Result<Value, Failure> {
    let (status, body) = post_as_client(http, p, "token_endpoint", form).await?;
    if status != 200 {
        return Err(format!("token endpoint answered {status}: {body}").into());
    }
    Ok(body)
}

pub async fn exchange(http: &reqwest::Client, p: &Provider, code: &str) -> Result<Value, Failure> {
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
pub fn verify(p: &Provider, jwt: &str) -> Result<(), Failure> {
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
        other => return Err(format!("unexpected alg {other:?}").into()),
    };
    if ok {
        Ok(())
    } else {
        Err("signature does not verify".into())
    }
}

/// One signed-in browser and its first token response.
pub async fn signed_in(p: &Provider) -> Result<(reqwest::Client, Value), Failure> {
    let http = browser();
    let code = authorize(&http, p, authorize_url(p, ""), true).await?;
    let tokens = exchange(&http, p, &code).await?;
    Ok((http, tokens))
}

impl Provider {
    /// Discovers the provider at `issuer` (its metadata and JWKS) for one client and user.
    pub async fn discover(
        issuer: &str,
        client: (&str, &str),
        redirect_uri: &str,
        user: (&str, &str),
    ) -> Result<Provider, Failure> {
        let meta: Value = browser()
            .get(format!("{issuer}/.well-known/openid-configuration"))
            .send()
            .await?
            .json()
            .await?;
        let mut provider = Provider {
            keys: Vec::new(),
            meta,
            client_id: client.0.to_owned(),
            client_secret: client.1.to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            user: user.0.to_owned(),
            password: user.1.to_owned(),
        };
        provider.reload_keys().await?;
        Ok(provider)
    }

    /// Reads the JWKS again.
    pub async fn reload_keys(&mut self) -> Result<(), Failure> {
        let jwks: Value = browser()
            .get(self.endpoint("jwks_uri"))
            .send()
            .await?
            .json()
            .await?;
        self.keys = jwks["keys"].as_array().cloned().unwrap_or_default();
        Ok(())
    }

    /// An endpoint's URL from the discovery document ("" when it has none).
    pub fn endpoint(&self, name: &str) -> &str {
        self.meta[name].as_str().unwrap_or_default()
    }
}
