//! Scopes (RFC 6749 §3.3) and the ones Tessera understands.

use std::fmt;

/// Scopes this provider knows; a client may be limited to a subset. Each is about a user, so
/// none makes sense for a client acting for itself (client_credentials).
pub const SUPPORTED: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// The scope that authorises Tessera's own /admin API; only for client_credentials.
pub const ADMIN: &str = "tessera:admin";

/// A set of scope tokens, in request order, without duplicates.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Scope(Vec<String>);

impl Scope {
    /// Parses a space-delimited list; each token must be the RFC's NQCHAR characters.
    pub fn parse(text: &str) -> Result<Self, InvalidScope> {
        let mut tokens: Vec<String> = Vec::new();
        for token in text.split(' ').filter(|t| !t.is_empty()) {
            let valid = token
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
            if !valid || token.len() > 128 {
                return Err(InvalidScope(token.escape_default().to_string()));
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

    pub fn as_slice(&self) -> &[String] {
        &self.0
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
}

/// A scope token with characters RFC 6749 §3.3 does not allow, or too long.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("scope token '{0}' is not allowed")]
pub struct InvalidScope(String);

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

/// Whether a scope token is about a user (one of `SUPPORTED`) rather than an API.
pub fn is_user_scope(token: &str) -> bool {
    SUPPORTED.contains(&token)
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
