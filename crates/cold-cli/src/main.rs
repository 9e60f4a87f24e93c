//! The `cold` command line: `demo`, `train`, `sample`, `restore`, `degrade`, `eval`, `presets`.
//!
//! Every failure ends the process with exit code 1 and one line `error: ...` on stderr that
//! names the file, field or value at fault. Input is validated before any tensor work; a panic
//! inside a backend is caught here and reported the same way (exit code 101 stays reserved for
//! real bugs that escape even that).

mod cli;
mod commands;
mod error;
mod io;
mod model;

use std::sync::Mutex;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::error::CliError;

/// The message of the last panic, captured by the hook so that it can be reported as one line.
static PANIC_MESSAGE: Mutex<Option<String>> = Mutex::new(None);

/// Takes the message of the last caught panic.
pub fn take_panic_message() -> Option<String> {
    PANIC_MESSAGE.lock().ok().and_then(|mut m| m.take())
}

fn install_panic_hook() {
    // COLD_DEBUG_PANICS=1 keeps Rust's default report (with RUST_BACKTRACE) for debugging.
    if std::env::var_os("COLD_DEBUG_PANICS").is_some_and(|v| v != "0") {
        return;
    }
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        let location = info
            .location()
            .map(|l| format!(" (at {}:{})", l.file(), l.line()))
            .unwrap_or_default();
        if let Ok(mut slot) = PANIC_MESSAGE.lock() {
            // Keep the first panic: a second one (e.g. a channel closed by the first) says less.
            slot.get_or_insert(format!("{message}{location}"));
        }
    }));
}

fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Demo(a) => commands::demo::run(a),
        Command::Train(a) => commands::train::run(a),
        Command::Sample(a) => commands::sample::run(a),
        Command::Restore(a) => commands::restore::run(a),
        Command::Degrade(a) => commands::degrade::run(a),
        Command::Eval(a) => commands::eval::run(a),
        Command::Presets(a) => commands::presets::run(a),
    }
}

/// Parses the command line; clap's usage errors are reported on one line too (exit code 2, as
/// clap does), while `--help`, `--version` and a bare `cold` print their text as usual.
fn parse() -> Cli {
    match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                e.exit();
            }
            let text = e.to_string();
            let message: Vec<&str> = text
                .lines()
                .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
                .collect();
            let message = message.join("\n");
            let message = message.trim().trim_start_matches("error:").trim();
            eprintln!(
                "error: {} (see `cold --help`)",
                CliError::new(message).one_line()
            );
            std::process::exit(2);
        }
    }
}

fn main() {
    let cli = parse();
    install_panic_hook();
    let outcome = std::panic::catch_unwind(move || run(cli));
    let message = match outcome {
        Ok(Ok(())) => return,
        Ok(Err(e)) => e.one_line(),
        Err(_) => {
            let inner = take_panic_message().unwrap_or_else(|| "unknown panic".to_string());
            CliError::new(format!(
                "internal error: {inner} (a backend or library failed; set COLD_DEBUG_PANICS=1 for the full report)"
            ))
            .one_line()
        }
    };
    eprintln!("error: {message}");
    std::process::exit(1);
}
