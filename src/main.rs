//! The `tessera` command: serve, migrate, and the operator commands for clients and users.

use std::io::Read;
use std::net::TcpListener;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use serde_json::json;
use tessera::admin::{self, ClientSpec};
use tessera::config::{Config, Overrides};
use tessera::keys::Alg;
use tessera::oauth::client::{AuthMethod, Client, GrantType};
use tessera::oauth::logout::{self, Delivery};
use tessera::state::{AppState, Clock};
use tessera::store::{Store, User};

#[derive(Parser)]
#[command(
    name = "tessera",
    version,
    about = "An OpenID Connect identity provider"
)]
struct Cli {
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
    Serve {
        /// Create (once) a demo client and user and print how to sign in with them
        #[arg(long)]
        demo: bool,
        /// Serve HTTPS with this PEM certificate chain (with --tls-key)
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<std::path::PathBuf>,
        /// The PEM private key of --tls-cert
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<std::path::PathBuf>,
    },
    /// Make a self-signed certificate for localhost (keys/dev-cert.pem, keys/dev-key.pem)
    DevCert,
    /// Exit 0 when the local server answers /healthz (for container HEALTHCHECK)
    Healthcheck,
    /// Create or update the database schema
    Migrate,
    /// Manage relying-party clients
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage users
    #[command(subcommand)]
    User(UserCommand),
    /// See and end users' sessions (devices)
    #[command(subcommand)]
    Session(SessionCommand),
    /// Signing keys: list, rotate, revoke, re-wrap under a new master key
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Every key with its algorithm, state and transition times
    List,
    /// Pre-publish a successor key (safe: it signs only after every cached JWKS holds it)
    Rotate {
        /// Only this family (RS256, ES256, EdDSA or PS256) [default: all]
        #[arg(long)]
        alg: Option<Alg>,
        /// The successor signs at once (relying parties refetch the JWKS on the unknown kid)
        #[arg(long)]
        now: bool,
    },
    /// Emergency: take a key out of the JWKS at once; prints how many live tokens it breaks
    Revoke { kid: String },
    /// Re-seal every private key under a new master key (created if the file does not exist)
    Rewrap {
        #[arg(long)]
        new_master_key_file: std::path::PathBuf,
    },
}

#[derive(Subcommand)]
enum SessionCommand {
    /// A user's live sessions: id (sid), device, IP, times
    List {
        #[arg(long)]
        user: String,
    },
    /// End one session: its refresh tokens and access tokens stop working, clients are told
    Revoke { sid: String },
}

#[derive(Subcommand)]
enum ClientCommand {
    /// Register a client; prints its id and (once) its secret
    Create(Box<CreateClient>),
    List,
    Show {
        id: String,
    },
    Delete {
        id: String,
    },
}

#[derive(Args)]
struct CreateClient {
    #[arg(long)]
    name: String,
    /// Client id [default: generated]
    #[arg(long)]
    id: Option<String>,
    #[arg(long = "redirect-uri")]
    redirect_uris: Vec<String>,
    #[arg(long = "post-logout-redirect-uri")]
    post_logout_redirect_uris: Vec<String>,
    /// A public client (no secret; PKCE required); same as --auth-method none
    #[arg(long)]
    public: bool,
    /// client_secret_basic (default), client_secret_post or none
    #[arg(long)]
    auth_method: Option<AuthMethod>,
    /// authorization_code (default), refresh_token, client_credentials
    #[arg(long = "grant")]
    grants: Vec<GrantType>,
    /// Scopes the client may request [default: all supported]
    #[arg(long = "scope")]
    scopes: Vec<String>,
    #[arg(long, default_value = "RS256")]
    id_token_alg: Alg,
    /// `aud` of this client's access tokens [default: the issuer]
    #[arg(long)]
    audience: Option<String>,
    /// Access token lifetime in seconds [default: global setting]
    #[arg(long)]
    access_token_ttl: Option<i64>,
    /// id_token lifetime in seconds [default: global setting]
    #[arg(long)]
    id_token_ttl: Option<i64>,
    /// Refresh token idle (sliding) lifetime in seconds [default: global setting]
    #[arg(long)]
    refresh_token_ttl: Option<i64>,
    /// Where to POST OIDC Back-Channel Logout tokens
    #[arg(long)]
    backchannel_logout_uri: Option<String>,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user; the password is read from standard input
    Create {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        name: Option<String>,
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Replace a user's password (read from standard input)
    SetPassword {
        username: String,
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Stop a user from signing in and end all their sessions
    Disable {
        username: String,
    },
    /// Let a disabled user sign in again
    Enable {
        username: String,
    },
    /// Force logout: end every session of the user on every device
    LogoutEverywhere {
        username: String,
    },
    List,
}

#[actix_web::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // The server logs its work; operator commands print their result and only warnings.
    let default_filter = match cli.command {
        Command::Serve { .. } => "info,sea_orm_migration=warn",
        _ => "warn",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("TESSERA_LOG")
        .unwrap_or_else(|_| default_filter.into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Json => logs.json().flatten_event(true).init(),
        LogFormat::Text => logs
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
    }
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("tessera: error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let config = Config::load(&cli.overrides)?;
    let now = Clock::System.now();
    match cli.command {
        Command::Serve {
            demo,
            tls_cert,
            tls_key,
        } => {
            let tls = match (tls_cert, tls_key) {
                (Some(cert), Some(key)) => Some(tessera::tls::server_config(&cert, &key)?),
                _ => None,
            };
            serve(config, demo, tls, cli.json).await
        }
        Command::DevCert => {
            let (cert, key) = tessera::tls::dev_cert(&config.keys_dir)?;
            let text = format!(
                "wrote {} and {}\ntry: tessera serve --tls-cert {} --tls-key {} --bind 127.0.0.1:8443 --issuer https://localhost:8443\n(your browser will warn: the certificate is self-signed)",
                cert.display(),
                key.display(),
                cert.display(),
                key.display()
            );
            print(cli.json, json!({"cert": cert, "key": key}), &text);
            Ok(())
        }
        Command::Healthcheck => healthcheck(&config).await,
        Command::Migrate => {
            tessera::open_store(&config).await?;
            print(
                cli.json,
                json!({"migrated": true}),
                "database is up to date",
            );
            Ok(())
        }
        Command::Client(command) => {
            client_command(&tessera::open_store(&config).await?, command, cli.json, now).await
        }
        Command::User(command) => {
            let state = tessera::prepare(config, Clock::System).await?;
            user_command(&state, command, cli.json).await
        }
        Command::Session(command) => {
            let state = tessera::prepare(config, Clock::System).await?;
            session_command(&state, command, cli.json).await
        }
        Command::Keys(command) => {
            let state = tessera::prepare(config, Clock::System).await?;
            keys_command(&state, command, cli.json).await
        }
    }
}

async fn serve(
    config: Config,
    demo: bool,
    tls: Option<rustls::ServerConfig>,
    json_output: bool,
) -> Result<(), String> {
    // Database and keys first: a broken configuration is reported before the port is taken.
    let bind = config.bind;
    let state = tessera::prepare(config, Clock::System).await?;
    let listener = TcpListener::bind(bind).map_err(|e| format!("cannot bind {bind}: {e}"))?;
    let demo = if demo {
        Some(admin::ensure_demo(&state.store, &state.master, state.now()).await?)
    } else {
        None
    };
    let issuer = state.config.issuer.clone();
    let server = tessera::serve_with(state, listener, tls)?;
    tracing::info!(%issuer, "Tessera is serving");
    if let Some(demo) = demo {
        print_demo(&issuer, &demo, json_output);
    }
    // SIGTERM or SIGINT: stop accepting, finish in-flight requests (up to 10 s), exit 0.
    server.await.map_err(|e| format!("server stopped: {e}"))?;
    tracing::info!("Tessera stopped");
    Ok(())
}

fn print_demo(issuer: &str, demo: &admin::Demo, json_output: bool) {
    let authorize_url = format!(
        "{issuer}/authorize?response_type=code&client_id={}&redirect_uri={}&scope=openid%20profile%20email&state=demo-state&nonce=demo-nonce",
        admin::DEMO_CLIENT_ID,
        url::form_urlencoded::byte_serialize(admin::DEMO_REDIRECT_URI.as_bytes())
            .collect::<String>(),
    );
    let value = json!({
        "issuer": issuer,
        "client_id": admin::DEMO_CLIENT_ID,
        "client_secret": demo.client_secret,
        "redirect_uri": admin::DEMO_REDIRECT_URI,
        "username": admin::DEMO_USERNAME,
        "password": demo.password,
        "authorize_url": authorize_url,
    });
    let text = format!(
        "\nTessera demo is ready.\n\n  Issuer:         {issuer}\n  Discovery:      {issuer}/.well-known/openid-configuration\n  Client ID:      {cid}\n  Client secret:  {secret}\n  Redirect URI:   {redirect}\n  User:           {user} / {password}\n\nSign in from a browser (you land on the redirect URI with ?code=…):\n  {authorize_url}\n\nPostman (Authorization tab → OAuth 2.0 → Get New Access Token):\n  Grant type:        Authorization Code (With PKCE)\n  Callback URL:      {postman}  (tick \"Authorize using browser\" for {postman_browser})\n  Auth URL:          {issuer}/authorize\n  Access Token URL:  {issuer}/token\n  Client ID:         {cid}\n  Client Secret:     {secret}\n  Code Challenge:    SHA-256\n  Scope:             openid profile email\n  Client Auth:       Send as Basic Auth header\n",
        cid = admin::DEMO_CLIENT_ID,
        secret = demo.client_secret,
        redirect = admin::DEMO_REDIRECT_URI,
        user = admin::DEMO_USERNAME,
        password = demo.password,
        postman = admin::POSTMAN_CALLBACKS[0],
        postman_browser = admin::POSTMAN_CALLBACKS[1],
    );
    print(json_output, value, &text);
}

fn print(json_output: bool, value: serde_json::Value, text: &str) {
    if json_output {
        println!("{value}");
    } else {
        println!("{text}");
    }
}

async fn client_command(
    store: &Store,
    command: ClientCommand,
    json_output: bool,
    now: i64,
) -> Result<(), String> {
    match command {
        ClientCommand::Create(args) => {
            let auth_method = match (args.public, args.auth_method) {
                (true, Some(m)) if m != AuthMethod::None => {
                    return Err("--public conflicts with --auth-method".into());
                }
                (true, _) => AuthMethod::None,
                (false, m) => m.unwrap_or(AuthMethod::ClientSecretBasic),
            };
            let spec = ClientSpec {
                id: args.id,
                name: args.name,
                redirect_uris: args.redirect_uris,
                post_logout_redirect_uris: args.post_logout_redirect_uris,
                auth_method,
                grant_types: args.grants,
                scopes: args.scopes,
                id_token_alg: args.id_token_alg,
                secret: None,
                audience: args.audience,
                access_token_ttl: args.access_token_ttl,
                id_token_ttl: args.id_token_ttl,
                refresh_token_ttl: args.refresh_token_ttl,
                backchannel_logout_uri: args.backchannel_logout_uri,
            };
            let (client, secret) = admin::create_client(store, spec, now).await?;
            let text = match &secret {
                Some(s) => format!(
                    "client_id:     {}\nclient_secret: {s}\n(the secret is shown only now; store it safely)",
                    client.id
                ),
                None => format!(
                    "client_id: {}\n(public client: no secret; use PKCE S256)",
                    client.id
                ),
            };
            print(
                json_output,
                json!({"client_id": client.id, "client_secret": secret}),
                &text,
            );
        }
        ClientCommand::List => {
            let clients = store.list_clients().await.map_err(|e| e.to_string())?;
            let text = clients
                .iter()
                .map(client_line)
                .collect::<Vec<_>>()
                .join("\n");
            print(
                json_output,
                json!(clients),
                if clients.is_empty() {
                    "no clients"
                } else {
                    &text
                },
            );
        }
        ClientCommand::Show { id } => {
            let client = store
                .find_client(&id)
                .await
                .map_err(|e| e.to_string())?
                .ok_or(format!("no client '{id}'"))?;
            let value = json!(client);
            print(
                json_output,
                value.clone(),
                &serde_json::to_string_pretty(&value).unwrap_or_default(),
            );
        }
        ClientCommand::Delete { id } => {
            if !store.delete_client(&id).await.map_err(|e| e.to_string())? {
                return Err(format!("no client '{id}'"));
            }
            print(
                json_output,
                json!({"deleted": id}),
                &format!("deleted client {id}"),
            );
        }
    }
    Ok(())
}

fn client_line(c: &Client) -> String {
    format!(
        "{}\t{}\t{}\t{}",
        c.id,
        c.name,
        c.auth_method,
        c.redirect_uris.join(" ")
    )
}

fn read_password() -> Result<String, String> {
    let mut text = String::new();
    std::io::stdin()
        .take(4096)
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
    Ok(text.trim_end_matches(['\n', '\r']).to_owned())
}

fn user_json(u: &User) -> serde_json::Value {
    json!({"id": u.id, "username": u.username, "email": u.email, "name": u.name, "disabled": u.disabled, "created_at": u.created_at})
}

async fn user_command(
    state: &AppState,
    command: UserCommand,
    json_output: bool,
) -> Result<(), String> {
    let store = &state.store;
    let now = state.now();
    match command {
        UserCommand::Create {
            username,
            email,
            name,
            ..
        } => {
            let password = read_password()?;
            let user = admin::create_user(store, &username, email, name, &password, now).await?;
            print(
                json_output,
                user_json(&user),
                &format!("created user {} (sub {})", user.username, user.id),
            );
        }
        UserCommand::SetPassword { username, .. } => {
            let password = read_password()?;
            let ended =
                admin::set_password(state, &username, &password, None, Delivery::Wait).await?;
            let text = format!("password changed for {username}; ended {ended} session(s)");
            print(
                json_output,
                json!({"username": username, "password_changed": true, "sessions_ended": ended}),
                &text,
            );
        }
        UserCommand::Disable { username } => {
            let ended = admin::set_disabled(state, &username, true, Delivery::Wait).await?;
            let text = format!("disabled {username}; ended {ended} session(s)");
            print(
                json_output,
                json!({"username": username, "disabled": true, "sessions_ended": ended}),
                &text,
            );
        }
        UserCommand::Enable { username } => {
            admin::set_disabled(state, &username, false, Delivery::Wait).await?;
            print(
                json_output,
                json!({"username": username, "disabled": false}),
                &format!("enabled {username}"),
            );
        }
        UserCommand::LogoutEverywhere { username } => {
            let user = admin::find_user(state, &username).await?;
            let ended = admin::logout_everywhere(state, &user, Delivery::Wait).await?;
            let text = format!("signed {username} out everywhere: ended {ended} session(s)");
            print(
                json_output,
                json!({"username": username, "sessions_ended": ended}),
                &text,
            );
        }
        UserCommand::List => {
            let users = store.list_users().await.map_err(|e| e.to_string())?;
            let text = users
                .iter()
                .map(|u| {
                    format!(
                        "{}\t{}\t{}{}",
                        u.username,
                        u.id,
                        u.email.as_deref().unwrap_or("-"),
                        if u.disabled { "\tdisabled" } else { "" }
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            let value = json!(users.iter().map(user_json).collect::<Vec<_>>());
            print(
                json_output,
                value,
                if users.is_empty() { "no users" } else { &text },
            );
        }
    }
    Ok(())
}

async fn session_command(
    state: &AppState,
    command: SessionCommand,
    json_output: bool,
) -> Result<(), String> {
    match command {
        SessionCommand::List { user } => {
            let user = admin::find_user(state, &user).await?;
            let sessions = state
                .store
                .live_sessions(&user.id, state.now())
                .await
                .map_err(|e| e.to_string())?;
            let text = sessions
                .iter()
                .map(|s| {
                    format!(
                        "{}\t{}\t{}\tsigned in {}\tlast seen {}",
                        s.id,
                        s.ip.as_deref().unwrap_or("-"),
                        s.user_agent.as_deref().unwrap_or("-"),
                        s.auth_time,
                        s.last_seen_at
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            let value = json!(sessions.iter().map(admin::session_json).collect::<Vec<_>>());
            print(
                json_output,
                value,
                if sessions.is_empty() {
                    "no live sessions"
                } else {
                    &text
                },
            );
        }
        SessionCommand::Revoke { sid } => {
            let session = state
                .store
                .find_session(&sid)
                .await
                .map_err(|e| e.to_string())?
                .ok_or(format!("no session '{sid}'"))?;
            let ended = logout::end_sessions(state, &[session], Delivery::Wait)
                .await
                .map_err(|e| e.to_string())?;
            if ended == 0 {
                return Err(format!("session '{sid}' had already ended"));
            }
            print(
                json_output,
                json!({"revoked": sid}),
                &format!("ended session {sid}"),
            );
        }
    }
    Ok(())
}

async fn keys_command(
    state: &AppState,
    command: KeysCommand,
    json_output: bool,
) -> Result<(), String> {
    match command {
        KeysCommand::List => {
            let lines = tessera::keys::list(state).await?;
            let time = |t: Option<i64>| t.map_or("-".to_string(), |t| t.to_string());
            let text = std::iter::once(
                "kid\talg\tstate\tcreated\tactivates\tretires\tremoved\trevoked".to_string(),
            )
            .chain(lines.iter().map(|l| {
                format!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    l.kid,
                    l.alg,
                    l.state,
                    l.created_at,
                    l.activates_at,
                    time(l.retires_at),
                    time(l.removes_at),
                    time(l.revoked_at)
                )
            }))
            .collect::<Vec<_>>()
            .join("\n");
            print(json_output, json!(lines), &text);
        }
        KeysCommand::Rotate { alg, now } => {
            let outcomes = tessera::keys::rotate(state, alg, now).await?;
            let text = outcomes
                .iter()
                .map(|o| {
                    let what = if o.existing {
                        "successor already scheduled"
                    } else {
                        "new key"
                    };
                    format!(
                        "{}: {what} {} signs from {} (unix time)",
                        o.alg, o.kid, o.activates_at
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            print(json_output, json!(outcomes), &text);
        }
        KeysCommand::Revoke { kid } => {
            let (alg, live) = tessera::keys::revoke(state, &kid).await?;
            let text = format!(
                "revoked {alg} key {kid}: it leaves the JWKS at the next reload (within {}s); {live} unexpired token(s) signed with it no longer verify",
                state.config.key_reload_interval
            );
            print(
                json_output,
                json!({"revoked": kid, "alg": alg, "live_tokens_invalidated": live}),
                &text,
            );
        }
        KeysCommand::Rewrap {
            new_master_key_file,
        } => {
            let new = tessera::keys::MasterKey::load_or_create(&new_master_key_file)?;
            let count = tessera::keys::rewrap(&state.store, &state.master, &new).await?;
            let text = format!(
                "re-sealed {count} signing key(s) under {}.\nNow make it the master key: set TESSERA_MASTER_KEY to its contents, or move it to {}; the old key no longer opens them.",
                new_master_key_file.display(),
                state.config.master_key_path().display()
            );
            print(json_output, json!({"rewrapped": count}), &text);
        }
    }
    Ok(())
}

/// GET /healthz on the configured address; for HEALTHCHECK in images without curl.
async fn healthcheck(config: &Config) -> Result<(), String> {
    let mut addr = config.bind;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(3))
        // The certificate names the public host, not the loopback address checked here.
        .danger_accept_invalid_certs(true)
        .build()
        .map_err(|e| e.to_string())?;
    // The listener speaks HTTPS only when started with --tls-cert; try plain HTTP first.
    let mut problems = Vec::new();
    for scheme in ["http", "https"] {
        let url = format!("{scheme}://{addr}/healthz");
        match client.get(&url).send().await {
            Ok(r) if r.status().is_success() => return Ok(()),
            Ok(r) => problems.push(format!("{url} answered {}", r.status())),
            Err(e) => problems.push(format!("{url}: {e}")),
        }
    }
    Err(problems.join("; "))
}
