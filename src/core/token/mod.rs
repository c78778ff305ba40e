//! The token endpoint (RFC 6749 §3.2): the request parsed by `grant_type`, one module per
//! grant, and the minting of the tokens. The client is authenticated first (`client_auth`).

pub mod authorization_code;
pub mod client_assertion;
pub mod client_auth;
pub mod client_credentials;
pub mod issue;
pub mod refresh_token;

pub use issue::TokenResponse;

use super::Ctx;
use super::dpop::{self, Proof};
use super::error::{ErrorCode, OAuthError};
use super::model::{Client, GrantType};
use super::params::Params;
use super::ports::{AssertionRepo, CodeRepo, GrantStore};
use super::resources;
use super::scope::Scope;

/// The grant a token request asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum TokenRequest {
    AuthorizationCode {
        code: String,
        redirect_uri: String,
        code_verifier: Option<String>,
    },
    RefreshToken {
        refresh_token: String,
        scope: Option<Scope>,
    },
    ClientCredentials {
        scope: Option<Scope>,
    },
}

impl TokenRequest {
    pub fn parse(params: &Params) -> Result<Self, OAuthError> {
        let required = |name: &str| params.required(name).map(str::to_owned);
        let scope = || {
            params
                .get("scope")
                .map(Scope::parse)
                .transpose()
                .map_err(|e| OAuthError::invalid_scope(e.to_string()))
        };
        match params.get("grant_type") {
            None => Err(OAuthError::invalid_request("grant_type is required")),
            Some("authorization_code") => Ok(Self::AuthorizationCode {
                code: required("code")?,
                redirect_uri: required("redirect_uri")?,
                code_verifier: params.get("code_verifier").map(str::to_owned),
            }),
            Some("refresh_token") => Ok(Self::RefreshToken {
                refresh_token: required("refresh_token")?,
                scope: scope()?,
            }),
            Some("client_credentials") => Ok(Self::ClientCredentials { scope: scope()? }),
            Some(other) => Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                format!(
                    "grant_type '{}' is not supported",
                    other.chars().take(60).collect::<String>()
                ),
            )),
        }
    }

    pub fn grant_type(&self) -> GrantType {
        match self {
            Self::AuthorizationCode { .. } => GrantType::AuthorizationCode,
            Self::RefreshToken { .. } => GrantType::RefreshToken,
            Self::ClientCredentials { .. } => GrantType::ClientCredentials,
        }
    }
}

/// POST /token for an authenticated client, with the DPoP proof the request carried.
pub async fn token<S>(
    cx: &Ctx<'_, S>,
    client: &Client,
    params: &Params,
    proof: Option<&Proof<'_>>,
) -> Result<TokenResponse, OAuthError>
where
    S: GrantStore + CodeRepo + AssertionRepo,
{
    let request = TokenRequest::parse(params)?;
    if !client.allows_grant(request.grant_type()) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            format!("this client may not use the {} grant", request.grant_type()),
        ));
    }
    let jkt = match proof {
        Some(proof) => Some(dpop::verify(cx, proof, None).await?),
        None if client.must_prove_possession() => {
            return Err(OAuthError::new(
                ErrorCode::InvalidDpopProof,
                if client.is_fapi2() {
                    "the FAPI 2.0 profile requires sender-constrained tokens: send a DPoP proof with every token request"
                } else {
                    "this client must prove possession of its key: send a DPoP proof with every token request"
                },
            ));
        }
        None => None,
    };
    let jkt = jkt.as_deref();
    let resource = params.get("resource");
    match request {
        TokenRequest::AuthorizationCode {
            code,
            redirect_uri,
            code_verifier,
        } => {
            let redemption = authorization_code::Redemption {
                code: &code,
                redirect_uri: &redirect_uri,
                verifier: code_verifier.as_deref(),
                jkt,
                resource,
            };
            authorization_code::exchange(cx, client, redemption).await
        }
        TokenRequest::RefreshToken {
            refresh_token,
            scope,
        } => {
            let wanted = refresh_token::Wanted {
                scope,
                jkt,
                resource,
            };
            refresh_token::refresh(cx, client, &refresh_token, wanted).await
        }
        TokenRequest::ClientCredentials { scope } => {
            let target = resources::target(cx, resource, None).await?;
            client_credentials::grant(cx, client, scope, jkt, target.as_ref())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<TokenRequest, OAuthError> {
        let pairs = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        TokenRequest::parse(&Params::parse(pairs).unwrap())
    }

    #[test]
    fn requests_parse_by_grant_type() {
        assert_eq!(
            parse(&[("grant_type", "password")]).unwrap_err().code,
            ErrorCode::UnsupportedGrantType
        );
        assert_eq!(parse(&[]).unwrap_err().code, ErrorCode::InvalidRequest);
        assert_eq!(
            parse(&[("grant_type", "authorization_code"), ("code", "c")])
                .unwrap_err()
                .description,
            "redirect_uri is required"
        );
        assert_eq!(
            parse(&[("grant_type", "client_credentials"), ("scope", "a\"b")])
                .unwrap_err()
                .code,
            ErrorCode::InvalidScope
        );
        assert_eq!(
            parse(&[("grant_type", "refresh_token"), ("refresh_token", "r")]).unwrap(),
            TokenRequest::RefreshToken {
                refresh_token: "r".into(),
                scope: None
            }
        );
    }
}
