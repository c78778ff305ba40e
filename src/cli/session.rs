//! `tessera session list | revoke`.

use serde_json::json;

use super::operator::Operator;
use super::output::{fail, listing, print};
use crate::config::Config;
use crate::core::accounts;
use crate::core::model::Session;
use crate::core::sessions::{self, SessionSummary};

#[derive(clap::Subcommand)]
pub enum SessionCommand {
    /// A user's live sessions: id (sid), device, IP, times
    List {
        #[arg(long)]
        user: String,
    },
    /// End one session: its refresh tokens and access tokens stop working, clients are told
    Revoke {
        /// A sid is base64url and may start with '-'
        #[arg(allow_hyphen_values = true)]
        sid: String,
    },
}

pub async fn run(config: Config, command: SessionCommand, json_output: bool) -> Result<(), String> {
    let op = Operator::open(config).await?;
    let cx = op.ctx();
    match command {
        SessionCommand::List { user } => {
            let user = accounts::find_user(&op.store, &user).await.map_err(fail)?;
            let live = sessions::live_sessions(&cx, &user.id).await.map_err(fail)?;
            let text = listing(&live, session_line, "no live sessions");
            let value = json!(live.iter().map(SessionSummary::from).collect::<Vec<_>>());
            print(json_output, value, &text);
        }
        SessionCommand::Revoke { sid } => {
            let ended = sessions::end_session_by_id(&cx, &op.notifier, &sid)
                .await
                .map_err(fail)?;
            if !ended {
                return Err(format!("session '{sid}' had already ended"));
            }
            let text = format!("ended session {sid}");
            print(json_output, json!({"revoked": sid}), &text);
        }
    }
    Ok(())
}

fn session_line(s: &Session) -> String {
    format!(
        "{}\t{}\t{}\tsigned in {}\tlast seen {}",
        s.id,
        s.device.ip.as_deref().unwrap_or("-"),
        s.device.user_agent.as_deref().unwrap_or("-"),
        s.auth_time,
        s.last_seen_at
    )
}
