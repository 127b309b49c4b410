//! `dialer`: the command-line entry point. Parses arguments, runs the command, and turns errors
//! into a message on stderr and an exit code (2 for bad input, 1 for other failures).

use clap::Parser;
use std::process::ExitCode;

#[global_allocator]
static ALLOCATOR: dialer::allocator::Allocator = dialer::allocator::Allocator;

fn main() -> ExitCode {
    let cli = dialer::cli::Cli::parse();
    // Logs go to stderr; `DIALER_LOG` sets the filter (e.g. `info`, `dialer=debug`).
    let filter = tracing_subscriber::EnvFilter::try_from_env("DIALER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match dialer::cli::run(cli, &mut out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let error = anyhow::Error::new(error);
            // Most messages already end with their cause's text: a cause is shown only when it
            // adds something.
            let mut shown = error.to_string();
            eprintln!("error: {shown}");
            for cause in error.chain().skip(1) {
                let text = cause.to_string();
                if !shown.contains(&text) {
                    eprintln!("  caused by: {text}");
                    shown.push_str(&text);
                }
            }
            let code = error
                .downcast_ref::<dialer::cli::CliError>()
                .map_or(1, dialer::cli::CliError::exit_code);
            ExitCode::from(code)
        }
    }
}
