//! The second-factor pages' data and wording: the second step of a sign-in (a code, a
//! passkey or a recovery code), enrolling an authenticator app, recovery codes, and the
//! account's page of second factors and passkeys.

use askama::Template;

use super::{describe_wait, format_time};
use crate::core::enrolment::AccountFactors;
use crate::core::mfa::{CodeRefusal, Enrolment};
use crate::core::passkeys::{Challenge, MAX_NAME, MAX_PASSKEYS, Refusal};

/// Where a second-factor page was reached from: an application's sign-in, or the account.
pub struct SecondFactorContext<'a> {
    pub client_name: &'a str,
    pub username: &'a str,
    /// The interaction's id; empty for the account pages.
    pub interaction: &'a str,
    pub csrf: &'a str,
}

#[derive(Template)]
#[template(path = "second_factor.html")]
pub struct SecondFactorPage<'a> {
    at: SecondFactorContext<'a>,
    /// The user has an authenticator app (else the code field takes a recovery code).
    totp: bool,
    passkey: Option<&'a Challenge>,
    error: Option<String>,
}

impl<'a> SecondFactorPage<'a> {
    pub fn new(
        at: SecondFactorContext<'a>,
        (totp, passkey): (bool, Option<&'a Challenge>),
        error: Option<String>,
    ) -> Self {
        Self {
            at,
            totp,
            passkey,
            error,
        }
    }
}

#[derive(Template)]
#[template(path = "enroll.html")]
pub struct EnrollPage<'a> {
    at: SecondFactorContext<'a>,
    /// Where the code is posted.
    action: &'a str,
    qr_svg: String,
    secret: &'a str,
    uri: &'a str,
    error: Option<String>,
}

impl<'a> EnrollPage<'a> {
    pub fn new(
        at: SecondFactorContext<'a>,
        action: &'a str,
        enrolment: &'a Enrolment,
        error: Option<String>,
    ) -> Self {
        Self {
            at,
            action,
            qr_svg: qr_svg(&enrolment.uri),
            secret: &enrolment.secret,
            uri: &enrolment.uri,
            error,
        }
    }
}

/// The otpauth URI as an inline SVG QR code (no script, no image request).
fn qr_svg(uri: &str) -> String {
    match qrcode::QrCode::new(uri.as_bytes()) {
        Ok(code) => {
            let svg = code
                .render::<qrcode::render::svg::Color<'_>>()
                .min_dimensions(200, 200)
                .quiet_zone(true)
                .build();
            // Inline in the page: without the XML declaration.
            svg.find("<svg")
                .map_or(svg.clone(), |at| svg[at..].to_owned())
        }
        Err(_) => String::new(),
    }
}

#[derive(Template)]
#[template(path = "recovery_codes.html")]
pub struct RecoveryCodesPage<'a> {
    codes: &'a [String],
    continue_to: &'a str,
}

impl<'a> RecoveryCodesPage<'a> {
    pub fn new(codes: &'a [String], continue_to: &'a str) -> Self {
        Self { codes, continue_to }
    }
}

#[derive(Template)]
#[template(path = "recovery_code_used.html")]
pub struct RecoveryCodeUsedPage<'a> {
    left: usize,
    continue_to: &'a str,
}

impl<'a> RecoveryCodeUsedPage<'a> {
    pub fn new(left: usize, continue_to: &'a str) -> Self {
        Self { left, continue_to }
    }
}

/// A passkey as the account page lists it.
pub struct PasskeyLine {
    id: String,
    name: String,
    kind: &'static str,
    added: String,
    last_used: String,
}

#[derive(Template)]
#[template(path = "mfa.html")]
pub struct MfaPage<'a> {
    username: &'a str,
    totp_since: Option<String>,
    any_factor: bool,
    passkeys: Vec<PasskeyLine>,
    /// The registration a new passkey answers, or why none can be added.
    registration: Result<&'a Challenge, String>,
    max_name: usize,
    codes_left: usize,
    csrf: &'a str,
    notice: Option<&'static str>,
    error: Option<String>,
}

impl<'a> MfaPage<'a> {
    pub fn new(
        username: &'a str,
        account: &'a AccountFactors,
        csrf: &'a str,
        done: Option<&str>,
    ) -> Self {
        let factors = &account.factors;
        let passkeys = factors
            .passkeys
            .iter()
            .map(|p| PasskeyLine {
                id: p.id.clone(),
                name: p.name.clone(),
                kind: if p.synced {
                    "Synced passkey"
                } else {
                    "Passkey on one device"
                },
                added: format_time(p.created_at),
                last_used: p.last_used_at.map_or_else(
                    || "never used".into(),
                    |t| format!("last used {}", format_time(t)),
                ),
            })
            .collect();
        Self {
            username,
            totp_since: factors.totp_since.map(format_time),
            any_factor: factors.any(),
            passkeys,
            registration: account
                .registration
                .as_ref()
                .map_err(passkey_refusal_message),
            max_name: MAX_NAME,
            codes_left: factors.recovery_codes_left,
            csrf,
            notice: match done {
                Some("removed") => {
                    Some("Two-step verification is off. Your other devices were signed out.")
                }
                Some("enrolled") => Some("Two-step verification is on."),
                Some("passkey-added") => Some("Your passkey was added."),
                Some("totp-removed") => {
                    Some("The authenticator app was removed. Your other devices were signed out.")
                }
                Some("passkey-removed") => {
                    Some("The passkey was removed. Your other devices were signed out.")
                }
                _ => None,
            },
            error: None,
        }
    }

    /// The same page with why a passkey was not added.
    pub fn refused(self, refusal: &Refusal) -> Self {
        Self {
            error: Some(passkey_refusal_message(refusal)),
            ..self
        }
    }
}

/// Why a passkey was not accepted, for the pages.
pub fn passkey_refusal_message(refusal: &Refusal) -> String {
    match refusal {
        Refusal::Unavailable => {
            "Passkeys need Tessera to be reached at a domain name, not an IP address.".into()
        }
        Refusal::Stale => "That passkey request expired or was already used. Try again.".into(),
        Refusal::Failed => {
            "The passkey could not be verified. Try again, or use another way to sign in.".into()
        }
        Refusal::Unknown => {
            "This passkey is not registered here. Sign in with your password, then add it on your account page.".into()
        }
        Refusal::Duplicate => "This passkey is already registered.".into(),
        Refusal::TooMany => format!(
            "An account may hold {MAX_PASSKEYS} passkeys. Remove one before adding another."
        ),
    }
}

/// Why a second-factor code was refused, for the page.
pub fn code_refusal_message(refusal: &CodeRefusal) -> String {
    match refusal {
        CodeRefusal::Wrong { .. } => {
            "That code is not right, or was already used. Enter the current code from your authenticator app, or a recovery code.".into()
        }
        CodeRefusal::Locked { seconds } => format!(
            "Too many wrong codes. Try again in {}.",
            describe_wait(*seconds)
        ),
        CodeRefusal::NotEnrolled => {
            "No authenticator app is set up for this account yet.".into()
        }
        CodeRefusal::Passkey(refusal) => passkey_refusal_message(refusal),
    }
}
