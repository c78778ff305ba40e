//! Integration tests: each test starts a real Tessera on 127.0.0.1:0 with its own database (a
//! SQLite file, and again a fresh PostgreSQL database) and drives it over HTTP, with the
//! `openidconnect` crate as the relying party. One module per feature; `ops/` holds the
//! operational checks.

#[macro_use]
mod helpers;

mod admin_api;
mod authorize_errors;
mod browser;
mod browser_passkeys;
mod client_assertions;
mod client_credentials;
mod client_libraries;
mod code_flow;
mod demo;
mod devices;
mod dpop;
mod fapi2;
mod gateways;
mod hardening;
mod http_fuzz;
mod logout;
mod mfa;
mod ops;
mod par;
mod passkeys;
mod postman;
mod readme;
mod refresh;
mod replicas;
mod request_objects;
mod resource_server;
mod resources;
mod revocation;
mod rotation;
mod throttling;
mod token_errors;
