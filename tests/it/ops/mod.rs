//! Operational checks: separate processes, a database outage, a stepped clock, the CLI, the
//! Dockerfile, the schema on both databases, metrics, the purge, and the architecture's rules.

mod architecture;
mod cli;
mod clock;
mod dockerfile;
mod metrics;
mod outage;
mod process;
mod purge;
mod schema;
mod telemetry;
mod writes;
