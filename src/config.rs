//! One Config: defaults < tessera.toml < TESSERA_* environment < command-line flags.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::core::{Policy, Throttle};
use crate::keys::{Alg, Rotation, Schedule};

pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/tessera.db?mode=rwc";

/// Settings given on the command line or in the environment (clap reads both; flags win).
#[derive(clap::Args, Debug, Default, Clone)]
pub struct Overrides {
    /// TOML configuration file [default: tessera.toml when it exists]
    #[arg(long, global = true, env = "TESSERA_CONFIG")]
    pub config: Option<PathBuf>,
    /// Public base URL of this provider, e.g. https://id.example.com
    #[arg(long, global = true, env = "TESSERA_ISSUER")]
    pub issuer: Option<String>,
    /// Address to listen on [default: 127.0.0.1:8080]
    #[arg(long, global = true, env = "TESSERA_BIND")]
    pub bind: Option<String>,
    /// sqlite://path?mode=rwc or postgres://user@host/db
    #[arg(long, global = true, env = "TESSERA_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Directory holding master.key when TESSERA_MASTER_KEY is unset [default: keys]
    #[arg(long, global = true, env = "TESSERA_KEYS_DIR")]
    pub keys_dir: Option<PathBuf>,
    /// Key-encryption key (32 bytes, hex or base64url); environment only, never a flag
    #[arg(skip)]
    pub master_key: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    issuer: Option<String>,
    bind: Option<String>,
    database_url: Option<String>,
    keys_dir: Option<PathBuf>,
    master_key: Option<String>,
    access_token_ttl: Option<i64>,
    id_token_ttl: Option<i64>,
    session_ttl: Option<i64>,
    access_token_alg: Option<String>,
    key_reload_interval: Option<u64>,
    cache_refresh_interval: Option<u64>,
    cpu_workers: Option<usize>,
    cpu_queue_timeout: Option<u64>,
    max_connections: Option<usize>,
    sqlite_synchronous: Option<String>,
    jwks_max_age: Option<i64>,
    jwks_cache_bound: Option<i64>,
    refresh_token_ttl: Option<i64>,
    refresh_token_absolute_ttl: Option<i64>,
    refresh_reuse_grace: Option<i64>,
    dpop_nonce: Option<bool>,
    require_par: Option<bool>,
    require_mfa: Option<bool>,
    key_rotation_period: Option<i64>,
    clock_skew: Option<i64>,
    db_max_connections: Option<u32>,
    db_acquire_timeout: Option<u64>,
    db_statement_timeout: Option<u64>,
    login_max_failures: Option<i64>,
    login_max_failures_per_ip: Option<i64>,
    login_lockout: Option<i64>,
    otlp_endpoint: Option<String>,
}

#[derive(Clone)]
pub struct Config {
    pub issuer: String,
    pub bind: SocketAddr,
    pub database_url: String,
    pub keys_dir: PathBuf,
    pub master_key: Option<String>,
    /// Seconds.
    pub access_token_ttl: i64,
    pub id_token_ttl: i64,
    pub session_ttl: i64,
    pub code_ttl: i64,
    pub interaction_ttl: i64,
    pub access_token_alg: Alg,
    /// Seconds between keyring reloads from the database.
    pub key_reload_interval: u64,
    /// Seconds between checks for changes to the cached clients, users, throttling counters
    /// and revocations: how stale another replica's change can be here. 0: no caching.
    pub cache_refresh_interval: u64,
    /// Threads for CPU-heavy work (argon2id, RSA key generation) [default: one per core].
    pub cpu_workers: Option<usize>,
    /// How long such work may wait for a thread before the request is answered 503.
    pub cpu_queue_timeout: Duration,
    /// Client connections held open at once, across all workers (each costs ~15 KiB); more
    /// wait in the kernel's accept queue until one closes. 0: no limit.
    pub max_connections: usize,
    /// Cache-Control max-age of the JWKS, in seconds.
    pub jwks_max_age: i64,
    /// The longest a verifier may hold a copy of the JWKS whatever its Cache-Control says
    /// (seconds; default two hours, as some API gateways do; 0: every verifier honours
    /// max-age). Key pre-publication and retirement cover it.
    pub jwks_cache_bound: i64,
    /// Idle lifetime of a refresh token: each rotation extends the grant by this much.
    pub refresh_token_ttl: i64,
    /// Absolute lifetime of a grant's refresh tokens, counted from the sign-in.
    pub refresh_token_absolute_ttl: i64,
    /// An opt-in grace (seconds) during which a just-rotated refresh token still yields its
    /// successor, so that an app's concurrent tabs do not revoke its grant. 0, the default,
    /// means none: any second presentation revokes the grant (RFC 9700 §4.14.2).
    pub refresh_reuse_grace: i64,
    /// DPoP proofs must carry a nonce the server handed out (RFC 9449 §8, `DPoP-Nonce`), so a
    /// proof cannot be made ahead of time. Off by default: clients then need one round trip
    /// less, and iat (±60 s) and jti replay still bound every proof.
    pub dpop_nonce: bool,
    /// Every client must push its authorization requests to /par first (RFC 9126 §5); a
    /// client can also be registered to (`--require-par`).
    pub require_par: bool,
    /// Every user must sign in with a second factor (TOTP); those without one enrol after
    /// the password. Clients can also be registered to (`--require-mfa`).
    pub require_mfa: bool,
    /// How long a signing key signs before its successor takes over (seconds).
    pub key_rotation_period: i64,
    /// Clock difference tolerated between Tessera and relying parties (seconds).
    pub clock_skew: i64,
    /// SQLite waits for the disk on every commit (true, `sqlite_synchronous = "full"`) or
    /// only at checkpoints (`"normal"`: a commit survives Tessera crashing, not the machine).
    pub sqlite_durable: bool,
    /// Connections per replica [default: 8 for SQLite, 16 for PostgreSQL].
    pub db_max_connections: Option<u32>,
    /// How long a request waits for a database connection before answering 503.
    pub db_acquire_timeout: Duration,
    /// PostgreSQL aborts any statement running longer than this.
    pub db_statement_timeout: Duration,
    pub throttle: Throttle,
    /// An OpenTelemetry collector's base URL (OTLP/HTTP): traces are exported there. None,
    /// the default, exports nothing (unless the standard OTEL_EXPORTER_OTLP_ENDPOINT is set).
    pub otlp_endpoint: Option<String>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("issuer", &self.issuer)
            .field("bind", &self.bind)
            .field("database_url", &redact_url(&self.database_url))
            .field("keys_dir", &self.keys_dir)
            .field(
                "master_key",
                &self.master_key.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

/// A configuration Tessera refuses to start with; the message names the setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl From<String> for ConfigError {
    fn from(message: String) -> Self {
        Self(message)
    }
}

/// A yes/no setting: the environment variable if set (`true`/`false`, `1`/`0`), else the file's
/// value, else no.
fn env_bool(name: &str, file_value: Option<bool>) -> Result<bool, ConfigError> {
    match std::env::var(name) {
        Ok(v) => match v.as_str() {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err(ConfigError(format!(
                "{name} must be true or false, got '{v}'"
            ))),
        },
        Err(_) => Ok(file_value.unwrap_or(false)),
    }
}

impl Config {
    pub fn load(overrides: &Overrides) -> Result<Self, ConfigError> {
        let file = read_file(overrides.config.as_deref())?;
        let env_or = |name: &str, file_value: Option<i64>| -> Result<Option<i64>, ConfigError> {
            match std::env::var(name) {
                Ok(v) => v.parse().map(Some).map_err(|_| {
                    ConfigError(format!(
                        "{name} must be a whole number of seconds, got '{v}'"
                    ))
                }),
                Err(_) => Ok(file_value),
            }
        };
        let bind_text = overrides
            .bind
            .clone()
            .or(file.bind)
            .unwrap_or_else(|| DEFAULT_BIND.into());
        let bind: SocketAddr = bind_text.parse().map_err(|_| {
            format!("bind address '{bind_text}' is not host:port (e.g. 127.0.0.1:8080)")
        })?;
        let issuer = match overrides.issuer.clone().or(file.issuer) {
            Some(issuer) => parse_issuer(&issuer)?,
            None => default_issuer(bind),
        };
        let database_url = overrides
            .database_url
            .clone()
            .or(file.database_url)
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
        check_database_url(&database_url)?;
        let access_token_alg = match std::env::var("TESSERA_ACCESS_TOKEN_ALG")
            .ok()
            .or(file.access_token_alg)
        {
            Some(alg) => alg.parse().map_err(|e| format!("access_token_alg: {e}"))?,
            None => Alg::ES256,
        };
        let config = Self {
            issuer,
            bind,
            database_url,
            keys_dir: overrides
                .keys_dir
                .clone()
                .or(file.keys_dir)
                .unwrap_or_else(|| "keys".into()),
            master_key: overrides
                .master_key
                .clone()
                .or_else(|| std::env::var("TESSERA_MASTER_KEY").ok())
                .or(file.master_key),
            otlp_endpoint: match std::env::var("TESSERA_OTLP_ENDPOINT").ok().or(file.otlp_endpoint) {
                Some(url) if !url.is_empty() => Some(parse_otlp_endpoint(&url)?),
                _ => None,
            },
            access_token_ttl: env_or("TESSERA_ACCESS_TOKEN_TTL", file.access_token_ttl)?
                .unwrap_or(300),
            id_token_ttl: env_or("TESSERA_ID_TOKEN_TTL", file.id_token_ttl)?.unwrap_or(3600),
            session_ttl: env_or("TESSERA_SESSION_TTL", file.session_ttl)?.unwrap_or(14 * 24 * 3600),
            code_ttl: 60,
            interaction_ttl: 30 * 60,
            access_token_alg,
            key_reload_interval: file.key_reload_interval.unwrap_or(10),
            cache_refresh_interval: match std::env::var("TESSERA_CACHE_REFRESH_INTERVAL") {
                Ok(v) => v.parse().map_err(|_| {
                    ConfigError(format!(
                        "TESSERA_CACHE_REFRESH_INTERVAL must be a whole number of seconds, got '{v}'"
                    ))
                })?,
                Err(_) => file.cache_refresh_interval.unwrap_or(1),
            },
            sqlite_durable: match file.sqlite_synchronous.as_deref() {
                None | Some("full") => true,
                Some("normal") => false,
                Some(other) => {
                    return Err(ConfigError(format!(
                        "sqlite_synchronous must be \"full\" or \"normal\", got '{other}'"
                    )));
                }
            },
            cpu_workers: file.cpu_workers,
            cpu_queue_timeout: Duration::from_secs(file.cpu_queue_timeout.unwrap_or(10)),
            max_connections: match std::env::var("TESSERA_MAX_CONNECTIONS") {
                Ok(v) => v.parse().map_err(|_| {
                    format!("TESSERA_MAX_CONNECTIONS must be a number, got '{v}'")
                })?,
                Err(_) => file.max_connections.unwrap_or(4096),
            },
            jwks_max_age: file.jwks_max_age.unwrap_or(300),
            jwks_cache_bound: file.jwks_cache_bound.unwrap_or(2 * 3600),
            refresh_token_ttl: env_or("TESSERA_REFRESH_TOKEN_TTL", file.refresh_token_ttl)?
                .unwrap_or(14 * 24 * 3600),
            refresh_token_absolute_ttl: env_or(
                "TESSERA_REFRESH_TOKEN_ABSOLUTE_TTL",
                file.refresh_token_absolute_ttl,
            )?
            .unwrap_or(90 * 24 * 3600),
            refresh_reuse_grace: env_or("TESSERA_REFRESH_REUSE_GRACE", file.refresh_reuse_grace)?
                .unwrap_or(0),
            dpop_nonce: env_bool("TESSERA_DPOP_NONCE", file.dpop_nonce)?,
            require_par: env_bool("TESSERA_REQUIRE_PAR", file.require_par)?,
            require_mfa: env_bool("TESSERA_REQUIRE_MFA", file.require_mfa)?,
            key_rotation_period: env_or("TESSERA_KEY_ROTATION_PERIOD", file.key_rotation_period)?
                .unwrap_or(30 * 24 * 3600),
            clock_skew: file.clock_skew.unwrap_or(60),
            throttle: Throttle {
                max_failures: file.login_max_failures.unwrap_or(5),
                max_failures_per_ip: file.login_max_failures_per_ip.unwrap_or(50),
                window: 15 * 60,
                lockout: file.login_lockout.unwrap_or(15 * 60),
            },
            db_max_connections: match std::env::var("TESSERA_DB_MAX_CONNECTIONS") {
                Ok(v) => Some(v.parse().map_err(|_| {
                    format!("TESSERA_DB_MAX_CONNECTIONS must be a number, got '{v}'")
                })?),
                Err(_) => file.db_max_connections,
            },
            db_acquire_timeout: Duration::from_secs(file.db_acquire_timeout.unwrap_or(3)),
            db_statement_timeout: Duration::from_secs(file.db_statement_timeout.unwrap_or(5)),
        };
        for (name, value) in [
            ("access_token_ttl", config.access_token_ttl),
            ("id_token_ttl", config.id_token_ttl),
            ("session_ttl", config.session_ttl),
            ("jwks_max_age", config.jwks_max_age),
            ("refresh_token_ttl", config.refresh_token_ttl),
            (
                "refresh_token_absolute_ttl",
                config.refresh_token_absolute_ttl,
            ),
        ] {
            if value <= 0 {
                return Err(
                    format!("{name} must be a positive number of seconds, got {value}").into(),
                );
            }
        }
        let prepublish = Schedule::new(&config.rotation(), 0).prepublish;
        if config.key_rotation_period <= prepublish {
            return Err(format!(
                "key_rotation_period ({}s) must be longer than the pre-publication window (the larger of 2 × jwks_max_age and jwks_cache_bound, plus key_reload_interval = {prepublish}s)",
                config.key_rotation_period
            ).into());
        }
        if config.jwks_cache_bound < 0 {
            return Err(ConfigError("jwks_cache_bound must not be negative".into()));
        }
        if config.clock_skew < 0 {
            return Err(ConfigError("clock_skew must not be negative".into()));
        }
        if config.refresh_reuse_grace < 0 {
            return Err(ConfigError(
                "refresh_reuse_grace must not be negative".into(),
            ));
        }
        Ok(config)
    }

    pub fn master_key_path(&self) -> PathBuf {
        self.keys_dir.join("master.key")
    }

    /// The settings the protocol rules follow.
    pub fn policy(&self) -> Policy {
        Policy {
            issuer: self.issuer.clone(),
            access_token_ttl: self.access_token_ttl,
            id_token_ttl: self.id_token_ttl,
            session_ttl: self.session_ttl,
            code_ttl: self.code_ttl,
            par_ttl: 60,
            interaction_ttl: self.interaction_ttl,
            access_token_alg: self.access_token_alg,
            refresh_token_ttl: self.refresh_token_ttl,
            refresh_token_absolute_ttl: self.refresh_token_absolute_ttl,
            refresh_reuse_grace: self.refresh_reuse_grace,
            dpop_nonce: self.dpop_nonce,
            require_par: self.require_par,
            require_mfa: self.require_mfa,
            clock_skew: self.clock_skew,
            assertion_audiences: ["", "/token", "/introspect", "/revoke", "/par"]
                .iter()
                .map(|path| format!("{}{path}", self.issuer))
                .collect(),
            throttle: self.throttle.clone(),
        }
    }

    /// The settings key rotation follows.
    pub fn rotation(&self) -> Rotation {
        Rotation {
            period: self.key_rotation_period,
            jwks_max_age: self.jwks_max_age,
            jwks_cache_bound: self.jwks_cache_bound,
            reload_interval: self.key_reload_interval as i64,
            clock_skew: self.clock_skew,
        }
    }

    pub fn is_https(&self) -> bool {
        self.issuer.starts_with("https://")
    }
}

fn read_file(path: Option<&Path>) -> Result<FileConfig, ConfigError> {
    let (path, required) = match path {
        Some(p) => (p.to_path_buf(), true),
        None => (PathBuf::from("tessera.toml"), false),
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => toml::from_str(&text)
            .map_err(|e| ConfigError(format!("{}: {}", path.display(), e.message()))),
        Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {
            Ok(FileConfig::default())
        }
        Err(e) => Err(format!("cannot read config file {}: {e}", path.display()).into()),
    }
}

/// The issuer is compared byte for byte by relying parties: no query, no fragment, no
/// trailing slash.
pub fn parse_issuer(text: &str) -> Result<String, ConfigError> {
    let url = url::Url::parse(text).map_err(|e| format!("issuer '{text}' is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!("issuer '{text}' must be an http(s) URL with a host").into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("issuer '{text}' must not have a query or fragment").into());
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

fn parse_otlp_endpoint(text: &str) -> Result<String, ConfigError> {
    let url =
        url::Url::parse(text).map_err(|e| format!("otlp_endpoint '{text}' is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!(
            "otlp_endpoint '{text}' must be an http(s) URL with a host, e.g. http://collector:4318"
        )
        .into());
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

fn default_issuer(bind: SocketAddr) -> String {
    let host = if bind.ip().is_unspecified() {
        "localhost".to_string()
    } else {
        bind.ip().to_string()
    };
    format!("http://{host}:{}", bind.port())
}

fn check_database_url(url: &str) -> Result<(), ConfigError> {
    if ["sqlite:", "postgres://", "postgresql://"]
        .iter()
        .any(|p| url.starts_with(p))
    {
        Ok(())
    } else {
        Err(format!(
            "database URL '{}' must start with sqlite: or postgres://",
            redact_url(url)
        )
        .into())
    }
}

/// Hides a password in a database URL before it is printed.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("<redacted>"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_rules() {
        assert_eq!(
            parse_issuer("https://id.example.com/").unwrap(),
            "https://id.example.com"
        );
        assert_eq!(
            parse_issuer("http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert!(parse_issuer("ftp://x").is_err());
        assert!(parse_issuer("https://x/?a=b").is_err());
        assert!(parse_issuer("not a url").is_err());
    }

    #[test]
    fn otlp_endpoint_rules() {
        assert_eq!(
            parse_otlp_endpoint("http://collector:4318/").unwrap(),
            "http://collector:4318"
        );
        assert!(parse_otlp_endpoint("collector:4318").is_err());
        assert!(parse_otlp_endpoint("grpc://collector:4317").is_err());
    }

    #[test]
    fn secrets_do_not_print() {
        assert_eq!(
            redact_url("postgres://u:pw@h/db"),
            "postgres://u:%3Credacted%3E@h/db"
        );
        assert!(check_database_url("mysql://x").is_err());
    }

    #[test]
    fn file_then_flags() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.toml");
        std::fs::write(
            &path,
            "issuer = \"https://from-file.example\"\nbind = \"127.0.0.1:9000\"\n",
        )
        .unwrap();
        let mut overrides = Overrides {
            config: Some(path.clone()),
            ..Default::default()
        };
        let config = Config::load(&overrides).unwrap();
        assert_eq!(config.issuer, "https://from-file.example");
        assert_eq!(config.bind.port(), 9000);
        overrides.issuer = Some("https://from-flag.example".into());
        assert_eq!(
            Config::load(&overrides).unwrap().issuer,
            "https://from-flag.example"
        );
        std::fs::write(&path, "isuer = \"typo\"\n").unwrap();
        assert!(
            Config::load(&overrides)
                .unwrap_err()
                .to_string()
                .contains("unknown field")
        );
    }
}
