//! Wiring: from a `Config` and a `Clock` to the running parts. Opens (creating and migrating)
//! the database and the master key, makes sure every key family can sign, loads the keyring,
//! and starts the HTTP server with its background jobs.

use std::net::{SocketAddr, TcpListener};

use actix_web::web;

use crate::backchannel::Backchannel;
use crate::client_keys::JwksFetcher;
use crate::clock::Clock;
use crate::config::{Config, redact_url};
use crate::core::rotation::{RotationError, schedule};
use crate::jobs;
use crate::keys::{KeyError, MasterKey};
use crate::metrics::Metrics;
use crate::offload::BlockingPool;
use crate::store::{PoolSettings, Store};
use crate::web::state::{AppState, KeyringHandle};

/// Why Tessera cannot start; each message is one line an operator can act on.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("cannot open database {url}: {reason}")]
    Database { url: String, reason: String },
    #[error("cannot migrate database {url}: {reason}")]
    Migration { url: String, reason: String },
    #[error(
        "database {url} is read-only ({reason}): Tessera writes codes, sessions and tokens to it, and on SQLite creates its -wal and -shm files beside it"
    )]
    ReadOnly { url: String, reason: String },
    #[error("TESSERA_MASTER_KEY: {0}")]
    MasterKeyVariable(KeyError),
    #[error(transparent)]
    MasterKeyFile(KeyError),
    #[error(transparent)]
    Keys(#[from] RotationError),
    #[error("cannot build the HTTP client: {0}")]
    HttpClient(#[from] reqwest::Error),
    #[error("cannot listen: {0}")]
    Listen(std::io::Error),
    #[error("cannot start the demo app: {0}")]
    Demo(String),
}

/// Large blocks (argon2id's 19 MiB of working memory per hash) go straight to the kernel and
/// back when freed. glibc otherwise raises its mmap threshold after the first such free and
/// keeps later ones in per-thread arenas: a burst of sign-ins would leave hundreds of MiB
/// resident. Call once, before any thread starts.
pub fn tune_allocator() {
    #[cfg(target_env = "gnu")]
    {
        // SAFETY: mallopt only changes allocator parameters; it is called before any other
        // thread exists, so nothing allocates concurrently.
        let set = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20) };
        if set != 1 {
            tracing::warn!("could not set the allocator's mmap threshold");
        }
    }
}

/// Connections the kernel completes and queues while every worker is at `max_connections`
/// (as actix-web's own default); beyond it, clients retry their SYN.
const ACCEPT_BACKLOG: i32 = 1024;

/// The listening socket for `addr`, reusing a port left in TIME_WAIT.
pub fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(ACCEPT_BACKLOG)?;
    Ok(socket.into())
}

/// Opens (creating and migrating) the database.
pub async fn open_store(config: &Config) -> Result<Store, AppError> {
    let url = || redact_url(&config.database_url);
    let pool = PoolSettings {
        sqlite_durable: config.sqlite_durable,
        max_connections: config.db_max_connections,
        acquire_timeout: config.db_acquire_timeout,
        statement_timeout: config.db_statement_timeout,
    };
    let store = Store::connect(&config.database_url, &pool)
        .await
        .map_err(|e| AppError::Database {
            url: url(),
            reason: e.to_string(),
        })?;
    store.migrate().await.map_err(|e| AppError::Migration {
        url: url(),
        reason: e.to_string(),
    })?;
    store
        .check_writable()
        .await
        .map_err(|e| AppError::ReadOnly {
            url: url(),
            reason: e.to_string(),
        })?;
    Ok(store)
}

/// The key-encryption key, from the configuration or `keys/master.key` (created 0600).
pub fn master_key(config: &Config) -> Result<MasterKey, AppError> {
    match &config.master_key {
        Some(text) => MasterKey::parse(text).map_err(AppError::MasterKeyVariable),
        None => {
            MasterKey::load_or_create(&config.master_key_path()).map_err(AppError::MasterKeyFile)
        }
    }
}

/// The threads for CPU-heavy work, as configured.
pub fn cpu_pool(config: &Config) -> BlockingPool {
    match config.cpu_workers {
        Some(n) => BlockingPool::new(n, config.cpu_queue_timeout),
        None => BlockingPool::per_core(config.cpu_queue_timeout),
    }
}

/// Everything the server needs, with signing keys generated when none exist yet. Fails
/// rather than serve without a current key in every family.
pub async fn prepare(config: Config, clock: Clock) -> Result<web::Data<AppState>, AppError> {
    let mut store = open_store(&config).await?;
    if config.cache_refresh_interval > 0 {
        store = store.with_caches();
    }
    let master = master_key(&config)?;
    let policy = config.policy();
    let offload = cpu_pool(&config);
    let now = clock.now();
    let keys = crate::core::rotation::Keys {
        repo: &store,
        master: &master,
        offload: &offload,
        rotation: config.rotation(),
    };
    keys.ensure_current(now).await?;
    let schedule = schedule(&store, &policy, &config.rotation())
        .await
        .map_err(RotationError::from)?;
    keys.tick(&schedule, now).await?;
    let keyring = keys.load_keyring(&schedule, None, now).await?;
    Ok(web::Data::new(AppState {
        policy,
        config,
        store,
        keys: KeyringHandle::new(keyring),
        master,
        clock,
        metrics: Metrics::default(),
        notifier: Backchannel::background()?,
        client_keys: JwksFetcher::new()?,
        offload,
        discovery: Default::default(),
    }))
}

/// How to serve besides the state: over HTTPS with a TLS configuration, and with the demo
/// relying party under `/demo/` (`serve --demo`).
#[derive(Default)]
pub struct Serving {
    pub tls: Option<rustls::ServerConfig>,
    pub demo: Option<rp_web::Settings>,
}

/// Serves on an already-bound listener (bind first, read the port, then serve), with the key
/// schedule and purge running beside it.
pub fn serve(
    state: web::Data<AppState>,
    listener: TcpListener,
    serving: Serving,
) -> Result<actix_web::dev::Server, AppError> {
    let demo = match serving.demo {
        Some(settings) => Some(web::Data::new(
            rp_web::RelyingParty::new(settings).map_err(AppError::Demo)?,
        )),
        None => None,
    };
    jobs::spawn(state.clone());
    crate::web::server(state, listener, serving.tls, demo).map_err(AppError::Listen)
}
