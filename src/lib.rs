//! Tessera, an OpenID Connect provider. This file assembles the parts: it opens the store and
//! keys from a `Config` and runs the HTTP server; everything else lives in its own module.

pub mod admin;
pub mod config;
pub mod error;
pub mod http;
pub mod keys;
pub mod metrics;
pub mod oauth;
pub mod password;
pub mod secret;
pub mod state;
pub mod store;
pub mod tls;
pub mod tokens;

use std::net::TcpListener;
use std::time::Duration;

use actix_web::{App, HttpServer, web};

use config::{Config, redact_url};
use keys::MasterKey;
use state::{AppState, Clock, KeyringHandle};
use store::Store;

/// Opens (creating and migrating) the database and the master key; fails with one clear line.
pub async fn open_store(config: &Config) -> Result<Store, String> {
    let store = Store::connect_with(&config.database_url, &config.pool)
        .await
        .map_err(|e| {
            format!(
                "cannot open database {}: {e}",
                redact_url(&config.database_url)
            )
        })?;
    store.migrate().await.map_err(|e| {
        format!(
            "cannot migrate database {}: {e}",
            redact_url(&config.database_url)
        )
    })?;
    Ok(store)
}

pub fn master_key(config: &Config) -> Result<MasterKey, String> {
    match &config.master_key {
        Some(text) => MasterKey::parse(text).map_err(|e| format!("TESSERA_MASTER_KEY: {e}")),
        None => MasterKey::load_or_create(&config.master_key_path()),
    }
}

/// Everything the server needs, with signing keys generated when none exist yet. Fails
/// rather than serve without a current key in every family.
pub async fn prepare(config: Config, clock: Clock) -> Result<web::Data<AppState>, String> {
    let store = open_store(&config).await?;
    let master = master_key(&config)?;
    keys::ensure_current_keys(&store, &master, clock.now()).await?;
    let state = web::Data::new(AppState {
        config,
        store,
        keys: KeyringHandle::default(),
        master,
        clock,
        metrics: metrics::Metrics::default(),
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?,
    });
    refresh_keys(&state).await?;
    Ok(state)
}

/// Runs the key schedule (pre-publishing successors, removing expired keys) and reloads the
/// keyring. Every replica does this every `key_reload_interval`; the database decides races.
pub async fn refresh_keys(state: &AppState) -> Result<(), String> {
    let schedule = keys::schedule(state).await?;
    keys::tick(state, &schedule).await?;
    let keyring = keys::load_keyring(state, &schedule).await?;
    let missing: Vec<_> = keys::Alg::ALL
        .into_iter()
        .filter(|alg| keyring.current(*alg).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "no current signing key for {missing:?}; keeping the previous keyring"
        ));
    }
    state.keys.replace(keyring);
    Ok(())
}

/// Starts serving on an already-bound listener (bind first, read the port, then serve).
pub fn serve(
    state: web::Data<AppState>,
    listener: TcpListener,
) -> Result<actix_web::dev::Server, String> {
    serve_with(state, listener, None)
}

/// The same, over HTTPS when given a TLS configuration.
pub fn serve_with(
    state: web::Data<AppState>,
    listener: TcpListener,
    tls: Option<rustls::ServerConfig>,
) -> Result<actix_web::dev::Server, String> {
    spawn_key_schedule(state.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .wrap(actix_web::middleware::from_fn(http::around_request))
            .configure(http::routes)
    });
    let server = match tls {
        Some(config) => server.listen_rustls_0_23(listener, config),
        None => server.listen(listener),
    }
    .map_err(|e| format!("cannot listen: {e}"))?;
    Ok(server.shutdown_timeout(10).run())
}

/// The background task that rotates keys on schedule and picks up keys changed by another
/// replica or the CLI.
fn spawn_key_schedule(state: web::Data<AppState>) {
    let interval = Duration::from_secs(state.config.key_reload_interval.max(1));
    // Expired rows are purged about every ten minutes.
    let purge_every = (600 / interval.as_secs()).max(1);
    actix_web::rt::spawn(async move {
        for round in 1u64.. {
            actix_web::rt::time::sleep(interval).await;
            if let Err(e) = refresh_keys(&state).await {
                tracing::warn!(error = %e, "key schedule failed; will retry");
            }
            if round % purge_every == 0 {
                match state.store.purge_expired(state.now()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(rows = n, "purged expired rows"),
                    Err(e) => tracing::warn!(error = %e, "purging expired rows failed"),
                }
            }
        }
    });
}
