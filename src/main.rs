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
    let logs = cli.init_logging();
    let outcome = cli.run().await;
    drop(logs); // flushes the queued log lines before the error line and the exit
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("tessera: error: {message}");
            ExitCode::FAILURE
        }
    }
}
