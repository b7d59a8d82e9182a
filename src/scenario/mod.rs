//! Scenarios: ordered acts on a running lab (add or remove a replica, stop or start VMs, run
//! steps), each followed by checks whose expectations may differ per act. This module reads
//! and validates scenario files; `app` runs them. Pure.

pub mod load;
pub mod model;
pub mod raw;

pub use load::{LoadedScenario, ParsedScenario, Resize, parse, validate};
pub use model::{Act, ActAction, Scenario};
