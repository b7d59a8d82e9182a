//! The scenario file as written: a serde mirror that defines the format and its JSON Schema.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::lab::raw::{RawCheck, RawStep};
use crate::lab::spanned::Sp;

/// A scenario: ordered acts on a running lab, with checks after each.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "labctl scenario file")]
pub struct RawScenario {
    /// What the scenario is and which lab it acts on.
    pub scenario: Sp<RawScenarioInfo>,
    /// The acts, in order (`[[act]]`).
    #[serde(default, rename = "act")]
    pub acts: Vec<Sp<RawAct>>,
}

/// The `[scenario]` table.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawScenarioInfo {
    /// The scenario's name (lowercase letters, digits, `-`).
    pub name: Sp<String>,
    /// For people.
    #[serde(default)]
    pub description: Option<Sp<String>>,
    /// The lab file it acts on, relative to the scenario file.
    pub lab: Sp<String>,
}

/// One act: at most one of `add`, `remove`, `stop`, `start` and `steps`, then its checks.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAct {
    /// Name in reports (default: derived from what the act does).
    #[serde(default)]
    pub name: Option<Sp<String>>,
    /// Add a replica to this replica group: a linked clone with fresh MACs, configured,
    /// started and provisioned like the others.
    #[serde(default)]
    pub add: Option<Sp<String>>,
    /// Remove the last replica of this replica group (or name that replica).
    #[serde(default)]
    pub remove: Option<Sp<String>>,
    /// Shut these VMs down (a VM or a replica group).
    #[serde(default)]
    pub stop: Option<Sp<String>>,
    /// Start these VMs again (a VM or a replica group) and wait for SSH.
    #[serde(default)]
    pub start: Option<Sp<String>>,
    /// Make a linked clone of this VM with fresh MACs (the lab sheet's "reinitialize the MAC
    /// address of all network cards"), check that every adapter's MAC differs from the VM's, and
    /// delete the clone. The comparison is graded as a check of the act.
    #[serde(default)]
    pub clone: Option<Sp<String>>,
    /// Run these provisioning steps (every time the act runs) on the VMs of `on`.
    #[serde(default)]
    pub steps: Option<Vec<Sp<RawStep>>>,
    /// The VM or replica group `steps` run on.
    #[serde(default)]
    pub on: Option<Sp<String>>,
    /// Seconds to wait after the act before its checks run.
    #[serde(default)]
    pub wait: Option<Sp<f64>>,
    /// Checks run after the act (`[[act.checks]]`), as in a lab file.
    #[serde(default)]
    pub checks: Vec<Sp<RawCheck>>,
    /// A condition over the lab's `vars` and `lab` (a MiniJinja expression, e.g.
    /// `vars.discovery == "consul"`): the act is part of the scenario only when it is true.
    #[serde(default)]
    pub when: Option<Sp<String>>,
}
