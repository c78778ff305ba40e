//! One module per endpoint or page: each extracts the request, makes one call into the core
//! and renders the answer.

pub mod account;
pub mod admin;
pub mod authorize;
pub mod consent;
pub mod discovery;
pub mod health;
pub mod introspect;
pub mod jwks;
pub mod login;
pub mod logout;
pub mod mfa;
pub mod par;
pub mod passkeys;
pub mod revoke;
pub mod token;
pub mod userinfo;
