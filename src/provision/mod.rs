//! Provisioning: steps rendered for a VM, hashed (a step runs once per content), and run in
//! the guest over SSH.

pub mod provisioner;
pub mod rendered_step;

pub use provisioner::{Guest, detect_privilege, tail};
pub use rendered_step::{
    LocalFiles, PrepareError, RenderedStep, StepWork, first_pending, render_steps,
};
