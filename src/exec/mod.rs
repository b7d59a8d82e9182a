//! Running a plan: the executor (graph, parallelism, failures) and the events it emits.

pub mod event;
pub mod executor;
pub mod guest_access;
pub mod lab_runner;

pub use event::{Event, Outcome};
pub use executor::{ActionError, ActionRunner, ExecOptions, ExecSummary, execute};
pub use guest_access::{GuestAccess, RuntimeContext};
pub use lab_runner::{DiskFiles, LabRunner};
