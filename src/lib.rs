//! Tessera, an OpenID Connect provider. The layers, top to bottom (see docs/ARCHITECTURE.md):
//! `cli` and `app` wire things together; `web`, `store`, `backchannel`, `client_keys` and
//! `offload` are adapters; `core` holds every protocol rule and use case behind narrow ports; `keys`,
//! `tokens`, `password`, `secret`, `telemetry` and `wire` are the building blocks underneath.

pub mod app;
pub mod backchannel;
pub mod cli;
pub mod client_keys;
pub mod clock;
pub mod config;
pub mod core;
pub mod jobs;
pub mod keys;
pub mod metrics;
pub mod offload;
pub mod password;
pub mod secret;
pub mod store;
pub mod telemetry;
pub mod tls;
pub mod tokens;
pub mod web;
pub mod wire;
