//! What labctl keeps on disk beside a lab file (`.labctl/LAB/`): its lock and its memory of
//! what it did (pinned host keys, applied steps, creations in flight). VirtualBox keeps the
//! VMs' own state.

pub mod json_store;
pub mod lab_lock;
pub mod lab_state;

pub use json_store::JsonStore;
pub use lab_lock::{LabLock, LockError};
pub use lab_state::{LabState, PendingHostOnly};
