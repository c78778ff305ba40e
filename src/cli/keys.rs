//! `tessera keys list | rotate | revoke | rewrap`: only these commands change signing keys.

use serde_json::json;

use super::operator::Operator;
use super::output::{fail, listing, print};
use crate::config::Config;
use crate::keys::{Alg, MasterKey, Timeline};

#[derive(clap::Subcommand)]
pub enum KeysCommand {
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
    Revoke {
        /// A kid is base64url and may start with '-'
        #[arg(allow_hyphen_values = true)]
        kid: String,
    },
    /// Re-seal every private key under a new master key (created if the file does not exist)
    Rewrap {
        #[arg(long)]
        new_master_key_file: std::path::PathBuf,
    },
}

pub async fn run(config: Config, command: KeysCommand, json_output: bool) -> Result<(), String> {
    let op = Operator::open(config).await?;
    let keys = op.keys();
    let now = op.now();
    match command {
        KeysCommand::List => {
            let lines = keys.list(&op.schedule, now).await.map_err(fail)?;
            let header = "kid\talg\tstate\tcreated\tactivates\tretires\tremoved\trevoked";
            let text = format!("{header}\n{}", listing(&lines, key_line, ""));
            print(json_output, json!(lines), text.trim_end());
        }
        KeysCommand::Rotate { alg, now: at_once } => {
            let outcomes = keys
                .rotate(&op.schedule, alg, at_once, now)
                .await
                .map_err(fail)?;
            let line = |o: &crate::core::rotation::RotateOutcome| {
                let what = if o.existing {
                    "successor already scheduled"
                } else {
                    "new key"
                };
                format!(
                    "{}: {what} {} signs from {} (unix time)",
                    o.alg, o.kid, o.activates_at
                )
            };
            print(json_output, json!(outcomes), &listing(&outcomes, line, ""));
        }
        KeysCommand::Revoke { kid } => {
            let alg = keys.revoke(&op.schedule, &kid, now).await.map_err(fail)?;
            let text = format!(
                "revoked {alg} key {kid}: it leaves the JWKS at the next reload (within {}s); every unexpired token it signed no longer verifies",
                op.config.key_reload_interval
            );
            let value = json!({"revoked": kid, "alg": alg});
            print(json_output, value, &text);
        }
        KeysCommand::Rewrap {
            new_master_key_file,
        } => {
            let new = MasterKey::load_or_create(&new_master_key_file).map_err(fail)?;
            let count = keys.rewrap(&new).await.map_err(fail)?;
            let text = format!(
                "re-sealed {count} signing key(s) under {}.\nNow make it the master key: set TESSERA_MASTER_KEY to its contents, or move it to {}; the old key no longer opens them.",
                new_master_key_file.display(),
                op.config.master_key_path().display()
            );
            print(json_output, json!({"rewrapped": count}), &text);
        }
    }
    Ok(())
}

fn key_line(l: &Timeline) -> String {
    let time = |t: Option<i64>| t.map_or("-".to_string(), |t| t.to_string());
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
}
