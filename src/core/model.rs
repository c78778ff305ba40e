//! What Tessera keeps, as plain values: the use cases read and write these through the ports,
//! and the store maps them to its tables.

use serde::{Deserialize, Serialize};

use super::scope::Scope;
use crate::keys::Alg;
use crate::wire::wire_names;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    /// A JWT signed with a key the client registered (RFC 7523 §2.2, OIDC Core §9).
    PrivateKeyJwt,
    /// A JWT MACed with the client's secret (HS256/384/512, OIDC Core §9).
    ClientSecretJwt,
    None,
}

wire_names!(AuthMethod {
    ClientSecretBasic => "client_secret_basic",
    ClientSecretPost => "client_secret_post",
    PrivateKeyJwt => "private_key_jwt",
    ClientSecretJwt => "client_secret_jwt",
    None => "none",
});

impl AuthMethod {
    /// The methods that authenticate with a shared secret Tessera generated.
    pub fn uses_secret(self) -> bool {
        matches!(
            self,
            AuthMethod::ClientSecretBasic
                | AuthMethod::ClientSecretPost
                | AuthMethod::ClientSecretJwt
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
}

wire_names!(GrantType {
    AuthorizationCode => "authorization_code",
    RefreshToken => "refresh_token",
    ClientCredentials => "client_credentials",
});

/// A security profile a client is held to, on top of what its other settings require.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    /// FAPI 2.0 Security Profile: pushed requests, PKCE S256, private_key_jwt, DPoP-bound
    /// tokens, no fragment responses (codes live 60 s and responses carry `iss` for every
    /// client already).
    Fapi2,
}

wire_names!(Profile { Fapi2 => "fapi2" });

/// A registered relying party.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Client {
    pub id: String,
    pub name: String,
    #[serde(skip)]
    pub secret_hash: Option<String>,
    /// A client_secret_jwt client's secret, sealed under the master key: checking an HMAC
    /// needs the secret itself.
    #[serde(skip)]
    pub secret_sealed: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub auth_method: AuthMethod,
    pub grant_types: Vec<GrantType>,
    pub scopes: Vec<String>,
    pub id_token_alg: Alg,
    /// Signs this client's access tokens [default: the global `access_token_alg`].
    pub access_token_alg: Option<Alg>,
    pub created_at: i64,
    /// `aud` of this client's access tokens [default: the issuer].
    pub audience: Option<String>,
    /// Per-client lifetimes in seconds, overriding the global ones.
    pub access_token_ttl: Option<i64>,
    pub id_token_ttl: Option<i64>,
    pub refresh_token_ttl: Option<i64>,
    /// Seconds during which a rotated refresh token still yields its successor, for browser
    /// apps whose tabs refresh at once [default: the global setting; 0 means none].
    pub refresh_reuse_grace: Option<i64>,
    /// OIDC Back-Channel Logout 1.0 endpoint of this client.
    pub backchannel_logout_uri: Option<String>,
    /// May introspect every token, not only those issued to it or meant for it (an
    /// operator's explicit grant, for a resource server that serves many apps).
    pub introspect_any: bool,
    /// The public keys of a private_key_jwt client: a JWK Set document, or where to fetch it.
    pub jwks: Option<String>,
    pub jwks_uri: Option<String>,
    /// Every token request must carry a DPoP proof, so every access token is bound to a key
    /// (RFC 9449 §5.2, `dpop_bound_access_tokens`).
    pub require_dpop: bool,
    /// Authorization requests must be pushed first (RFC 9126 §6).
    pub require_par: bool,
    /// Its users must sign in with a second factor (enrolling one if they have none).
    pub require_mfa: bool,
    pub profile: Option<Profile>,
}

impl Client {
    /// What a client_secret_jwt client's sealed secret is bound to (the AES-GCM associated
    /// data), so a sealed secret cannot be moved to another client.
    pub fn secret_label(client_id: &str) -> String {
        format!("client-secret:{client_id}")
    }

    pub fn is_fapi2(&self) -> bool {
        self.profile == Some(Profile::Fapi2)
    }

    /// Its authorization requests must be pushed to /par.
    pub fn must_push(&self) -> bool {
        self.require_par || self.is_fapi2()
    }

    /// Its token requests must prove a DPoP key.
    pub fn must_prove_possession(&self) -> bool {
        self.require_dpop || self.is_fapi2()
    }

    /// Its authorization requests must carry a PKCE challenge.
    pub fn must_use_pkce(&self) -> bool {
        self.is_public() || self.is_fapi2()
    }

    pub fn is_public(&self) -> bool {
        self.auth_method == AuthMethod::None
    }

    /// Exact string comparison, as OAuth 2.0 Security BCP (RFC 9700 §4.1.3) requires.
    pub fn has_redirect_uri(&self, uri: &str) -> bool {
        self.redirect_uris
            .iter()
            .any(|registered| registered == uri)
    }

    pub fn allows_grant(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }
}

/// What an operator asks for when registering a client (`accounts::create_client` checks it).
#[derive(Debug, Clone)]
pub struct ClientSpec {
    pub id: Option<String>,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub auth_method: AuthMethod,
    pub grant_types: Vec<GrantType>,
    pub scopes: Vec<String>,
    pub id_token_alg: Alg,
    pub access_token_alg: Option<Alg>,
    /// Use this secret instead of generating one (the demo client's is derived).
    pub secret: Option<String>,
    pub audience: Option<String>,
    pub access_token_ttl: Option<i64>,
    pub id_token_ttl: Option<i64>,
    pub refresh_token_ttl: Option<i64>,
    pub refresh_reuse_grace: Option<i64>,
    pub backchannel_logout_uri: Option<String>,
    pub introspect_any: bool,
    pub jwks: Option<String>,
    pub jwks_uri: Option<String>,
    pub require_dpop: bool,
    pub require_par: bool,
    pub require_mfa: bool,
    pub profile: Option<Profile>,
}

impl ClientSpec {
    /// A confidential client with the defaults of `tessera client create`.
    pub fn new(name: &str, redirect_uris: Vec<String>) -> Self {
        Self {
            id: None,
            name: name.to_owned(),
            redirect_uris,
            post_logout_redirect_uris: vec![],
            auth_method: AuthMethod::ClientSecretBasic,
            grant_types: vec![],
            scopes: vec![],
            id_token_alg: Alg::RS256,
            access_token_alg: None,
            secret: None,
            audience: None,
            access_token_ttl: None,
            id_token_ttl: None,
            refresh_token_ttl: None,
            refresh_reuse_grace: None,
            backchannel_logout_uri: None,
            introspect_any: false,
            jwks: None,
            jwks_uri: None,
            require_dpop: false,
            require_par: false,
            require_mfa: false,
            profile: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub username: String,
    pub email: Option<String>,
    pub name: Option<String>,
    /// argon2id PHC string.
    pub password_hash: String,
    pub disabled: bool,
    pub password_changed_at: i64,
    pub created_at: i64,
}

/// A user's authenticator app (TOTP, RFC 6238).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TotpFactor {
    pub user_id: String,
    /// The shared secret, sealed under the master key (bound to the user id).
    pub secret_sealed: String,
    /// None while an enrolment waits for its first code.
    pub confirmed_at: Option<i64>,
    /// The last time step whose code was accepted: no code of it or before works again.
    pub last_step: Option<i64>,
    pub created_at: i64,
}

impl TotpFactor {
    /// What a sealed secret is bound to (the AES-GCM associated data).
    pub fn secret_label(user_id: &str) -> String {
        format!("totp:{user_id}")
    }
}

/// A user's passkey: a WebAuthn credential registered on the account page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasskeyFactor {
    pub id: String,
    pub user_id: String,
    /// What the user called it ("Work laptop").
    pub name: String,
    /// The WebAuthn credential id, base64url: registered once, to one account.
    pub credential_id: String,
    /// The credential as the WebAuthn crate keeps it (public key, signature counter, backup
    /// flags), JSON.
    pub credential: String,
    /// Whether the authenticator may sync it to other devices (the BE flag): a synced passkey
    /// is a software-held key (amr `swk`), a device-bound one a hardware key (`hwk`).
    pub backup_eligible: bool,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// Where a browser signed in from, as shown on the user's device list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Device {
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

/// A signed-in browser (a device); grants and refresh tokens hang off it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub id: String,
    /// SHA-256 of the cookie's token; the token itself is never stored.
    pub token_hash: String,
    pub user_id: String,
    pub device: Device,
    /// Authentication methods (RFC 8176), space-separated.
    pub amr: String,
    pub auth_time: i64,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    pub ended_at: Option<i64>,
}

/// A pending /authorize request while the user signs in and consents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interaction {
    pub id: String,
    pub client_id: String,
    /// The validated request, serialised (see `authorize::flow`).
    pub request: String,
    /// The session that signed in during this interaction.
    pub session_id: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub completed_at: Option<i64>,
}

/// An authorization request a client pushed (RFC 9126), waiting for the browser.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushedRequest {
    /// SHA-256 of the random part of its request_uri.
    pub id_hash: String,
    pub client_id: String,
    /// The request's parameters, form-encoded, without the client's credentials.
    pub params: String,
    pub expires_at: i64,
}

/// A user's (or, without a session, a client's own) authorisation of a client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    pub id: String,
    pub user_id: Option<String>,
    pub client_id: String,
    pub session_id: Option<String>,
    pub scope: Scope,
    pub auth_time: Option<i64>,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
    /// Absolute end of the grant (refresh tokens never outlive it).
    pub expires_at: Option<i64>,
    /// The API it was authorized for (RFC 8707), the `aud` of its access tokens.
    pub resource: Option<String>,
}

/// An API registered with Tessera (RFC 8707): a `resource` parameter naming its id gets
/// access tokens whose `aud` is that id, signed and timed as the API wants.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Resource {
    /// An absolute URI without a fragment, e.g. `https://api.example`.
    pub id: String,
    /// Signs its access tokens [default: the client's, then the global algorithm].
    pub access_token_alg: Option<Alg>,
    /// Lifetime of its access tokens in seconds [default: the client's, then the global one].
    pub access_token_ttl: Option<i64>,
    /// The scopes it understands: its tokens carry only these (and the OIDC ones).
    pub scopes: Vec<String>,
    /// The client (the API itself, as a resource server) that may introspect its tokens.
    pub owner_client_id: Option<String>,
    pub created_at: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthCode {
    pub code_hash: String,
    pub grant_id: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    /// The thumbprint of the key the token request must prove (the `dpop_jkt` parameter,
    /// RFC 9449 §10).
    pub dpop_jkt: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshToken {
    pub token_hash: String,
    pub grant_id: String,
    pub created_at: i64,
    pub expires_at: i64,
    /// When it was rotated, in Unix milliseconds: the reuse grace is measured precisely.
    pub rotated_at_ms: Option<i64>,
    /// A public client's token is bound to its DPoP key: refreshing needs a proof by it.
    pub dpop_jkt: Option<String>,
}

/// Something revoked: refused wherever it shows up, until no token it affects can still be
/// valid. Access tokens carry their jti, grant (`gid`) and session (`sid`), so a resource
/// server's introspection and Tessera's own checks need no lookup of the token itself.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Revoked {
    /// One access token, by jti.
    Token(String),
    /// Every token of a grant (a revoked refresh token, a replayed code, a reused refresh).
    Grant(String),
    /// Every token of every grant made in a session (the session ended).
    Session(String),
}

/// Failed guesses at one secret (a password, a client secret) or from one IP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Failures {
    pub count: i64,
    pub window_start: i64,
    pub locked_until: Option<i64>,
}
