//! The claims of the tokens Tessera signs.

use serde::{Deserialize, Serialize};

/// OIDC Core §2 and §3.1.3.6.
#[derive(Serialize, Deserialize, Debug)]
pub struct IdTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub azp: String,
    pub exp: i64,
    pub iat: i64,
    pub auth_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    pub sid: String,
    pub amr: Vec<String>,
    /// The level the authentication reached (see `core::mfa::ACR_VALUES`).
    pub acr: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    #[serde(flatten)]
    pub user: UserClaims,
}

/// RFC 9068 §2.2.
#[derive(Serialize, Deserialize, Debug)]
pub struct AccessTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub client_id: String,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// The grant the token was issued from: revoking the grant revokes the token.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub gid: Option<String>,
    /// The key the token is bound to (RFC 9449 §6.1): only its holder may use the token.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cnf: Option<Confirmation>,
}

/// A confirmation claim (RFC 7800) naming a key by its JWK SHA-256 thumbprint.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Confirmation {
    pub jkt: String,
}

/// Claims about the user that the granted scopes release (OIDC Core §5.4).
#[derive(Serialize, Deserialize, Debug, Default, PartialEq)]
pub struct UserClaims {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
}

/// OIDC Back-Channel Logout 1.0 §2.4.
#[derive(Serialize, Debug)]
pub struct LogoutTokenClaims {
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    pub sub: String,
    pub sid: String,
    pub events: serde_json::Value,
}
