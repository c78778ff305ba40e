//! Protocol rules with no HTTP framework in them.

pub mod authorize;
pub mod client;
pub mod client_auth;
pub mod flow;
pub mod issue;
pub mod logout;
pub mod pkce;
pub mod revocation;
pub mod scope;
pub mod throttle;
pub mod token;
pub mod userinfo;
