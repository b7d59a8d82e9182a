//! What the executor says while it works. Reporters render these; nothing else prints.

use serde::Serialize;

/// How an action (or step) ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", content = "detail", rename_all = "kebab-case")]
pub enum Outcome {
    /// It did what it should.
    Done,
    /// It failed, with why.
    Failed(String),
    /// It did not run, with why (a dependency failed, the run was interrupted).
    Skipped(String),
    /// It was running when the run was interrupted (Ctrl-C) and stopped where it was, with
    /// where (an SSH wait, between two steps); the next run picks it up.
    Interrupted(String),
}

/// One thing that happened during a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
    /// A run begins.
    Started {
        /// The command that runs it ("up", "provision").
        command: String,
        /// The lab.
        lab: String,
        /// What it runs on ("VirtualBox 7.0.20 (/usr/bin/VBoxManage)").
        hypervisor: String,
        /// Number of actions.
        actions: usize,
        /// VMs involved.
        vms: Vec<String>,
    },
    /// An action starts.
    ActionStarted {
        /// Action number in the plan (from 1).
        id: usize,
        /// The VM it is about.
        vm: Option<String>,
        /// Short stage word (clone, configure, boot, ssh, provision, …).
        stage: String,
        /// What it does.
        description: String,
    },
    /// An action ended.
    ActionFinished {
        /// Action number (from 1).
        id: usize,
        /// The VM it is about.
        vm: Option<String>,
        /// Stage word.
        stage: String,
        /// What it did.
        description: String,
        /// How it ended.
        outcome: Outcome,
        /// How long it took.
        seconds: f64,
    },
    /// A provisioning step starts.
    StepStarted {
        /// The VM.
        vm: String,
        /// Step number (from 1).
        index: usize,
        /// Steps of this VM.
        total: usize,
        /// Its name.
        name: String,
    },
    /// A provisioning step ended.
    StepFinished {
        /// The VM.
        vm: String,
        /// Step number (from 1).
        index: usize,
        /// Steps of this VM.
        total: usize,
        /// Its name.
        name: String,
        /// How it ended.
        outcome: Outcome,
        /// The last lines of its output (when it failed).
        output: Vec<String>,
        /// `file:line:col` of the step in the lab file.
        location: String,
        /// How long it took.
        seconds: f64,
    },
    /// Ctrl-C: no action starts any more; these, already running, go on until they finish
    /// (VirtualBox calls are never cut in the middle).
    Stopping {
        /// What runs, as `#N description`.
        waiting_for: Vec<String>,
    },
    /// Something the user should know (a VM powered off to apply changes, a takeover…).
    Note {
        /// The VM, if it is about one.
        vm: Option<String>,
        /// The message.
        message: String,
    },
    /// The run ended.
    Finished {
        /// Actions done.
        done: usize,
        /// Actions failed.
        failed: usize,
        /// Actions skipped.
        skipped: usize,
        /// Actions stopped where they were by the interruption.
        stopped: usize,
        /// True when interrupted.
        interrupted: bool,
        /// Wall time.
        seconds: f64,
    },
}
