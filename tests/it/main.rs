//! Integration tests: each test starts a real Tessera on 127.0.0.1:0 with its own database (a
//! SQLite file, and again a fresh PostgreSQL database) and drives it over HTTP, with the
//! `openidconnect` crate as the relying party.

#[macro_use]
mod helpers;

mod authorize_errors;
mod browser;
mod cli;
mod code_flow;
mod dockerfile;
mod lifecycle;
mod outage;
mod process;
mod production;
mod rotation;
mod schema;
mod sessions;
mod token_errors;
