//! Tessera as a separate process: `tessera serve` started from the built binary.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const MASTER_KEY: &str = "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// What else `Server::start_with` gives the process: arguments after `serve` (e.g.
/// `--demo`), environment variables, and a file for its standard output.
#[derive(Default)]
pub struct Extra<'a> {
    pub args: &'a [&'a str],
    pub env: &'a [(&'a str, &'a str)],
    pub stdout: Option<std::fs::File>,
}

pub struct Server {
    child: Child,
    pub base: String,
}

impl Server {
    pub async fn start(port: u16, issuer: &str, db_url: &str, log: &Path) -> Self {
        Self::start_with(port, issuer, db_url, log, &Extra::default()).await
    }

    /// `tessera serve` with `extra` arguments, environment and standard output.
    pub async fn start_with(
        port: u16,
        issuer: &str,
        db_url: &str,
        log: &Path,
        extra: &Extra<'_>,
    ) -> Self {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
            .args([
                "serve",
                "--log-format",
                "json",
                "--bind",
                &format!("127.0.0.1:{port}"),
            ])
            .args(extra.args)
            .envs(extra.env.iter().copied())
            .env("TESSERA_DATABASE_URL", db_url)
            .env("TESSERA_MASTER_KEY", MASTER_KEY)
            .env("TESSERA_ISSUER", issuer)
            .env("TESSERA_LOG", "info")
            .env_remove("TESSERA_CONFIG")
            .stdout(
                extra
                    .stdout
                    .as_ref()
                    .map_or_else(Stdio::null, |f| Stdio::from(f.try_clone().unwrap())),
            )
            .stderr(Stdio::from(file))
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        for _ in 0..200 {
            if let Ok(r) = http.get(format!("{base}/healthz")).send().await
                && r.status() == 200
            {
                return Self { child, base };
            }
            actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "server on {base} did not start; log:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
    }

    pub fn kill9(&mut self) {
        self.child.kill().unwrap(); // SIGKILL
        self.child.wait().unwrap();
    }

    /// SIGTERM, then the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        for _ in 0..150 {
            if let Some(exit) = self.child.try_wait().unwrap() {
                return exit;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.child.kill().unwrap();
        panic!("no exit within 15 s of SIGTERM");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// `tessera client create ARGS --json` on `db_url`: the new client's id and secret.
fn create_client(db_url: &str, issuer: &str, args: &[&str]) -> (String, String) {
    let args = [&["client", "create"], args, &["--json"]].concat();
    let (ok, out, err) = super::run_cli(db_url, MASTER_KEY, issuer, &args, None);
    assert!(ok, "{err}");
    let client: serde_json::Value = serde_json::from_str(&out).unwrap();
    let text = |name: &str| client[name].as_str().unwrap().to_owned();
    (text("client_id"), text("client_secret"))
}

/// A client_credentials client created with the CLI on `db_url`: its id and secret.
pub fn client_credentials_client(db_url: &str, issuer: &str, name: &str) -> (String, String) {
    create_client(
        db_url,
        issuer,
        &["--name", name, "--grant", "client_credentials"],
    )
}

/// alice's password in the databases `seed_app` fills.
pub const PASSWORD: &str = "a process-test password";

/// A code-flow client (redirecting to `REDIRECT`, with refresh tokens) and the user alice,
/// created with the CLI on `db_url`; returns the client's id and secret.
pub fn seed_app(db_url: &str, issuer: &str) -> (String, String) {
    let grants = ["--grant", "authorization_code", "--grant", "refresh_token"];
    let args = [
        &["--name", "Process App", "--redirect-uri", super::REDIRECT],
        &grants[..],
    ]
    .concat();
    let client = create_client(db_url, issuer, &args);
    let args = ["user", "create", "--username", "alice", "--password-stdin"];
    let (ok, _, err) = super::run_cli(db_url, MASTER_KEY, issuer, &args, Some(PASSWORD));
    assert!(ok, "{err}");
    client
}
