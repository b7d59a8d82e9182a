//! labctl's top-level error: every failure that ends a command, with its exit code.
//!
//! A failed check is not an error: it is an outcome, reported by `verify` with exit code 1.

use std::path::PathBuf;

use crate::exit_code;
use crate::hypervisor::VBoxError;
use crate::plan::PlanError;
use crate::state::LockError;

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
    /// A file the user named is not text labctl can read.
    #[error("{file}:{}:{}: not UTF-8 text (byte 0x{:02X}); labctl reads UTF-8 files only\n  | {}", problem.line, problem.column, problem.byte, problem.excerpt)]
    NotUtf8 {
        /// The file as shown.
        file: String,
        /// Where and what.
        problem: crate::lab::NotUtf8,
    },
    /// No plan can be made against what VirtualBox has.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The user interrupted labctl.
    #[error("interrupted")]
    Interrupted,
    /// A setting the lab needs from the environment is missing.
    #[error("{0}")]
    Config(String),
    /// No VBoxManage was found.
    #[error(
        "VBoxManage not found: install VirtualBox, point LABCTL_VBOXMANAGE at VBoxManage, or run labctl in a simulated VirtualBox (`vboxsim world exec NAME -- labctl …`)"
    )]
    NoVirtualBox,
    /// A VBoxManage call failed.
    #[error(transparent)]
    VirtualBox(#[from] VBoxError),
    /// Another labctl works on the lab.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// Some actions of a run failed (each was reported as it happened).
    #[error("{failed} of {total} actions failed{}", if *skipped > 0 { format!(" and {skipped} were skipped") } else { String::new() })]
    ActionsFailed {
        /// Failed actions.
        failed: usize,
        /// Skipped actions.
        skipped: usize,
        /// All actions.
        total: usize,
    },
    /// A VM could not be reached or used over SSH.
    #[error("{0}")]
    Remote(String),
    /// What the user asked for conflicts with what exists.
    #[error("{0}")]
    Refused(String),
}

impl Error {
    /// The process exit code for this error (see `exit_code`).
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::InvalidLab { .. } | Self::NotUtf8 { .. } | Self::Usage(_) | Self::Config(_) => {
                exit_code::INVALID
            }
            Self::File { .. }
            | Self::Plan(_)
            | Self::NoVirtualBox
            | Self::VirtualBox(_)
            | Self::Lock(_)
            | Self::ActionsFailed { .. }
            | Self::Remote(_)
            | Self::Refused(_) => exit_code::HOST_ERROR,
            Self::Interrupted => exit_code::INTERRUPTED,
        }
    }
}
