//! `tessera user create | set-password | disable | enable | logout-everywhere | list | mfa`.

use std::io::Read;

use serde_json::json;

use super::operator::Operator;
use super::output::{fail, listing, print};
use crate::config::Config;
use crate::core::accounts::{self, NewUser, UserSummary};
use crate::core::enrolment;
use crate::core::model::User;
use crate::core::ports::UserRepo;

#[derive(clap::Subcommand)]
pub enum UserCommand {
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
    /// Second factors: enrol an authenticator app for a user, list, reset
    #[command(subcommand)]
    Mfa(MfaCommand),
}

#[derive(clap::Subcommand)]
pub enum MfaCommand {
    /// Enrol an authenticator app (TOTP) for the user; prints its secret, otpauth URI and
    /// recovery codes once
    EnrollTotp {
        #[arg(long)]
        username: String,
    },
    /// The user's second factors
    List {
        #[arg(long)]
        username: String,
    },
    /// Remove the user's second factors (a lost phone) and end all their sessions
    Reset {
        #[arg(long)]
        username: String,
    },
}

pub async fn run(config: Config, command: UserCommand, json_output: bool) -> Result<(), String> {
    let op = Operator::open(config).await?;
    let cx = op.ctx();
    match command {
        UserCommand::Create {
            username,
            email,
            name,
            ..
        } => {
            let password = read_password()?;
            let new = NewUser {
                username: &username,
                email,
                name,
                password: &password,
            };
            let user = accounts::create_user(&op.store, &op.offload, new, cx.now)
                .await
                .map_err(fail)?;
            let text = format!("created user {} (sub {})", user.username, user.id);
            print(json_output, json!(UserSummary::from(&user)), &text);
        }
        UserCommand::SetPassword { username, .. } => {
            let password = read_password()?;
            let ended =
                accounts::set_password(&cx, &op.offload, &op.notifier, &username, &password, None)
                    .await
                    .map_err(fail)?;
            let text = format!("password changed for {username}; ended {ended} session(s)");
            let value =
                json!({"username": username, "password_changed": true, "sessions_ended": ended});
            print(json_output, value, &text);
        }
        UserCommand::Disable { username } => {
            let ended = accounts::set_disabled(&cx, &op.notifier, &username, true)
                .await
                .map_err(fail)?;
            let text = format!("disabled {username}; ended {ended} session(s)");
            let value = json!({"username": username, "disabled": true, "sessions_ended": ended});
            print(json_output, value, &text);
        }
        UserCommand::Enable { username } => {
            accounts::set_disabled(&cx, &op.notifier, &username, false)
                .await
                .map_err(fail)?;
            let text = format!("enabled {username}");
            print(
                json_output,
                json!({"username": username, "disabled": false}),
                &text,
            );
        }
        UserCommand::LogoutEverywhere { username } => {
            let ended = accounts::logout_everywhere(&cx, &op.notifier, &username)
                .await
                .map_err(fail)?;
            let text = format!("signed {username} out everywhere: ended {ended} session(s)");
            let value = json!({"username": username, "sessions_ended": ended});
            print(json_output, value, &text);
        }
        UserCommand::List => {
            let users = op.store.list_users().await.map_err(fail)?;
            let text = listing(&users, user_line, "no users");
            let value = json!(users.iter().map(UserSummary::from).collect::<Vec<_>>());
            print(json_output, value, &text);
        }
        UserCommand::Mfa(MfaCommand::EnrollTotp { username }) => {
            let enrolled = enrolment::enroll_totp(&cx, &username).await.map_err(fail)?;
            let text = format!(
                "authenticator app enrolled for {username}\n  secret: {}\n  otpauth URI: {}\n  recovery codes (each works once):\n    {}",
                enrolled.secret,
                enrolled.otpauth_uri,
                enrolled.recovery_codes.join("\n    ")
            );
            print(json_output, json!(enrolled), &text);
        }
        UserCommand::Mfa(MfaCommand::List { username }) => {
            let factors = enrolment::second_factors(&cx, &username)
                .await
                .map_err(fail)?;
            let mut lines = vec![];
            if let Some(since) = factors.totp_since {
                lines.push(format!("authenticator app since {since}"));
            }
            for p in &factors.passkeys {
                let kind = if p.synced { "synced" } else { "device-bound" };
                lines.push(format!("passkey {:?} ({kind}, id {})", p.name, p.id));
            }
            let text = if factors.any() {
                format!(
                    "{username}: {}; {} unused recovery code(s)",
                    lines.join("; "),
                    factors.recovery_codes_left
                )
            } else {
                format!("{username}: no second factor")
            };
            let mut value = json!(factors);
            value["username"] = json!(username);
            print(json_output, value, &text);
        }
        UserCommand::Mfa(MfaCommand::Reset { username }) => {
            let ended = enrolment::reset_second_factors(&cx, &op.notifier, &username)
                .await
                .map_err(fail)?;
            let text = format!("second factors of {username} removed; ended {ended} session(s)");
            let value = json!({"username": username, "mfa_reset": true, "sessions_ended": ended});
            print(json_output, value, &text);
        }
    }
    Ok(())
}

fn user_line(u: &User) -> String {
    format!(
        "{}\t{}\t{}{}",
        u.username,
        u.id,
        u.email.as_deref().unwrap_or("-"),
        if u.disabled { "\tdisabled" } else { "" }
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
