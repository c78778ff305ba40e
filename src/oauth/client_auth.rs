//! Client authentication at the token endpoint (RFC 6749 §2.3, OIDC Core §9).

use super::client::{AuthMethod, Client};
use crate::error::OAuthError;
use crate::secret::{b64url_decode, matches_hash};

/// The credentials a request presented, and how.
#[derive(Debug)]
pub struct Presented {
    pub client_id: String,
    pub secret: Option<String>,
    pub method: AuthMethod,
}

/// Reads credentials from the Authorization header or the form body; using both is an error.
pub fn presented(
    authorization: Option<&str>,
    form_client_id: Option<&str>,
    form_secret: Option<&str>,
) -> Result<Presented, OAuthError> {
    if let Some(header) = authorization {
        if form_secret.is_some() {
            return Err(OAuthError::invalid_request(
                "use one client authentication method, not both Basic and client_secret",
            ));
        }
        let (id, secret) = parse_basic(header)?;
        if form_client_id.is_some_and(|form_id| form_id != id) {
            return Err(OAuthError::invalid_request(
                "client_id does not match the Authorization header",
            ));
        }
        return Ok(Presented {
            client_id: id,
            secret: Some(secret),
            method: AuthMethod::ClientSecretBasic,
        });
    }
    let Some(client_id) = form_client_id else {
        return Err(OAuthError::invalid_client(
            "client authentication is required",
        ));
    };
    Ok(Presented {
        client_id: client_id.to_owned(),
        secret: form_secret.map(str::to_owned),
        method: if form_secret.is_some() {
            AuthMethod::ClientSecretPost
        } else {
            AuthMethod::None
        },
    })
}

/// RFC 6749 §2.3.1: Basic with the form-urlencoded id and secret.
fn parse_basic(header: &str) -> Result<(String, String), OAuthError> {
    let bad = || OAuthError::invalid_client("malformed Basic authorization header");
    let (scheme, encoded) = header.trim().split_once(' ').ok_or_else(bad)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::invalid_client(
            "only Basic authorization is accepted here",
        ));
    }
    let decoded = standard_b64_decode(encoded.trim()).ok_or_else(bad)?;
    let text = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = text.split_once(':').ok_or_else(bad)?;
    let decode = |s: &str| {
        url::form_urlencoded::parse(format!("v={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let id = decode(id);
    if id.is_empty() {
        return Err(bad());
    }
    Ok((id, decode(secret)))
}

fn standard_b64_decode(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .ok()
        .or_else(|| b64url_decode(text.trim_end_matches('=')))
}

/// Accepts the client only if it used its registered method and, for confidential clients, the
/// right secret. The same error for every failure, so it tells an attacker nothing.
pub fn authenticate(client: Option<Client>, presented: &Presented) -> Result<Client, OAuthError> {
    let fail = || OAuthError::invalid_client("client authentication failed");
    let client = client.ok_or_else(fail)?;
    if client.auth_method != presented.method {
        return Err(fail());
    }
    match (&client.secret_hash, &presented.secret, client.auth_method) {
        (_, None, AuthMethod::None) => Ok(client),
        (Some(hash), Some(secret), _) if matches_hash(secret, hash) => Ok(client),
        _ => Err(fail()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use crate::keys::Alg;
    use crate::oauth::client::GrantType;
    use crate::secret::hash;

    fn client(method: AuthMethod) -> Client {
        Client {
            id: "app".into(),
            name: "App".into(),
            secret_hash: (method != AuthMethod::None).then(|| hash("s3cret")),
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            auth_method: method,
            grant_types: vec![GrantType::AuthorizationCode],
            scopes: vec![],
            id_token_alg: Alg::RS256,
            created_at: 0,
            ..Client::test_default()
        }
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        // "my%20app:s%3Acret" → id "my app", secret "s:cret"
        let p = presented(Some("Basic bXklMjBhcHA6cyUzQWNyZXQ="), None, None).unwrap();
        assert_eq!(
            (p.client_id.as_str(), p.secret.as_deref()),
            ("my app", Some("s:cret"))
        );
        assert!(presented(Some("Bearer x"), None, None).is_err());
        assert!(presented(Some("Basic !!!"), None, None).is_err());
        assert!(
            presented(Some("Basic YXBwOnM="), None, Some("s")).is_err(),
            "two methods"
        );
    }

    #[test]
    fn only_the_registered_method_with_the_right_secret_passes() {
        let basic = presented(Some("Basic YXBwOnMzY3JldA=="), None, None).unwrap(); // app:s3cret
        assert!(authenticate(Some(client(AuthMethod::ClientSecretBasic)), &basic).is_ok());
        assert!(authenticate(Some(client(AuthMethod::ClientSecretPost)), &basic).is_err());
        let wrong = presented(None, Some("app"), Some("nope")).unwrap();
        let err = authenticate(Some(client(AuthMethod::ClientSecretPost)), &wrong).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidClient);
        let public = presented(None, Some("app"), None).unwrap();
        assert!(authenticate(Some(client(AuthMethod::None)), &public).is_ok());
        assert!(authenticate(Some(client(AuthMethod::ClientSecretPost)), &public).is_err());
        assert!(authenticate(None, &public).is_err());
    }
}
