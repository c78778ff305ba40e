//! What comes next for a validated request (login, consent, or a code), as a function of the
//! browser's session, the consents already given and the time.

use super::request::AuthorizeRequest;
use crate::core::error::ErrorCode;
use crate::core::mfa;

/// What the browser's existing session, if any, means for this request.
#[derive(Clone, Copy, Debug)]
pub struct SessionFacts {
    pub auth_time: i64,
    /// The user authenticated during this very interaction.
    pub fresh: bool,
    /// login_hint names a different user than the session's.
    pub hint_mismatch: bool,
    /// The session's authentication included a second factor.
    pub second_factor: bool,
}

#[derive(Debug, PartialEq)]
pub enum Next {
    Login,
    /// Signed in, but the request asks for a higher level than the session reached: the
    /// second factor now (OIDC Core §3.1.2.1, acr_values).
    StepUp,
    Consent,
    Issue,
    Fail(ErrorCode, &'static str),
}

/// What to do next, given the session and the scopes the user already consented to.
pub fn decide(
    req: &AuthorizeRequest,
    session: Option<SessionFacts>,
    consented: &[String],
    now: i64,
) -> Next {
    let authenticated = session.is_some_and(|s| {
        s.fresh
            || !(req.prompt.login
                || s.hint_mismatch
                // max_age=0 means "authenticate now", like prompt=login (OIDC Core §3.1.2.1).
                || req.max_age.is_some_and(|max| max == 0 || now - s.auth_time > max))
    });
    if !authenticated {
        return if req.prompt.none {
            Next::Fail(ErrorCode::LoginRequired, "the user is not signed in")
        } else {
            Next::Login
        };
    }
    if session.is_some_and(|s| !s.second_factor) && mfa::wants_second_factor(&req.acr_values) {
        return if req.prompt.none {
            Next::Fail(
                ErrorCode::InteractionRequired,
                "the session did not use a second factor, which the request asks for",
            )
        } else {
            Next::StepUp
        };
    }
    if req.prompt.consent || !req.scope.is_covered_by(consented) {
        return if req.prompt.none {
            Next::Fail(
                ErrorCode::ConsentRequired,
                "the user has not consented to this request",
            )
        } else {
            Next::Consent
        };
    }
    Next::Issue
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::authorize::request::tests::params;
    use crate::core::authorize::request::{Prompt, validate, verified_redirect_uri};
    use crate::core::model::AuthMethod;
    use crate::core::testing::client;

    #[test]
    fn decisions_follow_session_prompt_and_consent() {
        let c = client(AuthMethod::ClientSecretBasic);
        let p = params(&[]);
        let mut req = validate(&c, &p, verified_redirect_uri(&c, &p).unwrap()).unwrap();
        let openid = vec!["openid".to_string()];
        let old = SessionFacts {
            auth_time: 1000,
            fresh: false,
            hint_mismatch: false,
            second_factor: false,
        };
        assert_eq!(decide(&req, None, &[], 2000), Next::Login);
        assert_eq!(decide(&req, Some(old), &[], 2000), Next::Consent);
        assert_eq!(decide(&req, Some(old), &openid, 2000), Next::Issue);
        let other_user = SessionFacts {
            hint_mismatch: true,
            ..old
        };
        assert_eq!(decide(&req, Some(other_user), &openid, 2000), Next::Login);
        req.max_age = Some(500);
        assert_eq!(decide(&req, Some(old), &openid, 2000), Next::Login);
        assert_eq!(decide(&req, Some(old), &openid, 1500), Next::Issue);
        assert_eq!(
            decide(
                &req,
                Some(SessionFacts { fresh: true, ..old }),
                &openid,
                2000
            ),
            Next::Issue
        );
        req.max_age = Some(0);
        assert_eq!(decide(&req, Some(old), &openid, 1000), Next::Login);
        req.max_age = None;
        req.prompt.none = true;
        assert!(matches!(
            decide(&req, None, &[], 2000),
            Next::Fail(ErrorCode::LoginRequired, _)
        ));
        assert!(matches!(
            decide(&req, Some(old), &[], 2000),
            Next::Fail(ErrorCode::ConsentRequired, _)
        ));
        req.prompt = Prompt {
            login: true,
            ..Prompt::default()
        };
        assert_eq!(decide(&req, Some(old), &openid, 2000), Next::Login);
    }

    #[test]
    fn asking_for_the_mfa_level_steps_a_password_session_up() {
        let c = client(AuthMethod::ClientSecretBasic);
        let p = params(&[("acr_values", mfa::ACR_MFA)]);
        let mut req = validate(&c, &p, verified_redirect_uri(&c, &p).unwrap()).unwrap();
        let openid = vec!["openid".to_string()];
        let password = SessionFacts {
            auth_time: 1000,
            fresh: false,
            hint_mismatch: false,
            second_factor: false,
        };
        let strong = SessionFacts {
            second_factor: true,
            ..password
        };
        assert_eq!(decide(&req, Some(password), &openid, 2000), Next::StepUp);
        assert_eq!(decide(&req, Some(strong), &openid, 2000), Next::Issue);
        assert_eq!(decide(&req, None, &openid, 2000), Next::Login);
        req.prompt.none = true;
        assert!(matches!(
            decide(&req, Some(password), &openid, 2000),
            Next::Fail(ErrorCode::InteractionRequired, _)
        ));
        req.prompt.none = false;
        req.acr_values = vec![mfa::ACR_MFA.into(), mfa::ACR_PASSWORD.into()];
        assert_eq!(decide(&req, Some(password), &openid, 2000), Next::Issue);
    }
}
