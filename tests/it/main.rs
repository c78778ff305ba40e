//! Integration tests: each test starts a real Tessera on 127.0.0.1:0 with its own SQLite file
//! and drives it over HTTP, with the `openidconnect` crate as the relying party.

mod authorize_errors;
mod cli;
mod code_flow;
mod helpers;
mod lifecycle;
mod rotation;
mod sessions;
mod token_errors;
