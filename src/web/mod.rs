//! The web adapter: routes to thin handlers (`handlers/`), which extract the request
//! (`extract`, `cookies`), make one call into the core and render the answer (`respond`,
//! `views`, `errors`). Nothing here decides a protocol rule.

mod cookies;
mod errors;
mod extract;
mod handlers;
mod middleware;
mod render;
mod respond;
pub mod state;
mod views;

use std::net::TcpListener;

use actix_web::http::header;
use actix_web::{App, HttpResponse, HttpServer, web};

use handlers::{
    account, admin, authorize, consent, discovery, health, introspect, jwks, login, logout, mfa,
    par, passkeys, revoke, token, userinfo,
};
use state::AppState;

/// The HTTP server on an already-bound listener (bind first, read the port, then serve),
/// over HTTPS when given a TLS configuration.
/// With `demo`, the demo relying party (`examples/rp-web`) is served under `/demo/`.
pub fn server(
    state: web::Data<AppState>,
    listener: TcpListener,
    tls: Option<rustls::ServerConfig>,
    demo: Option<web::Data<rp_web::RelyingParty>>,
) -> std::io::Result<actix_web::dev::Server> {
    // The connection limit is per worker: no more workers than connections allowed.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (workers, connections) = match state.config.max_connections {
        0 => (cores, usize::MAX),
        total => (cores.min(total), total.div_ceil(cores.min(total))),
    };
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .wrap(actix_web::middleware::from_fn(middleware::around_request))
            .configure(|cfg| {
                if let Some(rp) = demo.clone() {
                    cfg.route("/demo", web::get().to(to_demo))
                        .service(web::scope("/demo").configure(rp_web::routes(rp)));
                }
            })
            .configure(routes)
    })
    .workers(workers)
    // Bounded: each open connection holds buffers; the excess waits in the accept queue.
    .max_connections(connections);
    let server = match tls {
        Some(config) => server.listen_rustls_0_23(listener, config)?,
        None => server.listen(listener)?,
    };
    // SIGTERM or SIGINT: stop accepting, finish in-flight requests (up to 10 s).
    Ok(server.shutdown_timeout(10).run())
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::PayloadConfig::new(middleware::MAX_BODY))
        .route(
            "/.well-known/openid-configuration",
            web::get().to(discovery::openid_configuration),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            web::get().to(discovery::oauth_metadata),
        )
        .route("/.well-known/jwks.json", web::get().to(jwks::jwks))
        .route("/authorize", web::get().to(authorize::authorize_get))
        .route("/authorize", web::post().to(authorize::authorize_post))
        .route("/login", web::get().to(login::login_page))
        .route("/login", web::post().to(login::login_submit))
        .route(
            "/login/second-factor",
            web::get().to(mfa::second_factor_page),
        )
        .route(
            "/login/second-factor",
            web::post().to(mfa::second_factor_submit),
        )
        .route(
            "/login/second-factor/passkey",
            web::post().to(mfa::second_factor_passkey),
        )
        .route("/login/passkey", web::post().to(passkeys::sign_in))
        .route("/login/enroll", web::get().to(mfa::enroll_page))
        .route("/login/enroll", web::post().to(mfa::enroll_submit))
        .route("/login/resume", web::get().to(mfa::resume))
        .route("/account/mfa", web::get().to(mfa::account_page))
        .route("/account/mfa/totp", web::post().to(mfa::account_enroll))
        .route(
            "/account/mfa/totp/confirm",
            web::post().to(mfa::account_confirm),
        )
        .route(
            "/account/mfa/recovery-codes",
            web::post().to(mfa::account_recovery_codes),
        )
        .route("/account/mfa/remove", web::post().to(mfa::account_remove))
        .route(
            "/account/mfa/totp/remove",
            web::post().to(mfa::account_remove_totp),
        )
        .route("/account/passkeys", web::post().to(passkeys::add))
        .route("/account/passkeys/remove", web::post().to(passkeys::remove))
        .route("/consent", web::get().to(consent::consent_page))
        .route("/consent", web::post().to(consent::consent_submit))
        .route("/token", web::post().to(token::token))
        .route("/par", web::post().to(par::push))
        .route("/revoke", web::post().to(revoke::revoke))
        .route("/introspect", web::post().to(introspect::introspect))
        .route("/userinfo", web::get().to(userinfo::userinfo_get))
        .route("/userinfo", web::post().to(userinfo::userinfo_post))
        .route("/account", web::get().to(account::account))
        .route("/account/login", web::get().to(account::login_page))
        .route("/account/login", web::post().to(account::login_submit))
        .route("/account/sessions", web::get().to(account::sessions_page))
        .route(
            "/account/sessions/revoke",
            web::post().to(account::revoke_session),
        )
        .route(
            "/account/sessions/revoke-others",
            web::post().to(account::revoke_others),
        )
        .route("/account/password", web::get().to(account::password_page))
        .route(
            "/account/password",
            web::post().to(account::change_password),
        )
        .route("/logout", web::get().to(logout::logout_get))
        .route("/logout", web::post().to(logout::logout_post))
        .configure(admin::routes)
        .route("/healthz", web::get().to(health::healthz))
        .route("/metrics", web::get().to(health::metrics))
        .route("/readyz", web::get().to(health::readyz))
        .route("/assets/tessera.css", web::get().to(stylesheet))
        .route("/assets/passkey.js", web::get().to(passkey_script))
        .default_service(web::to(not_found));
}

const CSS: &str = include_str!("../../templates/tessera.css");

async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(CSS)
}

const PASSKEY_JS: &str = include_str!("../../templates/passkey.js");

/// The passkey forms' script, the one script the pages load (`script-src 'self'`).
async fn passkey_script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(PASSKEY_JS)
}

async fn to_demo() -> HttpResponse {
    respond::see_other("/demo/")
}

async fn not_found() -> HttpResponse {
    HttpResponse::NotFound().json(serde_json::json!({
        "error": "not_found",
        "error_description": "no such endpoint; see /.well-known/openid-configuration"
    }))
}
