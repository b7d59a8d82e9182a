//! labctl turns one declarative lab file into a running, verified multi-VM VirtualBox lab.
//!
//! The pipeline (see ARCHITECTURE.md): `lab` (parse, validate) → `plan` (desired × observed →
//! actions with reasons) → `exec` (runs actions, emits events) → `checks` → `report`.

mod app;
pub mod cli;
pub mod error;
pub mod exit_code;
pub mod hypervisor;
pub mod lab;
pub mod plan;
pub mod report;

pub use app::run;
pub mod checks;
pub mod exec;
pub mod provision;
pub mod remote;
pub mod scenario;
pub mod state;
