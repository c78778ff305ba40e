//! A registered relying party and the rules about what it may do.

use serde::{Deserialize, Serialize};

use crate::keys::Alg;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    None,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Client {
    pub id: String,
    pub name: String,
    #[serde(skip)]
    pub secret_hash: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub auth_method: AuthMethod,
    pub grant_types: Vec<GrantType>,
    pub scopes: Vec<String>,
    pub id_token_alg: Alg,
    pub created_at: i64,
    /// `aud` of this client's access tokens [default: the issuer].
    pub audience: Option<String>,
    /// Per-client lifetimes in seconds, overriding the global ones.
    pub access_token_ttl: Option<i64>,
    pub id_token_ttl: Option<i64>,
    pub refresh_token_ttl: Option<i64>,
    /// OIDC Back-Channel Logout 1.0 endpoint of this client.
    pub backchannel_logout_uri: Option<String>,
}

impl Client {
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

    /// A minimal client for unit tests elsewhere in the crate.
    #[cfg(test)]
    pub fn test_default() -> Self {
        Self {
            id: "app".into(),
            name: "App".into(),
            secret_hash: None,
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            auth_method: AuthMethod::ClientSecretBasic,
            grant_types: vec![GrantType::AuthorizationCode],
            scopes: vec![],
            id_token_alg: Alg::RS256,
            created_at: 0,
            audience: None,
            access_token_ttl: None,
            id_token_ttl: None,
            refresh_token_ttl: None,
            backchannel_logout_uri: None,
        }
    }
}

macro_rules! wire_names {
    ($ty:ty { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $name),+ }
            }
        }
        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl ::std::str::FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($name => Ok(Self::$variant),)+
                    other => Err(format!(
                        "unknown value '{other}' (expected one of: {})",
                        [$($name),+].join(", ")
                    )),
                }
            }
        }
    };
}
pub(crate) use wire_names;

wire_names!(AuthMethod {
    ClientSecretBasic => "client_secret_basic",
    ClientSecretPost => "client_secret_post",
    None => "none",
});

wire_names!(GrantType {
    AuthorizationCode => "authorization_code",
    RefreshToken => "refresh_token",
    ClientCredentials => "client_credentials",
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_match_exactly() {
        let client = Client {
            id: "c".into(),
            name: "C".into(),
            secret_hash: None,
            redirect_uris: vec!["https://app.example/cb".into()],
            post_logout_redirect_uris: vec![],
            auth_method: AuthMethod::None,
            grant_types: vec![GrantType::AuthorizationCode],
            scopes: vec!["openid".into()],
            id_token_alg: Alg::RS256,
            created_at: 0,
            ..Client::test_default()
        };
        assert!(client.has_redirect_uri("https://app.example/cb"));
        for near_miss in [
            "https://app.example/cb/",
            "https://app.example/cb?x=1",
            "https://APP.example/cb",
            "https://app.example/c",
        ] {
            assert!(!client.has_redirect_uri(near_miss), "{near_miss}");
        }
        assert!(client.is_public());
        assert_eq!(
            "client_secret_post".parse(),
            Ok(AuthMethod::ClientSecretPost)
        );
        assert!("private_key_jwt".parse::<AuthMethod>().is_err());
    }
}
