//! labctl's top-level error: every failure that ends a command, with its exit code.
//!
//! A failed check is not an error: it is an outcome, reported by `verify` with exit code 1.

use std::path::PathBuf;

use crate::exit_code;
use crate::plan::PlanError;

/// A failure that ends a command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The lab file has errors (already reported, each at its location).
    #[error("{file}: {errors} error{} found; nothing was done", if *errors == 1 { "" } else { "s" })]
    InvalidLab {
        /// The lab file as shown.
        file: String,
        /// Number of errors.
        errors: usize,
    },
    /// The command line asks for something impossible.
    #[error("{0}")]
    Usage(String),
    /// A file could not be read or written.
    #[error("cannot {action} `{}`", path.display())]
    File {
        /// What labctl was doing: "read", "write", …
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// No plan can be made against what VirtualBox has.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The user interrupted labctl.
    #[error("interrupted")]
    Interrupted,
}

impl Error {
    /// The process exit code for this error (see `exit_code`).
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::InvalidLab { .. } | Self::Usage(_) => exit_code::INVALID,
            Self::File { .. } | Self::Plan(_) => exit_code::HOST_ERROR,
            Self::Interrupted => exit_code::INTERRUPTED,
        }
    }
}
