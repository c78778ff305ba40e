//! The `tessera` command: argument types and dispatch. Each command group has its own file;
//! errors become one `tessera: error: …` line here, at the edge.

mod client;
mod keys;
mod operator;
mod output;
mod resource;
mod serve;
mod session;
mod user;

use clap::{Parser, Subcommand};

use crate::config::{Config, Overrides};

#[derive(Parser)]
#[command(
    name = "tessera",
    version,
    about = "An OpenID Connect identity provider"
)]
pub struct Cli {
    #[command(flatten)]
    overrides: Overrides,
    /// Print machine-readable JSON
    #[arg(long, global = true)]
    json: bool,
    /// Log lines as human text or as JSON objects
    #[arg(long, global = true, value_enum, default_value = "text")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the provider
    Serve(serve::ServeArgs),
    /// Make a self-signed certificate for localhost (keys/dev-cert.pem, keys/dev-key.pem)
    DevCert,
    /// Exit 0 when the local server answers /healthz (for container HEALTHCHECK)
    Healthcheck,
    /// Create or update the database schema
    Migrate,
    /// Manage relying-party clients
    #[command(subcommand)]
    Client(client::ClientCommand),
    /// Register the APIs tokens can be asked for (RFC 8707 resource indicators)
    #[command(subcommand)]
    Resource(resource::ResourceCommand),
    /// Manage users
    #[command(subcommand)]
    User(user::UserCommand),
    /// See and end users' sessions (devices)
    #[command(subcommand)]
    Session(session::SessionCommand),
    /// Signing keys: list, rotate, revoke, re-wrap under a new master key
    #[command(subcommand)]
    Keys(keys::KeysCommand),
}

/// What logging and tracing keep running; dropping it exports the queued spans, then writes
/// the queued log lines.
pub struct Telemetry {
    _traces: Option<crate::telemetry::Tracing>,
    _logs: tracing_appender::non_blocking::WorkerGuard,
}

impl Cli {
    /// The configuration: defaults < tessera.toml < TESSERA_* < flags.
    pub fn config(&self) -> Result<Config, String> {
        Config::load(&self.overrides).map_err(|e| e.to_string())
    }

    /// Logs go to stderr, written by a thread of their own so no request waits on the write.
    /// Up to 8,192 lines queue; beyond that a request waits for the writer rather than a line
    /// being dropped. The server logs its work, operator commands only warnings; the server
    /// also exports traces when a collector is configured. Keep the guard: dropping it
    /// flushes what is queued.
    pub fn init_logging(&self, config: &Config) -> Result<Telemetry, String> {
        use tracing_subscriber::Layer;
        use tracing_subscriber::layer::SubscriberExt;
        use tracing_subscriber::util::SubscriberInitExt;
        let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
            .lossy(false)
            .buffered_lines_limit(8192)
            .finish(std::io::stderr());
        let serving = matches!(self.command, Command::Serve { .. });
        let default_filter = if serving {
            "info,sea_orm_migration=warn"
        } else {
            "warn"
        };
        let filter = tracing_subscriber::EnvFilter::try_from_env("TESSERA_LOG")
            .unwrap_or_else(|_| default_filter.into());
        let traces = if serving {
            crate::telemetry::Tracing::start(config.otlp_endpoint.as_deref())?
        } else {
            None
        };
        let logs = tracing_subscriber::fmt::layer().with_writer(writer);
        let logs = match self.log_format {
            LogFormat::Json => logs.json().flatten_event(true).boxed(),
            LogFormat::Text => logs
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                .boxed(),
        };
        tracing_subscriber::registry()
            .with(filter)
            .with(logs)
            .with(traces.as_ref().map(|t| t.layer()))
            .init();
        Ok(Telemetry {
            _traces: traces,
            _logs: guard,
        })
    }

    pub async fn run(self, config: Config) -> Result<(), String> {
        let json = self.json;
        match self.command {
            Command::Serve(args) => serve::serve(config, args, json).await,
            Command::DevCert => serve::dev_cert(&config, json),
            Command::Healthcheck => serve::healthcheck(&config).await,
            Command::Migrate => {
                crate::app::open_store(&config)
                    .await
                    .map_err(|e| e.to_string())?;
                output::print(
                    json,
                    serde_json::json!({"migrated": true}),
                    "database is up to date",
                );
                Ok(())
            }
            Command::Client(command) => client::run(&config, command, json).await,
            Command::Resource(command) => resource::run(&config, command, json).await,
            Command::User(command) => user::run(config, command, json).await,
            Command::Session(command) => session::run(config, command, json).await,
            Command::Keys(command) => keys::run(config, command, json).await,
        }
    }
}
