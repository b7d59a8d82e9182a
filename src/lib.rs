//! labctl turns one declarative lab file into a running, verified multi-VM VirtualBox lab.
//!
//! The pipeline (see ARCHITECTURE.md): `lab` (parse, validate) → `plan` (desired × observed →
//! actions with reasons) → `exec` (runs actions, emits events) → `checks` → `report`.

pub mod lab;
pub mod hypervisor;
pub mod plan;
