//! A web app that signs its users in with an OpenID Connect provider such as Tessera, using
//! the `openidconnect` crate: "Sign in" sends the browser to the provider (authorization code
//! flow with PKCE, `state` and `nonce`), the callback exchanges the code server-side and
//! verifies the id_token against the provider's JWKS, and the home page shows the id_token's
//! claims, the access token's claims and the userinfo answer, with "Refresh" (a refresh-token
//! grant) and "Sign out" (RP-initiated logout).
//!
//! Mount it with [`routes`] on an actix-web `App` (at `/`, or in a `web::scope`); Tessera
//! mounts it at `/demo` when started with `--demo`, and `main.rs` runs it on its own.

mod session;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use base64::Engine;
use openidconnect::core::{CoreClient, CoreIdToken, CoreUserInfoClaims};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndSessionUrl, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, IssuerUrl, LogoutRequest, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, PostLogoutRedirectUrl, ProviderMetadataWithLogout,
    RedirectUrl, RefreshToken, Scope, TokenResponse, reqwest,
};
use serde::Deserialize;

use session::{Pending, Sessions, SignedIn};

/// The cookie that names this browser's session with the app (not with the provider).
const COOKIE: &str = "rp_session";
/// Provider metadata and keys are fetched again after this long, or at once when an id_token
/// names a key the cached set lacks (a rotation).
const METADATA_MAX_AGE: Duration = Duration::from_secs(300);

/// What the app needs to know about itself and its provider.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The provider's issuer URL; its discovery document is read from there.
    pub issuer: String,
    pub client_id: String,
    /// None for a public client (PKCE alone).
    pub client_secret: Option<String>,
    /// This app's public URL without a trailing slash, e.g. `http://localhost:3000` or
    /// `http://127.0.0.1:8080/demo`. The client must be registered with `{base_url}/callback`
    /// as a redirect URI and `{base_url}/` as a post-logout redirect URI.
    pub base_url: String,
    /// Scopes asked for besides `openid`.
    pub scopes: Vec<String>,
}

impl Settings {
    pub fn redirect_uri(&self) -> String {
        format!("{}/callback", self.base_url)
    }

    pub fn post_logout_redirect_uri(&self) -> String {
        format!("{}/", self.base_url)
    }

    /// The path the app's routes live under (`` at the root, else e.g. `/demo`).
    fn base_path(&self) -> String {
        url::Url::parse(&self.base_url)
            .map(|u| u.path().trim_end_matches('/').to_owned())
            .unwrap_or_default()
    }
}

type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The provider as discovered: a client configured from its metadata and keys.
struct Provider {
    client: Client,
    end_session: Option<EndSessionUrl>,
    fetched: Instant,
}

/// The app: its settings, the discovered provider and the browsers' sessions.
pub struct RelyingParty {
    settings: Settings,
    base_path: String,
    http: reqwest::Client,
    provider: Mutex<Option<Arc<Provider>>>,
    sessions: Sessions,
}

impl RelyingParty {
    pub fn new(settings: Settings) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            // The openidconnect crate asks for no redirects (a redirect could point anywhere).
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        IssuerUrl::new(settings.issuer.clone())
            .map_err(|e| format!("issuer {:?} is not a URL: {e}", settings.issuer))?;
        RedirectUrl::new(settings.redirect_uri())
            .map_err(|e| format!("base URL {:?} is not a URL: {e}", settings.base_url))?;
        Ok(Self {
            base_path: settings.base_path(),
            settings,
            http,
            provider: Mutex::new(None),
            sessions: Sessions::default(),
        })
    }

    /// The discovered provider, fetching its metadata and keys when there is no fresh copy
    /// (or `refetch` asks for one).
    async fn provider(&self, refetch: bool) -> Result<Arc<Provider>, Problem> {
        if !refetch
            && let Some(p) = self.cached_provider()
            && p.fetched.elapsed() < METADATA_MAX_AGE
        {
            return Ok(p);
        }
        let issuer = IssuerUrl::new(self.settings.issuer.clone()).map_err(Problem::provider)?;
        let metadata = ProviderMetadataWithLogout::discover_async(issuer, &self.http)
            .await
            .map_err(Problem::provider)?;
        let end_session = metadata.additional_metadata().end_session_endpoint.clone();
        let redirect = RedirectUrl::new(self.settings.redirect_uri()).map_err(Problem::provider)?;
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.settings.client_id.clone()),
            self.settings.client_secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(redirect);
        let provider = Arc::new(Provider {
            client,
            end_session,
            fetched: Instant::now(),
        });
        if let Ok(mut cached) = self.provider.lock() {
            *cached = Some(provider.clone());
        }
        Ok(provider)
    }

    fn cached_provider(&self) -> Option<Arc<Provider>> {
        self.provider.lock().ok().and_then(|p| p.clone())
    }

    /// Verifies an id_token's signature, issuer, audience, expiry and nonce (`None` after a
    /// refresh, which carries none), fetching the keys again once if it names an unknown one.
    async fn verified_claims(
        &self,
        id_token: &CoreIdToken,
        nonce: Option<&Nonce>,
    ) -> Result<serde_json::Value, Problem> {
        let check = |provider: &Provider| {
            let verifier = provider.client.id_token_verifier();
            let claims = match nonce {
                Some(n) => id_token.claims(&verifier, n),
                None => id_token.claims(&verifier, |_: Option<&Nonce>| Ok(())),
            };
            claims.map(|c| serde_json::to_value(c).unwrap_or_default())
        };
        let provider = self.provider(false).await?;
        match check(&provider) {
            Ok(claims) => Ok(claims),
            Err(_) => check(&*self.provider(true).await?).map_err(Problem::token),
        }
    }

    /// The userinfo answer for an access token, as JSON.
    async fn userinfo(&self, provider: &Provider, access_token: &str) -> Option<serde_json::Value> {
        let request = provider
            .client
            .user_info(
                openidconnect::AccessToken::new(access_token.to_owned()),
                None,
            )
            .ok()?;
        let claims: CoreUserInfoClaims = request.request_async(&self.http).await.ok()?;
        serde_json::to_value(claims).ok()
    }
}

/// The app's routes, relative to wherever they are mounted.
pub fn routes(rp: web::Data<RelyingParty>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(rp)
            .route("/", web::get().to(home))
            .route("/login", web::get().to(login))
            .route("/callback", web::get().to(callback))
            .route("/refresh", web::post().to(refresh))
            .route("/logout", web::post().to(logout))
            .route("/style.css", web::get().to(stylesheet));
    }
}

#[derive(Template)]
#[template(path = "home.html")]
struct Home<'a> {
    base: &'a str,
    issuer: &'a str,
    client_id: &'a str,
    notice: Option<String>,
    csrf: String,
    signed_in: Option<View>,
}

/// What the home page shows of a signed-in user's tokens.
struct View {
    name: String,
    id_token_claims: String,
    access_token_claims: String,
    access_token: String,
    userinfo: String,
    has_refresh_token: bool,
    account_url: String,
}

#[derive(Template)]
#[template(path = "problem.html")]
struct ProblemPage<'a> {
    base: &'a str,
    title: &'a str,
    detail: &'a str,
}

/// Something that went wrong, shown on a page of its own.
#[derive(Debug)]
struct Problem {
    status: StatusCode,
    title: &'static str,
    detail: String,
}

impl Problem {
    fn provider(e: impl std::fmt::Display) -> Self {
        Self {
            status: StatusCode::BAD_GATEWAY,
            title: "The identity provider could not be reached",
            detail: e.to_string(),
        }
    }

    fn token(e: impl std::fmt::Display) -> Self {
        Self {
            status: StatusCode::BAD_GATEWAY,
            title: "The identity provider's answer was refused",
            detail: e.to_string(),
        }
    }

    fn request(detail: &str) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            title: "This sign-in cannot be completed",
            detail: detail.to_owned(),
        }
    }
}

fn page(
    rp: &RelyingParty,
    status: StatusCode,
    body: Result<String, askama::Error>,
) -> HttpResponse {
    let origin = url::Url::parse(&rp.settings.issuer)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default();
    match body {
        Ok(body) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .insert_header((
                header::CONTENT_SECURITY_POLICY,
                format!("default-src 'none'; style-src 'self'; form-action 'self' {origin}; frame-ancestors 'none'; base-uri 'none'"),
            ))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::REFERRER_POLICY, "no-referrer"))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .body(body),
        Err(_) => HttpResponse::InternalServerError().body("the page could not be rendered"),
    }
}

fn problem_page(rp: &RelyingParty, problem: &Problem) -> HttpResponse {
    let body = ProblemPage {
        base: &rp.base_path,
        title: problem.title,
        detail: &problem.detail,
    }
    .render();
    page(rp, problem.status, body)
}

fn redirect(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

fn session_id(req: &HttpRequest) -> Option<String> {
    req.cookie(COOKIE).map(|c| c.value().to_owned())
}

fn session_cookie(rp: &RelyingParty, id: &str) -> Cookie<'static> {
    let path = if rp.base_path.is_empty() {
        "/".to_owned()
    } else {
        rp.base_path.clone()
    };
    Cookie::build(COOKIE, id.to_owned())
        .path(path)
        .http_only(true)
        .secure(rp.settings.base_url.starts_with("https://"))
        .same_site(SameSite::Lax)
        .finish()
}

async fn home(req: HttpRequest, rp: web::Data<RelyingParty>) -> HttpResponse {
    let session = session_id(&req).and_then(|id| rp.sessions.snapshot(&id, true));
    let (notice, csrf, signed_in) = match session {
        Some(s) => (s.notice, s.csrf, s.signed_in.map(|t| view(&rp, &t))),
        None => (None, String::new(), None),
    };
    let body = Home {
        base: &rp.base_path,
        issuer: &rp.settings.issuer,
        client_id: &rp.settings.client_id,
        notice,
        csrf,
        signed_in,
    }
    .render();
    page(&rp, StatusCode::OK, body)
}

fn view(rp: &RelyingParty, tokens: &SignedIn) -> View {
    let name = ["name", "preferred_username", "sub"]
        .iter()
        .find_map(|k| tokens.id_token_claims[k].as_str())
        .unwrap_or("you")
        .to_owned();
    View {
        name,
        id_token_claims: pretty(&tokens.id_token_claims),
        access_token_claims: jwt_payload(&tokens.access_token)
            .map_or_else(|| "(not a JWT)".to_owned(), |c| pretty(&c)),
        access_token: tokens.access_token.clone(),
        userinfo: tokens
            .userinfo
            .as_ref()
            .map_or_else(|| "(userinfo did not answer)".to_owned(), pretty),
        has_refresh_token: tokens.refresh_token.is_some(),
        account_url: format!(
            "{}/account/sessions",
            rp.settings.issuer.trim_end_matches('/')
        ),
    }
}

fn pretty(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

/// The claims of a JWT, decoded but not verified: for display only (the API that receives
/// the access token verifies it).
fn jwt_payload(token: &str) -> Option<serde_json::Value> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// "Sign in": a fresh state, nonce and PKCE verifier, kept in this browser's session, and a
/// redirect to the provider.
async fn login(req: HttpRequest, rp: web::Data<RelyingParty>) -> HttpResponse {
    let provider = match rp.provider(false).await {
        Ok(p) => p,
        Err(problem) => return problem_page(&rp, &problem),
    };
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = provider.client.authorize_url(
        openidconnect::core::CoreAuthenticationFlow::AuthorizationCode,
        CsrfToken::new_random,
        Nonce::new_random,
    );
    for scope in &rp.settings.scopes {
        request = request.add_scope(Scope::new(scope.clone()));
    }
    let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
    let pending = Pending {
        state: state.secret().clone(),
        nonce: nonce.secret().clone(),
        verifier: verifier.secret().clone(),
    };
    let id = rp.sessions.start(session_id(&req).as_deref(), pending);
    let mut response = redirect(url.as_str());
    match response.add_cookie(&session_cookie(&rp, &id)) {
        Ok(()) => response,
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// The provider sends the browser back here: the state must be the one this browser was
/// given, then the code is exchanged (with the PKCE verifier) and the id_token verified.
async fn callback(
    req: HttpRequest,
    rp: web::Data<RelyingParty>,
    query: web::Query<CallbackQuery>,
) -> HttpResponse {
    match complete_sign_in(&req, &rp, query.into_inner()).await {
        Ok(()) => redirect(&format!("{}/", rp.base_path)),
        Err(problem) => problem_page(&rp, &problem),
    }
}

async fn complete_sign_in(
    req: &HttpRequest,
    rp: &RelyingParty,
    query: CallbackQuery,
) -> Result<(), Problem> {
    let id = session_id(req)
        .ok_or_else(|| Problem::request("this browser did not start a sign-in here"))?;
    let pending = rp
        .sessions
        .take_pending(&id)
        .ok_or_else(|| Problem::request("no sign-in is in progress in this browser"))?;
    let state_matches = query
        .state
        .as_deref()
        .is_some_and(|s| session::same(s, &pending.state));
    if !state_matches {
        return Err(Problem::request(
            "the state parameter does not match the one this sign-in started with",
        ));
    }
    if let Some(error) = query.error {
        let description = query.error_description.unwrap_or_default();
        return Err(Problem::request(&format!(
            "the provider answered {error}: {description}"
        )));
    }
    let code = query
        .code
        .ok_or_else(|| Problem::request("the provider sent no code"))?;
    let provider = rp.provider(false).await?;
    let tokens = provider
        .client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(Problem::provider)?
        .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier))
        .request_async(&rp.http)
        .await
        .map_err(Problem::token)?;
    let id_token = tokens
        .id_token()
        .ok_or_else(|| Problem::token("the token response has no id_token"))?;
    let claims = rp
        .verified_claims(id_token, Some(&Nonce::new(pending.nonce)))
        .await?;
    let access_token = tokens.access_token().secret().clone();
    let userinfo = rp.userinfo(&provider, &access_token).await;
    rp.sessions.sign_in(
        &id,
        SignedIn {
            id_token: id_token.to_string(),
            id_token_claims: claims,
            access_token,
            refresh_token: tokens.refresh_token().map(|t| t.secret().clone()),
            userinfo,
        },
    );
    Ok(())
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

/// "Refresh": a refresh-token grant; the provider rotates the refresh token.
async fn refresh(
    req: HttpRequest,
    rp: web::Data<RelyingParty>,
    form: web::Form<CsrfForm>,
) -> HttpResponse {
    let Some((id, tokens)) = signed_in(&req, &rp, &form.csrf) else {
        return problem_page(&rp, &Problem::request("sign in first (or reload the page)"));
    };
    let notice = match refreshed(&rp, tokens).await {
        Ok(next) => {
            rp.sessions.sign_in(&id, next);
            "The tokens were refreshed: a new access token and a new refresh token.".to_owned()
        }
        Err(problem) => {
            rp.sessions.sign_out(&id);
            format!(
                "The refresh was refused ({}), so you are signed out here. Sign in again.",
                problem.detail
            )
        }
    };
    rp.sessions.notify(&id, notice);
    redirect(&format!("{}/", rp.base_path))
}

async fn refreshed(rp: &RelyingParty, tokens: SignedIn) -> Result<SignedIn, Problem> {
    let refresh_token = tokens
        .refresh_token
        .clone()
        .ok_or_else(|| Problem::request("the provider issued no refresh token"))?;
    let provider = rp.provider(false).await?;
    let answer = provider
        .client
        .exchange_refresh_token(&RefreshToken::new(refresh_token.clone()))
        .map_err(Problem::provider)?
        .request_async(&rp.http)
        .await
        .map_err(Problem::token)?;
    let (id_token, id_token_claims) = match answer.id_token() {
        Some(t) => (t.to_string(), rp.verified_claims(t, None).await?),
        None => (tokens.id_token, tokens.id_token_claims),
    };
    let access_token = answer.access_token().secret().clone();
    Ok(SignedIn {
        userinfo: rp.userinfo(&provider, &access_token).await,
        id_token,
        id_token_claims,
        access_token,
        refresh_token: answer
            .refresh_token()
            .map(|t| t.secret().clone())
            .or(Some(refresh_token)),
    })
}

/// "Sign out": forget the tokens here, then let the provider end its session too
/// (RP-initiated logout with the id_token as hint) and send the browser back to the home page.
async fn logout(
    req: HttpRequest,
    rp: web::Data<RelyingParty>,
    form: web::Form<CsrfForm>,
) -> HttpResponse {
    let Some((id, tokens)) = signed_in(&req, &rp, &form.csrf) else {
        return redirect(&format!("{}/", rp.base_path));
    };
    rp.sessions.sign_out(&id);
    let provider = match rp.provider(false).await {
        Ok(p) => p,
        Err(problem) => return problem_page(&rp, &problem),
    };
    let (Some(end_session), Ok(back), Ok(hint)) = (
        provider.end_session.clone(),
        PostLogoutRedirectUrl::new(rp.settings.post_logout_redirect_uri()),
        tokens.id_token.parse::<CoreIdToken>(),
    ) else {
        return redirect(&format!("{}/", rp.base_path));
    };
    let url = LogoutRequest::from(end_session)
        .set_id_token_hint(&hint)
        .set_client_id(ClientId::new(rp.settings.client_id.clone()))
        .set_post_logout_redirect_uri(back)
        .http_get_url();
    redirect(url.as_str())
}

/// The session's tokens, if the browser is signed in and the form's CSRF token is its own.
fn signed_in(req: &HttpRequest, rp: &RelyingParty, csrf: &str) -> Option<(String, SignedIn)> {
    let id = session_id(req)?;
    let session = rp.sessions.snapshot(&id, false)?;
    if !session::same(csrf, &session.csrf) {
        return None;
    }
    Some((id, session.signed_in?))
}

async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(include_str!("../templates/style.css"))
}
