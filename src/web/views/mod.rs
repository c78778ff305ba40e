//! Every HTML page's data (the askama templates in `templates/`), with one constructor per
//! page, and the wording those pages use.

use askama::Template;

mod factors;
pub use factors::*;

use crate::core::authorize::AuthResponse;
use crate::core::authorize::flow::LoginPrompt;
use crate::core::consent::ConsentPrompt;
use crate::core::error::OAuthError;
use crate::core::login::Refusal;
use crate::core::logout::LogoutRequest;
use crate::core::model::Session;
use crate::core::params::Params;
use crate::core::passkeys::Challenge;
use crate::password::PolicyError;

/// The rendered page, or None when a template fails (a bug, answered as a bare 500).
pub fn render(page: &impl Template) -> Option<String> {
    page.render()
        .map_err(|e| tracing::error!(error = %e, "a template failed to render"))
        .ok()
}

pub const BAD_CREDENTIALS: &str = "The username or password is incorrect.";

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    client_name: &'a str,
    action: &'a str,
    interaction: &'a str,
    csrf: &'a str,
    username: &'a str,
    /// "Sign in with a passkey", when passkeys are available.
    passkey: Option<&'a Challenge>,
    error: Option<String>,
}

impl<'a> LoginPage<'a> {
    /// Signing in to continue to an application.
    pub fn for_interaction(prompt: &'a LoginPrompt, interaction: &'a str, csrf: &'a str) -> Self {
        Self {
            client_name: &prompt.client_name,
            action: "/login",
            interaction,
            csrf,
            username: prompt.login_hint.as_deref().unwrap_or_default(),
            passkey: prompt.passkey.as_ref(),
            error: None,
        }
    }

    /// Signing in to the account pages.
    pub fn for_account(csrf: &'a str, passkey: Option<&'a Challenge>) -> Self {
        Self {
            client_name: "your Tessera account",
            action: "/account/login",
            interaction: "",
            csrf,
            username: "",
            passkey,
            error: None,
        }
    }

    /// The same form with why a passkey sign-in was refused.
    pub fn passkey_refused(self, message: String) -> Self {
        Self {
            error: Some(message),
            ..self
        }
    }

    /// The same form again, with what was typed and why it was refused.
    pub fn refused(self, username: &'a str, refusal: &Refusal) -> Self {
        Self {
            username,
            error: Some(refusal_message(refusal)),
            ..self
        }
    }
}

pub fn refusal_message(refusal: &Refusal) -> String {
    match refusal {
        Refusal::Locked { seconds } => format!(
            "Too many failed sign-in attempts. Try again in {}.",
            describe_wait(*seconds)
        ),
        Refusal::WrongCredentials { .. } => BAD_CREDENTIALS.to_owned(),
    }
}

/// "3 minutes", for messages.
fn describe_wait(seconds: i64) -> String {
    let minutes = (seconds + 59) / 60;
    if minutes <= 1 {
        "a minute".into()
    } else {
        format!("{minutes} minutes")
    }
}

pub struct ScopeLine {
    name: String,
    description: &'static str,
}

#[derive(Template)]
#[template(path = "consent.html")]
pub struct ConsentPage<'a> {
    client_name: &'a str,
    username: &'a str,
    scopes: Vec<ScopeLine>,
    interaction: &'a str,
    csrf: &'a str,
}

impl<'a> ConsentPage<'a> {
    pub fn new(prompt: &'a ConsentPrompt, csrf: &'a str) -> Self {
        let scopes = prompt
            .scope
            .tokens()
            .into_iter()
            .map(|s| ScopeLine {
                name: s.to_owned(),
                description: describe_scope(s),
            })
            .collect();
        Self {
            client_name: &prompt.client_name,
            username: &prompt.username,
            scopes,
            interaction: &prompt.interaction,
            csrf,
        }
    }
}

/// What a person is shown on the consent page for a scope.
fn describe_scope(token: &str) -> &'static str {
    match token {
        "openid" => "Confirm your identity (a stable account identifier)",
        "profile" => "Your name and username",
        "email" => "Your email address",
        "offline_access" => "Stay signed in to this app when you are not using it",
        _ => "Access it asked for",
    }
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    title: &'a str,
    code: &'a str,
    description: &'a str,
}

impl<'a> ErrorPage<'a> {
    pub fn new(server_fault: bool, error: &'a OAuthError) -> Self {
        Self {
            title: if server_fault {
                "Something went wrong"
            } else {
                "This sign-in request cannot continue"
            },
            code: error.code.as_str(),
            description: &error.description,
        }
    }
}

/// The Form Post Response Mode page: the response as hidden fields, posted by a script that
/// only the page's CSP nonce lets run.
#[derive(Template)]
#[template(path = "form_post.html")]
pub struct FormPost<'a> {
    action: &'a str,
    fields: &'a [(&'static str, String)],
    nonce: &'a str,
}

impl<'a> FormPost<'a> {
    pub fn new(response: &'a AuthResponse, nonce: &'a str) -> Self {
        Self {
            action: &response.to.redirect_uri,
            fields: &response.params,
            nonce,
        }
    }
}

#[derive(Template)]
#[template(path = "logout.html")]
pub struct ConfirmLogoutPage<'a> {
    client_name: Option<&'a str>,
    csrf: &'a str,
    fields: Vec<(&'static str, String)>,
}

impl<'a> ConfirmLogoutPage<'a> {
    /// Asks before signing out; the form carries the request on to the confirmed POST.
    pub fn new(request: &'a LogoutRequest, params: &Params, csrf: &'a str) -> Self {
        let mut fields = Vec::new();
        for name in ["client_id", "post_logout_redirect_uri", "state"] {
            if let Some(value) = params.get(name) {
                fields.push((name, value.to_owned()));
            }
        }
        if let Some(client) = &request.client
            && !fields.iter().any(|(n, _)| *n == "client_id")
        {
            fields.push(("client_id", client.id.clone()));
        }
        Self {
            client_name: request.client.as_ref().map(|c| c.name.as_str()),
            csrf,
            fields,
        }
    }
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage<'a> {
    title: &'a str,
    text: &'a str,
}

impl MessagePage<'static> {
    pub fn signed_out() -> Self {
        Self {
            title: "You are signed out",
            text: "You can close this window.",
        }
    }
}

pub struct DeviceLine {
    sid: String,
    label: String,
    ip: String,
    signed_in: String,
    last_seen: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "sessions.html")]
pub struct SessionsPage<'a> {
    username: &'a str,
    devices: Vec<DeviceLine>,
    csrf: &'a str,
    notice: Option<&'static str>,
}

impl<'a> SessionsPage<'a> {
    /// `done` is what the previous action reported (`?done=…`).
    pub fn new(
        username: &'a str,
        sessions: Vec<Session>,
        current: &str,
        csrf: &'a str,
        done: Option<&str>,
    ) -> Self {
        let notice = match done {
            Some("revoked") => Some("That device is signed out."),
            Some("others") => Some("Every other device is signed out."),
            Some("password") => {
                Some("Your password is changed and every other device is signed out.")
            }
            _ => None,
        };
        let devices = sessions
            .into_iter()
            .map(|s| DeviceLine {
                current: s.id == current,
                label: device_label(s.device.user_agent.as_deref()),
                ip: s.device.ip.unwrap_or_else(|| "unknown address".into()),
                signed_in: format_time(s.auth_time),
                last_seen: format_time(s.last_seen_at),
                sid: s.id,
            })
            .collect();
        Self {
            username,
            devices,
            csrf,
            notice,
        }
    }
}

#[derive(Template)]
#[template(path = "password.html")]
pub struct PasswordPage<'a> {
    username: &'a str,
    csrf: &'a str,
    error: Option<String>,
}

impl<'a> PasswordPage<'a> {
    pub fn new(username: &'a str, csrf: &'a str) -> Self {
        Self {
            username,
            csrf,
            error: None,
        }
    }

    pub fn with_error(self, error: String) -> Self {
        Self {
            error: Some(error),
            ..self
        }
    }
}

pub const WRONG_CURRENT_PASSWORD: &str = "Your current password is not correct.";
pub const PASSWORDS_DIFFER: &str = "The new passwords do not match.";

/// "The password must have at least 8 characters."
pub fn policy_message(e: &PolicyError) -> String {
    let text = e.to_string();
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => text,
    }
}

/// "Firefox on Linux", from a User-Agent header.
fn device_label(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent else {
        return "Unknown device".into();
    };
    let browsers = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("PostmanRuntime", "Postman"),
        ("curl/", "curl"),
    ];
    let systems = [
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ];
    let browser = browsers
        .iter()
        .find(|(m, _)| ua.contains(m))
        .map(|(_, n)| *n);
    let system = systems
        .iter()
        .find(|(m, _)| ua.contains(m))
        .map(|(_, n)| *n);
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b} on {s}"),
        (Some(b), None) => b.to_owned(),
        (None, Some(s)) => format!("Browser on {s}"),
        (None, None) => ua.chars().take(40).collect(),
    }
}

/// Unix seconds as "2026-11-26 21:40 UTC" (civil-from-days, proleptic Gregorian).
fn format_time(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_devices_and_messages_read_well() {
        assert_eq!(format_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_time(1_795_729_200), "2026-11-26 21:40 UTC");
        assert_eq!(format_time(951_782_400), "2000-02-29 00:00 UTC");
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0";
        assert_eq!(device_label(Some(firefox)), "Firefox on Linux");
        assert_eq!(device_label(None), "Unknown device");
        assert_eq!(describe_wait(30), "a minute");
        assert_eq!(describe_wait(601), "11 minutes");
        assert_eq!(
            policy_message(&PolicyError::TooShort),
            "The password must have at least 8 characters."
        );
    }
}
