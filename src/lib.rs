//! Tessera, an OpenID Connect provider. This file assembles the parts: it opens the store and
//! keys from a `Config` and runs the HTTP server; everything else lives in its own module.

pub mod admin;
pub mod config;
pub mod error;
pub mod http;
pub mod keys;
pub mod oauth;
pub mod password;
pub mod secret;
pub mod state;
pub mod store;
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
    let store = Store::connect(&config.database_url).await.map_err(|e| {
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

/// Everything the server needs, with signing keys generated when none exist yet.
pub async fn prepare(config: Config, clock: Clock) -> Result<web::Data<AppState>, String> {
    let store = open_store(&config).await?;
    let master = master_key(&config)?;
    keys::ensure_current_keys(&store, &master, clock.now()).await?;
    let keyring = keys::load_keyring(&store, &master).await?;
    let handle = KeyringHandle::default();
    handle.replace(keyring);
    Ok(web::Data::new(AppState {
        config,
        store,
        keys: handle,
        master,
        clock,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?,
    }))
}

/// Starts serving on an already-bound listener (bind first, read the port, then serve).
pub fn serve(
    state: web::Data<AppState>,
    listener: TcpListener,
) -> Result<actix_web::dev::Server, String> {
    spawn_keyring_reload(state.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .wrap(actix_web::middleware::from_fn(http::log_request))
            .configure(http::routes)
    })
    .listen(listener)
    .map_err(|e| format!("cannot listen: {e}"))?
    .shutdown_timeout(10)
    .run();
    Ok(server)
}

/// Picks up keys changed by another replica or the CLI.
fn spawn_keyring_reload(state: web::Data<AppState>) {
    let interval = Duration::from_secs(state.config.key_reload_interval.max(1));
    actix_web::rt::spawn(async move {
        loop {
            actix_web::rt::time::sleep(interval).await;
            match keys::load_keyring(&state.store, &state.master).await {
                Ok(keyring) if !keyring.signing_algs().is_empty() => state.keys.replace(keyring),
                Ok(_) => {
                    tracing::error!("keyring reload found no current key; keeping the old keyring")
                }
                Err(e) => {
                    tracing::warn!(error = %e, "keyring reload failed; keeping the old keyring")
                }
            }
        }
    });
}
