//! The consent step of an authorization: what the user is asked, and what the answer does.
//! Consents are remembered per user and client, so a later request for the same scopes goes
//! straight through.

use super::Ctx;
use super::authorize::flow::{self, AuthResponse, Outcome};
use super::authorize::request::AuthorizeRequest;
use super::error::{ErrorCode, OAuthError};
use super::model::Interaction;
use super::ports::{ClientRepo, CodeRepo, ConsentRepo, GrantRepo, InteractionRepo, SessionRepo};
use super::scope::Scope;
use super::sessions::SignedIn;

/// What the consent page shows.
pub struct ConsentPrompt {
    pub client_name: String,
    pub username: String,
    pub scope: Scope,
    pub interaction: String,
}

pub enum Step {
    Ask(ConsentPrompt),
    /// Not the browser that signed in for this interaction: it signs in again.
    Go(Outcome),
}

/// An interaction at its consent step, with the browser that signed in for it.
struct Ready {
    interaction: Interaction,
    request: AuthorizeRequest,
    signed: SignedIn,
}

/// The consent step needs the browser that signed in during this interaction; None sends any
/// other back to the login page.
async fn ready<S: InteractionRepo>(
    cx: &Ctx<'_, S>,
    id: &str,
    signed: Option<SignedIn>,
) -> Result<Option<Ready>, OAuthError> {
    let (interaction, request) = flow::pending(cx, id).await?;
    let Some(signed) = signed else {
        return Ok(None);
    };
    if interaction
        .session_id
        .as_ref()
        .is_some_and(|sid| *sid != signed.session.id)
    {
        return Ok(None);
    }
    Ok(Some(Ready {
        interaction,
        request,
        signed,
    }))
}

fn relogin(id: &str) -> Outcome {
    Outcome::Login {
        interaction: id.to_owned(),
    }
}

pub async fn prompt<S: InteractionRepo + ClientRepo>(
    cx: &Ctx<'_, S>,
    id: &str,
    signed: Option<SignedIn>,
) -> Result<Step, OAuthError> {
    let Some(ready) = ready(cx, id, signed).await? else {
        return Ok(Step::Go(relogin(id)));
    };
    Ok(Step::Ask(ConsentPrompt {
        client_name: flow::client_name(cx, &ready.interaction.client_id).await?,
        username: ready.signed.user.username,
        scope: ready.request.scope,
        interaction: ready.interaction.id,
    }))
}

/// The user's answer: a code for the client (remembering the consent), or access_denied.
pub async fn answer<S>(
    cx: &Ctx<'_, S>,
    id: &str,
    signed: Option<SignedIn>,
    approved: bool,
) -> Result<Outcome, OAuthError>
where
    S: InteractionRepo + ConsentRepo + GrantRepo + CodeRepo + SessionRepo,
{
    let Some(ready) = ready(cx, id, signed).await? else {
        return Ok(relogin(id));
    };
    flow::complete(cx, &ready.interaction).await?;
    let response = decided(cx, &ready.request, &ready.signed, approved).await?;
    Ok(Outcome::Respond(response))
}

async fn decided<S>(
    cx: &Ctx<'_, S>,
    req: &AuthorizeRequest,
    signed: &SignedIn,
    approved: bool,
) -> Result<AuthResponse, OAuthError>
where
    S: ConsentRepo + GrantRepo + CodeRepo + SessionRepo,
{
    if !approved {
        let denied = OAuthError::new(ErrorCode::AccessDenied, "the user declined the request");
        return Ok(flow::error_response(cx, req.to.clone(), denied));
    }
    let mut scopes = cx
        .store
        .consented_scopes(&signed.user.id, &req.client_id)
        .await?;
    for token in req.scope.tokens() {
        if !scopes.iter().any(|s| s == token) {
            scopes.push(token.to_owned());
        }
    }
    cx.store
        .save_consent(&signed.user.id, &req.client_id, &scopes, cx.now)
        .await?;
    Ok(flow::issue_code(cx, req, &signed.session).await?)
}
