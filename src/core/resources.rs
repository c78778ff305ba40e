//! Resource indicators (RFC 8707): a client names the API it wants a token for with the
//! `resource` parameter, at /authorize or /token. The API must be registered (`tessera resource
//! create`); its id becomes the access token's `aud`, and its settings choose the token's
//! algorithm (a gateway that verifies only RS256 gets RS256), lifetime and scopes. An unknown
//! or malformed resource is `invalid_target`. A grant authorized for one resource yields
//! tokens for that one only.

use super::Ctx;
use super::error::{AccountError, ErrorCode, OAuthError};
use super::model::Resource;
use super::ports::{ClientRepo, ResourceRepo};
use super::scope::{Scope, is_user_scope};

fn invalid_target(why: String) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidTarget, why)
}

/// An absolute URI without a fragment (RFC 8707 §2).
fn is_resource_uri(uri: &str) -> bool {
    url::Url::parse(uri).is_ok_and(|u| u.fragment().is_none())
}

/// The resource a token request is for: the one it names, or the one its grant was authorized
/// for; a request may not name another than its grant's.
pub async fn target<S: ResourceRepo>(
    cx: &Ctx<'_, S>,
    requested: Option<&str>,
    granted: Option<&str>,
) -> Result<Option<Resource>, OAuthError> {
    let Some(id) = requested.or(granted) else {
        return Ok(None);
    };
    if let (Some(asked), Some(granted)) = (requested, granted)
        && asked != granted
    {
        return Err(invalid_target(format!(
            "this grant was authorized for the resource {granted} only"
        )));
    }
    if !is_resource_uri(id) {
        return Err(invalid_target(
            "resource must be an absolute URI without a fragment".into(),
        ));
    }
    cx.store.find_resource(id).await?.map(Some).ok_or_else(|| {
        invalid_target(format!(
            "the resource {} is not registered here",
            id.chars().take(200).collect::<String>()
        ))
    })
}

/// The scope of a token for `resource`: for a client acting for itself, every requested scope
/// must be one the resource understands; a user's grant keeps the OIDC scopes and those the
/// resource understands.
pub fn scope_for(resource: &Resource, scope: &Scope, strict: bool) -> Result<Scope, OAuthError> {
    let understood = |t: &str| resource.scopes.iter().any(|s| s == t);
    if strict && let Some(other) = scope.tokens().into_iter().find(|t| !understood(t)) {
        return Err(OAuthError::invalid_scope(format!(
            "the resource {} does not accept scope '{other}'",
            resource.id
        )));
    }
    let kept: Vec<&str> = scope
        .tokens()
        .into_iter()
        .filter(|t| understood(t) || is_user_scope(t))
        .collect();
    Scope::parse(&kept.join(" ")).map_err(|e| OAuthError::invalid_scope(e.to_string()))
}

/// Registers an API (`tessera resource create`).
pub async fn create<S: ResourceRepo + ClientRepo>(
    store: &S,
    resource: Resource,
) -> Result<Resource, AccountError> {
    let invalid = |msg: String| Err(AccountError::Invalid(msg));
    if !is_resource_uri(&resource.id) {
        return invalid(format!(
            "--id '{}' must be an absolute URI without a fragment, e.g. https://api.example",
            resource.id
        ));
    }
    if resource.access_token_ttl.is_some_and(|t| t <= 0) {
        return invalid("--lifetime must be a positive number of seconds".into());
    }
    Scope::parse(&resource.scopes.join(" "))
        .map_err(|e| AccountError::Invalid(format!("--scope: {e}")))?;
    if let Some(owner) = &resource.owner_client_id
        && store.find_client(owner).await?.is_none()
    {
        return invalid(format!("--client '{owner}' is not a registered client"));
    }
    if store.find_resource(&resource.id).await?.is_some() {
        return Err(AccountError::Exists(format!(
            "a resource '{}' already exists",
            resource.id
        )));
    }
    store.insert_resource(&resource).await?;
    Ok(resource)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testing::{MemoryStore, block_on, context, policy};

    fn api() -> Resource {
        Resource {
            id: "https://api.example".into(),
            access_token_alg: None,
            access_token_ttl: Some(120),
            scopes: vec!["orders:read".into()],
            owner_client_id: None,
            created_at: 0,
        }
    }

    #[test]
    fn a_request_gets_a_registered_resource_and_keeps_to_its_grants() {
        let (store, policy) = (MemoryStore::default(), policy());
        block_on(create(&store, api())).unwrap();
        let cx = context(&store, &policy, 10);
        let code = |e: OAuthError| e.code;
        let found = block_on(target(&cx, Some("https://api.example"), None)).unwrap();
        assert_eq!(found.unwrap().access_token_ttl, Some(120));
        assert!(block_on(target(&cx, None, None)).unwrap().is_none());
        let granted = block_on(target(&cx, None, Some("https://api.example"))).unwrap();
        assert!(granted.is_some(), "the grant's resource by default");
        for (asked, granted) in [
            (Some("https://other.example"), None),
            (Some("https://other.example"), Some("https://api.example")),
            (Some("not a uri"), None),
            (Some("https://api.example#frag"), None),
        ] {
            let err = block_on(target(&cx, asked, granted)).unwrap_err();
            assert_eq!(code(err), ErrorCode::InvalidTarget, "{asked:?} {granted:?}");
        }
        assert!(block_on(create(&store, api())).is_err(), "registered twice");
    }

    #[test]
    fn a_resources_tokens_carry_only_the_scopes_it_understands() {
        let wanted = Scope::parse("openid orders:read profile:write").unwrap();
        let kept = scope_for(&api(), &wanted, false).unwrap();
        assert_eq!(kept.to_string(), "openid orders:read");
        let err = scope_for(&api(), &wanted, true).unwrap_err();
        assert!(err.description.contains("does not accept scope 'openid'"));
        let fine = Scope::parse("orders:read").unwrap();
        assert_eq!(
            scope_for(&api(), &fine, true).unwrap().to_string(),
            "orders:read"
        );
    }
}
