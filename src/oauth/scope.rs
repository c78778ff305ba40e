//! Scopes (RFC 6749 §3.3) and the ones Tessera understands.

use std::fmt;

/// Scopes this provider knows; a client may be limited to a subset.
pub const SUPPORTED: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// The scope that authorises Tessera's own /admin API; only for client_credentials.
pub const ADMIN: &str = "tessera:admin";

/// A set of scope tokens, in request order, without duplicates.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Scope(Vec<String>);

impl Scope {
    /// Parses a space-delimited list; each token must be the RFC's NQCHAR characters.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut tokens: Vec<String> = Vec::new();
        for token in text.split(' ').filter(|t| !t.is_empty()) {
            let valid = token
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
            if !valid || token.len() > 128 {
                return Err(format!(
                    "scope token '{}' is not allowed",
                    token.escape_default()
                ));
            }
            if !tokens.iter().any(|t| t == token) {
                tokens.push(token.to_owned());
            }
        }
        Ok(Self(tokens))
    }

    pub fn contains(&self, token: &str) -> bool {
        self.0.iter().any(|t| t == token)
    }

    pub fn tokens(&self) -> Vec<&str> {
        self.0.iter().map(String::as_str).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The first token not in `allowed`, if any.
    pub fn first_outside(&self, allowed: &[String]) -> Option<&str> {
        self.0
            .iter()
            .find(|t| !allowed.iter().any(|a| a == *t))
            .map(String::as_str)
    }

    pub fn is_covered_by(&self, granted: &[String]) -> bool {
        self.first_outside(granted).is_none()
    }

    pub fn into_vec(self) -> Vec<String> {
        self.0
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

/// What a person is shown on the consent page for a scope.
pub fn describe(token: &str) -> &'static str {
    match token {
        "openid" => "Confirm your identity (a stable account identifier)",
        "profile" => "Your name and username",
        "email" => "Your email address",
        "offline_access" => "Stay signed in to this app when you are not using it",
        _ => "Access it asked for",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dedupes_and_checks() {
        let s = Scope::parse("openid  email openid").unwrap();
        assert_eq!(s.to_string(), "openid email");
        assert!(Scope::parse("open\"id").is_err());
        assert!(Scope::parse("a\\b").is_err());
        let allowed = vec!["openid".to_string()];
        assert_eq!(s.first_outside(&allowed), Some("email"));
        assert!(Scope::parse("openid").unwrap().is_covered_by(&allowed));
    }
}
