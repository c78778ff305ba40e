//! The `tessera` binary: parse the command line, set up logging, run (see `cli`).

use std::process::ExitCode;

use clap::Parser;
use tessera::cli::Cli;

#[actix_web::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    cli.init_logging();
    match cli.run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("tessera: error: {message}");
            ExitCode::FAILURE
        }
    }
}
