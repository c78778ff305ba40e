//! The `tessera` binary: parse the command line, set up logging, run (see `cli`).

use std::process::ExitCode;

use clap::Parser;
use tessera::cli::Cli;

fn main() -> ExitCode {
    tessera::app::tune_allocator();
    run()
}

#[actix_web::main]
async fn run() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.config() {
        Ok(config) => match cli.init_logging(&config) {
            Ok(telemetry) => {
                let outcome = cli.run(config).await;
                // Exports the queued spans and writes the queued log lines before the error
                // line and the exit.
                drop(telemetry);
                outcome
            }
            Err(message) => Err(message),
        },
        Err(message) => Err(message),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("tessera: error: {message}");
            ExitCode::FAILURE
        }
    }
}
