//! Planning: what `up` must do to turn what VirtualBox has into what the lab file asks for.
//! Pure: the same lab and inventory always give the same plan.

mod action;
mod mac_scheme;
#[expect(
    clippy::module_inception,
    reason = "the module is named after its main type"
)]
mod plan;
mod planner;

pub use action::{Action, NicAttachment, NicSetting, VmSettings};
pub use mac_scheme::MacScheme;
pub use plan::{ActionId, Leftover, Plan, PlannedAction};
pub use planner::{Intent, PlanError, SSH_FORWARD_RULE, plan_up, vm_drift};
