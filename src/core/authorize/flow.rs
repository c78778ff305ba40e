//! The authorization flow across requests: /authorize, then the login and consent pages,
//! ending with a code (or an error) sent back to the client. All state lives in the store, so
//! any replica can serve any step.

use super::decide::{Next, SessionFacts, decide};
use super::request::{self, AuthorizeRequest, ReturnTo};
use super::{par, request_object};
use crate::core::Ctx;
use crate::core::error::{OAuthError, StoreError};
use crate::core::login::{self, Attempt, Demands, Refusal, SignIn};
use crate::core::mfa;
use crate::core::model::{AuthCode, Grant, Interaction, Session};
use crate::core::params::Params;
use crate::core::passkeys::{self, Challenge};
use crate::core::ports::{
    ClientKeys, ClientRepo, CodeRepo, ConsentRepo, FactorRepo, GrantRepo, InteractionRepo,
    Notifier, Offload, PushedRequestRepo, ResourceRepo, RevocationList, SessionRepo, ThrottleRepo,
    UserRepo,
};
use crate::core::resources;
use crate::core::sessions::{self, SignedIn};
use crate::secret::{hash, random_id, random_token};

/// The answer to send back to the client's redirect_uri.
#[derive(Debug, PartialEq, Eq)]
pub struct AuthResponse {
    pub to: ReturnTo,
    pub params: Vec<(&'static str, String)>,
}

/// Where the browser goes next.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Respond(AuthResponse),
    Login {
        interaction: String,
    },
    Consent {
        interaction: String,
    },
    /// The password (or, for a step-up, the session) was the first factor; the second is
    /// asked for next, or its enrolment (`enroll`). `pending` is the sealed proof of the
    /// first factor, for a cookie.
    SecondFactor {
        interaction: String,
        pending: String,
        enroll: bool,
    },
}

/// GET or POST /authorize, with the request's own parameters or those it pushed to /par.
pub async fn start<S, K>(
    cx: &Ctx<'_, S>,
    keys: &K,
    params: &Params,
    signed: Option<SignedIn>,
) -> Result<Outcome, OAuthError>
where
    K: ClientKeys,
    S: ClientRepo
        + ConsentRepo
        + InteractionRepo
        + GrantRepo
        + CodeRepo
        + SessionRepo
        + PushedRequestRepo
        + ResourceRepo
        + FactorRepo,
{
    let client_id = params.required("client_id")?;
    let client = cx.store.find_client(client_id).await?.ok_or_else(|| {
        OAuthError::invalid_client("this application is not registered here (unknown client_id)")
    })?;
    let pushed = par::resolve(cx, params).await?;
    let signed_request = match &pushed {
        Some(_) => None,
        None => request_object::unpack(cx, keys, &client, params).await?,
    };
    let params = pushed
        .as_ref()
        .or(signed_request.as_ref())
        .unwrap_or(params);
    let redirect_uri = request::verified_redirect_uri(&client, params)?;
    let validated = request::validate(&client, params, redirect_uri);
    // A client that must push hears that first, whatever else is wrong with the request.
    if let Some(why) = pushed
        .is_none()
        .then(|| par::required(cx, &client))
        .flatten()
    {
        let to = match validated {
            Ok(req) => req.to,
            Err(refused) => refused.to,
        };
        let error = OAuthError::invalid_request(why);
        return Ok(Outcome::Respond(error_response(cx, to, error)));
    }
    let req = match validated {
        Ok(req) => req,
        Err(e) => return Ok(Outcome::Respond(error_response(cx, e.to, e.error))),
    };
    if let Err(error) = resources::target(cx, req.resource.as_deref(), None).await {
        return Ok(Outcome::Respond(error_response(cx, req.to, error)));
    }
    let (facts, consented) = match &signed {
        Some(s) => (
            Some(facts(&req, s, false)),
            cx.store.consented_scopes(&s.user.id, &client.id).await?,
        ),
        None => (None, Vec::new()),
    };
    match decide(&req, facts, &consented, cx.now) {
        Next::Issue => {
            let s = signed.ok_or_else(OAuthError::server_error)?;
            Ok(Outcome::Respond(issue_code(cx, &req, &s.session).await?))
        }
        Next::Fail(code, description) => Ok(Outcome::Respond(error_response(
            cx,
            req.to,
            OAuthError::new(code, description),
        ))),
        Next::StepUp => {
            let s = signed.ok_or_else(OAuthError::server_error)?;
            let interaction = begin_interaction(cx, &req).await?;
            let needed = mfa::needed(cx, &s.user.id, Some(&client), true).await?;
            Ok(Outcome::SecondFactor {
                interaction,
                pending: mfa::seal_pending(cx.secrets, &s.user.id, cx.now),
                enroll: needed == mfa::Needed::Enroll,
            })
        }
        next => {
            let interaction = begin_interaction(cx, &req).await?;
            Ok(if next == Next::Login {
                Outcome::Login { interaction }
            } else {
                Outcome::Consent { interaction }
            })
        }
    }
}

async fn begin_interaction<S: InteractionRepo>(
    cx: &Ctx<'_, S>,
    req: &AuthorizeRequest,
) -> Result<String, OAuthError> {
    let interaction = Interaction {
        id: random_id(),
        client_id: req.client_id.clone(),
        request: serde_json::to_string(req).map_err(|_| OAuthError::server_error())?,
        session_id: None,
        created_at: cx.now,
        expires_at: cx.now + cx.policy.interaction_ttl,
        completed_at: None,
    };
    cx.store.insert_interaction(&interaction).await?;
    Ok(interaction.id)
}

fn facts(req: &AuthorizeRequest, signed: &SignedIn, fresh: bool) -> SessionFacts {
    SessionFacts {
        auth_time: signed.session.auth_time,
        fresh,
        hint_mismatch: req.login_hint.as_deref().is_some_and(|hint| {
            hint != signed.user.username && Some(hint) != signed.user.email.as_deref()
        }),
        second_factor: mfa::has_second_factor(&signed.session.amr),
    }
}

/// A pending interaction and the request it carries.
pub async fn pending<S: InteractionRepo>(
    cx: &Ctx<'_, S>,
    id: &str,
) -> Result<(Interaction, AuthorizeRequest), OAuthError> {
    let expired = || {
        OAuthError::invalid_request(
            "this sign-in request has expired or was already completed; go back to the application and start again",
        )
    };
    let interaction = cx
        .store
        .pending_interaction(id, cx.now)
        .await?
        .ok_or_else(expired)?;
    let req: AuthorizeRequest =
        serde_json::from_str(&interaction.request).map_err(|_| expired())?;
    Ok((interaction, req))
}

/// The name of the application an interaction is for, as the pages show it.
pub async fn client_name<S: ClientRepo>(
    cx: &Ctx<'_, S>,
    client_id: &str,
) -> Result<String, OAuthError> {
    let client = cx.store.find_client(client_id).await?;
    client
        .map(|c| c.name)
        .ok_or_else(|| OAuthError::invalid_client("the application was removed"))
}

/// What the login page of an interaction shows.
pub struct LoginPrompt {
    pub client_name: String,
    pub login_hint: Option<String>,
    /// A sign-in with a passkey to offer (None: passkeys are unavailable on this issuer).
    pub passkey: Option<Challenge>,
}

pub async fn login_prompt<S: InteractionRepo + ClientRepo>(
    cx: &Ctx<'_, S>,
    interaction_id: &str,
) -> Result<LoginPrompt, OAuthError> {
    let (interaction, req) = pending(cx, interaction_id).await?;
    Ok(LoginPrompt {
        client_name: client_name(cx, &interaction.client_id).await?,
        login_hint: req.login_hint,
        passkey: passkeys::begin_sign_in(cx)?,
    })
}

/// The answer to the login form of an interaction.
pub enum LoginResult {
    /// Signed in: the browser goes on, with a new session cookie when one was started.
    Continue {
        outcome: Outcome,
        cookie_token: Option<String>,
    },
    /// The form is shown again with the reason.
    Refused {
        prompt: LoginPrompt,
        refusal: Refusal,
    },
}

/// Signs the user in (see `login::sign_in`), then asks for consent or issues the code.
pub async fn login<S, O, N>(
    cx: &Ctx<'_, S>,
    offload: &O,
    notifier: &N,
    interaction_id: &str,
    attempt: Attempt<'_>,
) -> Result<LoginResult, OAuthError>
where
    S: InteractionRepo
        + ClientRepo
        + ConsentRepo
        + GrantRepo
        + CodeRepo
        + SessionRepo
        + UserRepo
        + ThrottleRepo
        + RevocationList
        + FactorRepo,
    O: Offload,
    N: Notifier,
{
    let (interaction, req) = pending(cx, interaction_id).await?;
    let client = cx.store.find_client(&interaction.client_id).await?;
    let demands = Demands {
        client: client.as_ref(),
        second_factor: mfa::wants_second_factor(&req.acr_values),
    };
    match login::sign_in(cx, offload, notifier, attempt, demands).await? {
        SignIn::Refused(refusal) => {
            tracing::info!(client_id = %interaction.client_id, "login failed");
            let prompt = LoginPrompt {
                client_name: client_name(cx, &interaction.client_id).await?,
                login_hint: None,
                passkey: passkeys::begin_sign_in(cx)?,
            };
            Ok(LoginResult::Refused { prompt, refusal })
        }
        SignIn::Done(done) => Ok(LoginResult::Continue {
            outcome: after_login(cx, &interaction, &req, &done.signed).await?,
            cookie_token: done.cookie_token,
        }),
        SignIn::SecondFactor { pending, enroll } => Ok(LoginResult::Continue {
            outcome: Outcome::SecondFactor {
                interaction: interaction.id,
                pending,
                enroll,
            },
            cookie_token: None,
        }),
    }
}

/// After a successful login in this interaction: consent if needed, else the code.
pub(crate) async fn after_login<S>(
    cx: &Ctx<'_, S>,
    interaction: &Interaction,
    req: &AuthorizeRequest,
    signed: &SignedIn,
) -> Result<Outcome, OAuthError>
where
    S: InteractionRepo + ConsentRepo + GrantRepo + CodeRepo + SessionRepo,
{
    cx.store
        .set_interaction_session(&interaction.id, &signed.session.id)
        .await?;
    let consented = cx
        .store
        .consented_scopes(&signed.user.id, &req.client_id)
        .await?;
    match decide(req, Some(facts(req, signed, true)), &consented, cx.now) {
        Next::Consent => Ok(Outcome::Consent {
            interaction: interaction.id.clone(),
        }),
        Next::Issue => {
            complete(cx, interaction).await?;
            Ok(Outcome::Respond(
                issue_code(cx, req, &signed.session).await?,
            ))
        }
        Next::Fail(code, description) => {
            complete(cx, interaction).await?;
            Ok(Outcome::Respond(error_response(
                cx,
                req.to.clone(),
                OAuthError::new(code, description),
            )))
        }
        Next::Login | Next::StepUp => Err(OAuthError::server_error()),
    }
}

/// Marks the interaction done, once: a second submission of the same form is refused.
pub(crate) async fn complete<S: InteractionRepo>(
    cx: &Ctx<'_, S>,
    interaction: &Interaction,
) -> Result<(), OAuthError> {
    if cx
        .store
        .complete_interaction(&interaction.id, cx.now)
        .await?
    {
        Ok(())
    } else {
        Err(OAuthError::invalid_request(
            "this sign-in request was already completed",
        ))
    }
}

/// A new grant for the session and a single-use code for it, stored hashed.
pub(crate) async fn issue_code<S>(
    cx: &Ctx<'_, S>,
    req: &AuthorizeRequest,
    session: &Session,
) -> Result<AuthResponse, StoreError>
where
    S: GrantRepo + CodeRepo + SessionRepo,
{
    let now = cx.now;
    let grant = Grant {
        id: random_id(),
        user_id: Some(session.user_id.clone()),
        client_id: req.client_id.clone(),
        session_id: Some(session.id.clone()),
        scope: req.scope.clone(),
        auth_time: Some(session.auth_time),
        created_at: now,
        revoked_at: None,
        expires_at: Some(now + cx.policy.refresh_token_absolute_ttl),
        resource: req.resource.clone(),
    };
    let code = random_token();
    let row = AuthCode {
        code_hash: hash(&code),
        grant_id: grant.id.clone(),
        client_id: req.client_id.clone(),
        redirect_uri: req.to.redirect_uri.clone(),
        nonce: req.nonce.clone(),
        code_challenge: req.code_challenge.clone(),
        created_at: now,
        expires_at: now + cx.policy.code_ttl,
        used_at: None,
        dpop_jkt: req.dpop_jkt.clone(),
    };
    cx.store.insert_grant_and_code(&grant, &row).await?;
    sessions::seen(cx, session).await?;
    Ok(respond(cx, req.to.clone(), vec![("code", code)]))
}

pub(crate) fn error_response<S>(cx: &Ctx<'_, S>, to: ReturnTo, error: OAuthError) -> AuthResponse {
    let params = vec![
        ("error", error.code.as_str().to_owned()),
        ("error_description", error.description.into_owned()),
    ];
    respond(cx, to, params)
}

/// Adds state, and iss (RFC 9207) so the client can tell which provider answered.
fn respond<S>(
    cx: &Ctx<'_, S>,
    to: ReturnTo,
    mut params: Vec<(&'static str, String)>,
) -> AuthResponse {
    if let Some(s) = &to.state {
        params.push(("state", s.clone()));
    }
    params.push(("iss", cx.policy.issuer.clone()));
    AuthResponse { to, params }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::authorize::request::tests::params;
    use crate::core::consent;
    use crate::core::model::{AuthMethod, Device};
    use crate::core::sessions;
    use crate::core::testing::{
        Inline, MemoryStore, Recorder, block_on, client, context, policy, user,
    };
    use crate::core::token::authorization_code::{Redemption, exchange};

    fn code_of(outcome: &Outcome) -> String {
        match outcome {
            Outcome::Respond(r) => {
                assert!(r.params.contains(&("state", "xyz".into())));
                assert!(r.params.contains(&("iss", "https://id.example".into())));
                let code = r.params.iter().find(|(k, _)| *k == "code");
                code.expect("a code").1.clone()
            }
            other => panic!("expected a code, got {other:?}"),
        }
    }

    #[test]
    fn login_then_consent_then_a_code_then_single_sign_on() {
        let store = MemoryStore::default();
        let policy = policy();
        let app = client(AuthMethod::ClientSecretBasic);
        store.put_client(app.clone());
        block_on(store.insert_user(&user("alice"))).unwrap();
        let cx = context(&store, &policy, 1_000);
        let request = params(&[("scope", "openid profile")]);

        let Outcome::Login { interaction } = block_on(start(&cx, &store, &request, None)).unwrap()
        else {
            panic!("a browser without a session signs in first");
        };
        let attempt = Attempt {
            username: "alice",
            password: "correct horse",
            ip: None,
            device: Device::default(),
            browser: None,
        };
        let notifier = Recorder::default();
        let LoginResult::Continue {
            outcome,
            cookie_token,
        } = block_on(login(&cx, &Inline, &notifier, &interaction, attempt)).unwrap()
        else {
            panic!("the right password signs in");
        };
        assert_eq!(
            outcome,
            Outcome::Consent {
                interaction: interaction.clone()
            }
        );
        let browser = block_on(sessions::signed_in(&cx, cookie_token.as_deref())).unwrap();
        assert!(
            matches!(
                block_on(consent::answer(&cx, &interaction, None, true)).unwrap(),
                Outcome::Login { .. }
            ),
            "another browser cannot answer the consent"
        );
        let answered = block_on(consent::answer(&cx, &interaction, browser.clone(), true)).unwrap();
        let code = code_of(&answered);
        assert!(
            block_on(consent::answer(&cx, &interaction, browser.clone(), true)).is_err(),
            "an interaction completes once"
        );
        let redemption = Redemption {
            code: &code,
            redirect_uri: "https://app.example/cb",
            verifier: None,
            jkt: None,
            resource: None,
        };
        let tokens = block_on(exchange(&cx, &app, redemption)).unwrap();
        assert_eq!(tokens.scope, "openid profile");

        let later = context(&store, &policy, 1_100);
        let again = block_on(start(&later, &store, &request, browser)).unwrap();
        code_of(&again);
    }

    #[test]
    fn prompt_none_without_a_session_goes_back_with_login_required() {
        let store = MemoryStore::default();
        let policy = policy();
        store.put_client(client(AuthMethod::ClientSecretBasic));
        let cx = context(&store, &policy, 1_000);
        let Outcome::Respond(response) =
            block_on(start(&cx, &store, &params(&[("prompt", "none")]), None)).unwrap()
        else {
            panic!("prompt=none never shows a page");
        };
        assert!(
            response
                .params
                .contains(&("error", "login_required".into()))
        );
        let unknown = block_on(start(
            &cx,
            &store,
            &params(&[("client_id", "nobody")]),
            None,
        ));
        assert_eq!(
            unknown.unwrap_err().code,
            crate::core::error::ErrorCode::InvalidClient
        );
    }
}
