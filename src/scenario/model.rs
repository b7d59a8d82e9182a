//! A validated scenario: acts whose names resolve to the lab as it stands at that act.

use std::path::PathBuf;
use std::time::Duration;

use crate::lab::model::{Check, Step};
use crate::lab::{Lab, Sources, Span};

/// What an act does before its checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActAction {
    /// Nothing: the act only checks.
    Check,
    /// Replicas added to `group` (their names).
    Add {
        /// The replica group.
        group: String,
        /// The new replicas.
        vms: Vec<String>,
    },
    /// Replicas removed from `group` (their names and VirtualBox names).
    Remove {
        /// The replica group.
        group: String,
        /// The removed replicas: (lab name, VirtualBox name).
        vms: Vec<(String, String)>,
    },
    /// These VMs are shut down.
    Stop(Vec<String>),
    /// These VMs are started.
    Start(Vec<String>),
    /// The act's steps run on these VMs.
    Steps(Vec<String>),
    /// A linked clone of this VM is made, its MACs compared with the VM's, and deleted.
    Clone {
        /// The lab VM.
        vm: String,
        /// Its VirtualBox name.
        vbox_name: String,
    },
}

/// One act.
#[derive(Debug, Clone)]
pub struct Act {
    /// Its name.
    pub name: String,
    /// What it does.
    pub action: ActAction,
    /// Steps it runs (for `ActAction::Steps`).
    pub steps: Vec<Step>,
    /// Seconds to wait before the checks.
    pub wait: Duration,
    /// Checks after it.
    pub checks: Vec<Check>,
    /// The lab as it stands once the act is done (replicas added or removed).
    pub lab: Lab,
    /// Where it is written.
    pub span: Span,
}

/// A scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Its name.
    pub name: String,
    /// For people.
    pub description: Option<String>,
    /// The lab file it acts on.
    pub lab_file: PathBuf,
    /// The acts, in order.
    pub acts: Vec<Act>,
    /// Acts whose `when` is false.
    pub left_out: Vec<crate::lab::model::LeftOut>,
    /// The scenario file (and files it refers to), for locations.
    pub sources: Sources,
}
