//! labctl's exit codes, in one place. They are part of its interface (scripts and CI read
//! them) and documented in the README.

/// Everything asked for was done, and every check passed.
pub const OK: u8 = 0;
/// The lab came up or was inspected, but some checks failed.
pub const CHECKS_FAILED: u8 = 1;
/// The lab file is invalid, or the command line is wrong.
pub const INVALID: u8 = 2;
/// VirtualBox, SSH or the host failed (a VBoxManage error, an unreachable VM, a lock held by
/// another labctl, a VM labctl does not own in the way).
pub const HOST_ERROR: u8 = 3;
/// Interrupted by Ctrl-C (SIGINT) or SIGTERM; what was started is left in a state the next
/// run converges from.
pub const INTERRUPTED: u8 = 130;
