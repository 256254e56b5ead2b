//! Errors of the `ucc` command and their exit codes.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | internal error (a bug) |
//! | 2 | bad flags (from clap), a bad `--config` file or value |
//! | 3 | the stack could not start (address in use, certificates) |
//! | 4 | the peer could not be reached (timeout, 408/480/404) |
//! | 5 | authentication failed (401/407/403) |
//! | 6 | the callee is busy or declined (486/600/603) |
//! | 7 | the call or message failed for another reason |

use session_core::Error;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// A bug or an environment failure.
    #[error("internal error: {0}")]
    Internal(String),
    /// A flag or the configuration file is wrong (like clap's usage errors).
    #[error("{0}")]
    Usage(String),
    /// The transport could not start.
    #[error("cannot start: {0}")]
    Setup(String),
    /// The peer did not answer.
    #[error("{what}: peer unreachable: {source}")]
    Unreachable {
        /// What was being done.
        what: &'static str,
        /// The library's error.
        source: Error,
    },
    /// Credentials were refused.
    #[error("{what}: authentication failed: {source}")]
    Auth {
        /// What was being done.
        what: &'static str,
        /// The library's error.
        source: Error,
    },
    /// The callee declined.
    #[error("{what}: busy or declined: {source}")]
    Busy {
        /// What was being done.
        what: &'static str,
        /// The library's error.
        source: Error,
    },
    /// Anything else the library reported.
    #[error("{what}: {source}")]
    Failed {
        /// What was being done.
        what: &'static str,
        /// The library's error.
        source: Error,
    },
    /// A step did not finish in time.
    #[error("{0}: timed out")]
    Timeout(&'static str),
}

impl CliError {
    /// Classifies a library error by its status code.
    pub(crate) fn from_library(what: &'static str, source: Error) -> CliError {
        match source.status().code.as_u16() {
            404 | 408 | 480 => CliError::Unreachable { what, source },
            401 | 403 | 407 => CliError::Auth { what, source },
            486 | 600 | 603 => CliError::Busy { what, source },
            _ => CliError::Failed { what, source },
        }
    }

    /// The process exit code.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            CliError::Internal(_) => 1,
            CliError::Usage(_) => 2,
            CliError::Setup(_) => 3,
            CliError::Unreachable { .. } | CliError::Timeout(_) => 4,
            CliError::Auth { .. } => 5,
            CliError::Busy { .. } => 6,
            CliError::Failed { .. } => 7,
        }
    }
}
