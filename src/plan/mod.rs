//! Planning: what `up` must do to turn what VirtualBox has into what the lab file asks for.
//! Pure: the same lab and inventory always give the same plan.

mod action;
mod guest_setup;
mod mac_scheme;
#[expect(
    clippy::module_inception,
    reason = "the module is named after its main type"
)]
mod plan;
mod planner;

pub use action::{Action, NicAttachment, NicSetting, VmSettings};
pub use guest_setup::{GuestNic, GuestSetup, NicConfig, hostname_of};
pub use mac_scheme::MacScheme;
pub use plan::{ActionId, Leftover, Plan, PlannedAction};
pub use planner::{Intent, PlanError, SSH_FORWARD_RULE, plan_up, vm_drift};
