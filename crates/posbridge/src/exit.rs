//! Exit codes and error reporting for the command line.

use std::fmt;
use std::process::ExitCode;

/// Bad input or usage: reported on stderr, exit code 2.
#[derive(Debug)]
pub struct InputError(pub String);

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InputError {}

/// Exit code for bad input or usage.
pub const EXIT_INPUT: u8 = 2;
/// Exit code for a failure while running.
pub const EXIT_FAILURE: u8 = 1;

/// Prints an error (if any) to stderr and picks the exit code.
pub fn report(outcome: anyhow::Result<()>) -> ExitCode {
    let Err(error) = outcome else {
        return ExitCode::SUCCESS;
    };
    eprintln!("posbridge: {error:#}");
    if error.downcast_ref::<InputError>().is_some() {
        ExitCode::from(EXIT_INPUT)
    } else {
        ExitCode::from(EXIT_FAILURE)
    }
}
