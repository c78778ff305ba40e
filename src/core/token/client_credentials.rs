//! The client credentials grant (RFC 6749 §4.4): the client acts for itself, so there is no
//! user, no id_token and no refresh token, and no scope about a user.

use super::issue::{self, Subject, TokenResponse};
use crate::core::Ctx;
use crate::core::error::OAuthError;
use crate::core::model::{Client, Resource};
use crate::core::resources;
use crate::core::scope::{Scope, is_user_scope};

/// A self-contained access token and nothing stored: revoking it records its jti.
pub fn grant<S>(
    cx: &Ctx<'_, S>,
    client: &Client,
    scope: Option<Scope>,
    jkt: Option<&str>,
    resource: Option<&Resource>,
) -> Result<TokenResponse, OAuthError> {
    let mut scope = granted_scope(client, scope)?;
    if let Some(resource) = resource {
        scope = resources::scope_for(resource, &scope, true)?;
    }
    let subject = Subject {
        jkt,
        resource,
        ..Subject::client(&scope)
    };
    issue::issue(cx, client, subject)
}

/// The requested scope if the client may have it, else every API scope it is registered for.
fn granted_scope(client: &Client, requested: Option<Scope>) -> Result<Scope, OAuthError> {
    match requested {
        Some(requested) if !requested.is_empty() => {
            if let Some(denied) = requested.first_outside(&client.scopes) {
                return Err(OAuthError::invalid_scope(format!(
                    "this client may not request scope '{denied}'"
                )));
            }
            if let Some(user_scope) = requested.tokens().into_iter().find(|t| is_user_scope(t)) {
                return Err(OAuthError::invalid_scope(format!(
                    "scope '{user_scope}' needs a user; client_credentials has none"
                )));
            }
            Ok(requested)
        }
        _ => {
            let api: Vec<&str> = client
                .scopes
                .iter()
                .map(String::as_str)
                .filter(|s| !is_user_scope(s))
                .collect();
            Scope::parse(&api.join(" ")).map_err(|e| OAuthError::invalid_scope(e.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::AuthMethod;
    use crate::core::testing::client;

    #[test]
    fn only_api_scopes_the_client_is_registered_for() {
        let c = Client {
            scopes: vec!["openid".into(), "orders:read".into(), "orders:write".into()],
            ..client(AuthMethod::ClientSecretBasic)
        };
        let scope = |s: &str| Some(Scope::parse(s).unwrap());
        assert_eq!(
            granted_scope(&c, None).unwrap().to_string(),
            "orders:read orders:write"
        );
        assert_eq!(
            granted_scope(&c, scope("orders:read")).unwrap().to_string(),
            "orders:read"
        );
        assert!(granted_scope(&c, scope("openid")).is_err(), "a user scope");
        assert!(
            granted_scope(&c, scope("billing")).is_err(),
            "not registered"
        );
    }
}
