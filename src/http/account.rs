//! The signed-in user's own pages: their devices (sessions), signing devices out, and changing
//! the password (which signs every other device out).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::authorize::see_other;
use super::pages::{LoginPage, SignIn, check_credentials, page, start_browser_session};
use super::{check_csrf, csrf_token, form_params, query_params, signed_in};
use crate::admin;
use crate::error::{ErrorCode, PageError};
use crate::oauth::authorize::Params;
use crate::oauth::flow::Signed;
use crate::oauth::logout::{self, Delivery};
use crate::state::AppState;

struct DeviceLine {
    sid: String,
    label: String,
    ip: String,
    signed_in: String,
    last_seen: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "sessions.html")]
struct SessionsPage<'a> {
    username: &'a str,
    devices: Vec<DeviceLine>,
    csrf: &'a str,
    notice: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage<'a> {
    username: &'a str,
    csrf: &'a str,
    error: Option<&'a str>,
}

pub async fn account() -> HttpResponse {
    see_other("/account/sessions")
}

pub async fn login_page(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let (csrf, cookie) = csrf_token(&state, &req);
    let data = LoginPage {
        client_name: "your Tessera account",
        action: "/account/login",
        interaction: "",
        csrf: &csrf,
        username: "",
        error: None,
    };
    page(data, StatusCode::OK, cookie)
}

pub async fn login_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let form = form_params(&req, &body)?;
    check_csrf(&state, &req, form.get("csrf"))?;
    let username = form.get("username").unwrap_or_default().trim();
    let user = match check_credentials(
        &state,
        &req,
        username,
        form.get("password").unwrap_or_default(),
    )
    .await?
    {
        SignIn::User(user) => user,
        refused => {
            let (csrf, cookie) = csrf_token(&state, &req);
            let (message, status) = refused.problem();
            let data = LoginPage {
                client_name: "your Tessera account",
                action: "/account/login",
                interaction: "",
                csrf: &csrf,
                username,
                error: Some(&message),
            };
            return page(data, status, cookie);
        }
    };
    let (_, cookie) = start_browser_session(&state, &req, user).await?;
    let mut response = see_other("/account/sessions");
    if let Some(c) = cookie {
        response
            .add_cookie(&c)
            .map_err(|_| PageError::from(crate::error::OAuthError::server_error()))?;
    }
    Ok(response)
}

/// An account page's failure: an error page, or a browser that must sign in first.
#[derive(Debug)]
pub enum AccountError {
    Page(PageError),
    NotSignedIn,
}

impl std::fmt::Display for AccountError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

impl actix_web::ResponseError for AccountError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Page(e) => e.status,
            Self::NotSignedIn => StatusCode::FOUND,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Page(e) => e.error_response(),
            Self::NotSignedIn => see_other("/account/login"),
        }
    }
}

impl<E: Into<PageError>> From<E> for AccountError {
    fn from(e: E) -> Self {
        Self::Page(e.into())
    }
}

/// A CSRF-checked form posted by a signed-in browser.
async fn signed_form(
    state: &AppState,
    req: &HttpRequest,
    body: &[u8],
) -> Result<(Params, Signed), AccountError> {
    let form = form_params(req, body)?;
    check_csrf(state, req, form.get("csrf"))?;
    Ok((form, require_signed_in(state, req).await?))
}

/// The signed-in browser, or (as an error) a redirect to the account login.
async fn require_signed_in(state: &AppState, req: &HttpRequest) -> Result<Signed, AccountError> {
    signed_in(state, req)
        .await?
        .ok_or(AccountError::NotSignedIn)
}

pub async fn sessions_page(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, AccountError> {
    let signed = require_signed_in(&state, &req).await?;
    let notice = match query_params(&req)?.get("done") {
        Some("revoked") => Some("That device is signed out."),
        Some("others") => Some("Every other device is signed out."),
        Some("password") => Some("Your password is changed and every other device is signed out."),
        _ => None,
    };
    let sessions = state
        .store
        .live_sessions(&signed.user.id, state.now())
        .await?;
    let devices = sessions
        .into_iter()
        .map(|s| DeviceLine {
            current: s.id == signed.session.id,
            label: device_label(s.user_agent.as_deref()),
            ip: s.ip.unwrap_or_else(|| "unknown address".into()),
            signed_in: format_time(s.auth_time),
            last_seen: format_time(s.last_seen_at),
            sid: s.id,
        })
        .collect();
    let (csrf, cookie) = csrf_token(&state, &req);
    let data = SessionsPage {
        username: &signed.user.username,
        devices,
        csrf: &csrf,
        notice,
    };
    Ok(page(data, StatusCode::OK, cookie)?)
}

pub async fn revoke_session(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, AccountError> {
    let (form, signed) = signed_form(&state, &req, &body).await?;
    let sid = form.get("sid").unwrap_or_default();
    // Only the user's own sessions: an unknown or foreign sid is simply not found.
    let target = state
        .store
        .find_session(sid)
        .await?
        .filter(|s| s.user_id == signed.user.id);
    let Some(target) = target else {
        let missing = PageError::bad_request(
            ErrorCode::InvalidRequest,
            "no such device among your sessions",
        );
        return Err(missing.into());
    };
    logout::end_sessions(&state, &[target], Delivery::Background).await?;
    Ok(see_other("/account/sessions?done=revoked"))
}

pub async fn revoke_others(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, AccountError> {
    let (_, signed) = signed_form(&state, &req, &body).await?;
    logout::end_user_sessions(
        &state,
        &signed.user.id,
        Some(&signed.session.id),
        Delivery::Background,
    )
    .await?;
    Ok(see_other("/account/sessions?done=others"))
}

pub async fn password_page(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, AccountError> {
    let signed = require_signed_in(&state, &req).await?;
    let (csrf, cookie) = csrf_token(&state, &req);
    Ok(page(
        PasswordPage {
            username: &signed.user.username,
            csrf: &csrf,
            error: None,
        },
        StatusCode::OK,
        cookie,
    )?)
}

pub async fn change_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, AccountError> {
    let (form, signed) = signed_form(&state, &req, &body).await?;
    let new = form.get("new_password").unwrap_or_default();
    let current = check_credentials(
        &state,
        &req,
        &signed.user.username,
        form.get("current_password").unwrap_or_default(),
    )
    .await?;
    let current_ok = matches!(current, SignIn::User(_));
    if let SignIn::Locked(_) = current {
        let (message, status) = current.problem();
        let (csrf, cookie) = csrf_token(&state, &req);
        let data = PasswordPage {
            username: &signed.user.username,
            csrf: &csrf,
            error: Some(&message),
        };
        return Ok(page(data, status, cookie)?);
    }
    let problem = if !current_ok {
        Some("Your current password is not correct.".to_string())
    } else if Some(new) != form.get("confirm_password") {
        Some("The new passwords do not match.".to_string())
    } else {
        crate::password::check_policy(new)
            .err()
            .map(|e| format!("{}{}.", e[..1].to_uppercase(), &e[1..]))
    };
    if let Some(message) = problem {
        let (csrf, cookie) = csrf_token(&state, &req);
        let data = PasswordPage {
            username: &signed.user.username,
            csrf: &csrf,
            error: Some(&message),
        };
        return Ok(page(data, StatusCode::BAD_REQUEST, cookie)?);
    }
    admin::set_password(
        &state,
        &signed.user.username,
        new,
        Some(&signed.session.id),
        Delivery::Background,
    )
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "password change failed");
        PageError::from(crate::error::OAuthError::server_error())
    })?;
    Ok(see_other("/account/sessions?done=password"))
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
    fn times_and_devices_read_well() {
        assert_eq!(format_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_time(1_795_729_200), "2026-11-26 21:40 UTC");
        assert_eq!(format_time(951_782_400), "2000-02-29 00:00 UTC");
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0";
        assert_eq!(device_label(Some(firefox)), "Firefox on Linux");
        assert_eq!(device_label(None), "Unknown device");
    }
}
