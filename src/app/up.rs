//! `labctl up`: reads what VirtualBox has, plans what is missing or different, and runs it.

use std::collections::{BTreeMap, HashMap};
use std::io::IsTerminal;
use std::net::Ipv4Addr;
use std::sync::Mutex;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use super::lab_session::LabSession;
use super::{Ui, cancel_flag};
use crate::cli::UpArgs;
use crate::error::Error;
use crate::exec::{DiskFiles, Event, ExecOptions, LabRunner, RuntimeContext, execute};
use crate::exit_code;
use crate::lab::Lab;
use crate::lab::facts::{lab_context, vm_context};
use crate::lab::model::MacAddress;
use crate::plan::{Action, Intent, Plan, plan_up};
use crate::provision::{first_pending, render_steps};
use crate::report::progress::{JsonReporter, LiveReporter, PlainReporter, Reporter};
use crate::state::JsonStore;

/// The reporter for this output: JSON Lines, live lines on a terminal, or plain lines.
pub(crate) fn reporter(ui: &Ui) -> Box<dyn Reporter> {
    if ui.json {
        Box::new(JsonReporter::new(std::io::stdout()))
    } else if std::io::stderr().is_terminal() {
        Box::new(LiveReporter::new())
    } else {
        Box::new(PlainReporter::new(std::io::stdout()))
    }
}

/// How many steps of each VM still have to run (by content hash), for the VMs that exist.
pub(crate) fn pending_steps(
    lab: &Lab,
    context: &RuntimeContext,
    applied: &JsonStore<Vec<String>>,
) -> HashMap<String, usize> {
    let facts = lab_context(lab, &context.facts);
    let mut pending = HashMap::new();
    for vm in &lab.vms {
        let Some(uuid) = context.uuids.get(&vm.name) else {
            continue;
        };
        let done = applied.get(uuid).unwrap_or_default();
        let count = match render_steps(&vm.steps, &vm_context(&facts, &vm.name), &DiskFiles) {
            Ok(steps) => steps.len() - first_pending(&steps, &done),
            Err(_) => vm.steps.len(),
        };
        pending.insert(vm.name.clone(), count);
    }
    pending
}

/// The guest setup each existing VM last got (its digest), by lab VM name.
pub(crate) fn guest_setups(
    lab: &Lab,
    context: &RuntimeContext,
    done: &JsonStore<String>,
) -> HashMap<String, String> {
    lab.vms
        .iter()
        .filter_map(|vm| {
            let uuid = context.uuids.get(&vm.name)?;
            Some((vm.name.clone(), done.get(uuid)?))
        })
        .collect()
}

/// A planning error with the `file:line:col` of what it is about, when it is about the file.
pub(crate) fn located(lab: &Lab, error: crate::plan::PlanError) -> Error {
    let Some(span) = error.span().filter(|span| !span.range.is_empty()) else {
        return Error::Plan(error);
    };
    let (line, column) = lab.sources.line_col(span.file, span.range.start);
    Error::Refused(format!(
        "{error}\n  at {}:{line}:{column}",
        lab.sources.get(span.file).name
    ))
}

/// The reservations labctl made on the lab's DHCP servers, by lab network.
pub(crate) fn dhcp_reservations(
    lab: &Lab,
    made: &JsonStore<BTreeMap<String, String>>,
) -> HashMap<String, HashMap<MacAddress, Ipv4Addr>> {
    lab.networks
        .iter()
        .filter_map(|network| {
            let made = made.get(&network.name)?;
            let parsed = made
                .iter()
                .filter_map(|(mac, ip)| Some((MacAddress::parse(mac).ok()?, ip.parse().ok()?)))
                .collect();
            Some((network.name.clone(), parsed))
        })
        .collect()
}

/// Runs a plan against a session, reporting as it goes; returns the exit code.
pub(crate) fn run_plan(
    ui: &Ui,
    session: &LabSession,
    plan: &Plan,
    context: RuntimeContext,
    settings: &RunSettings,
) -> Result<u8, Error> {
    let RunSettings {
        command,
        jobs,
        fail_fast,
        boot_timeout,
    } = *settings;
    let cancel: &AtomicBool = cancel_flag();
    let connector = crate::remote::Ssh2Connector;
    let runner = LabRunner {
        lab: &session.lab,
        vbox: &session.vbox,
        state: &session.state,
        guests: session.guest_access(&connector, context, cancel, boot_timeout)?,
        files: &DiskFiles,
        basefolder: session.basefolder()?,
        boot_timeout,
        cancel,
        applied: session.state.applied_steps(),
        guest_setups: session.state.guest_setups(),
        dhcp_reservations: session.state.dhcp_reservations(),
    };
    let started = Instant::now();
    let reporter = Mutex::new(reporter(ui));
    let emit = |event: Event| {
        if let Ok(mut reporter) = reporter.lock() {
            reporter.event(started.elapsed(), &event);
        }
    };
    let mut vms: Vec<String> = plan
        .actions
        .iter()
        .filter_map(|action| action.action.vm().map(str::to_string))
        .collect();
    vms.dedup();
    let mut seen = std::collections::HashSet::new();
    vms.retain(|vm| seen.insert(vm.clone()));
    emit(Event::Started {
        command: command.to_string(),
        lab: session.lab.name.clone(),
        hypervisor: session.hypervisor.clone(),
        actions: plan.actions.len(),
        vms,
    });
    let summary = execute(
        plan,
        &runner,
        ExecOptions { jobs, fail_fast },
        cancel,
        &emit,
    );
    if summary.interrupted {
        return Err(Error::Interrupted);
    }
    let failed = summary.count(|outcome| matches!(outcome, crate::exec::Outcome::Failed(_)));
    if failed > 0 {
        return Err(Error::ActionsFailed {
            failed,
            skipped: summary.count(|outcome| matches!(outcome, crate::exec::Outcome::Skipped(_))),
            total: plan.actions.len(),
        });
    }
    Ok(exit_code::OK)
}

/// `labctl up [FILE] [VM…]`.
pub(crate) fn up(ui: &Ui, args: &UpArgs) -> Result<u8, Error> {
    let (lab_arg, targets) = super::split_targets(&args.items, &args.images);
    let session = LabSession::open(ui, &lab_arg, Some("up"))?;
    remember_last_lab(&session.lab);
    converge(
        ui,
        &session,
        &Convergence {
            targets: (!targets.is_empty()).then_some(targets),
            prune: args.prune,
            run: RunSettings {
                command: "up",
                jobs: usize::from(args.jobs),
                fail_fast: args.fail_fast,
                boot_timeout: Duration::from_secs(args.boot_timeout),
            },
        },
    )
}

/// How a plan is run.
#[derive(Clone, Copy)]
pub(crate) struct RunSettings {
    /// The command that runs it, named in the run's first line.
    pub command: &'static str,
    /// Actions at once.
    pub jobs: usize,
    /// Stop at the first failure.
    pub fail_fast: bool,
    /// How long a VM may take to answer SSH.
    pub boot_timeout: Duration,
}

/// What a bring-up is asked to do.
pub(crate) struct Convergence {
    /// Only these VMs (and what they need through `after`); None is the whole lab.
    pub targets: Option<Vec<String>>,
    /// Delete the lab's VMs that are no longer in the lab.
    pub prune: bool,
    /// How the plan is run.
    pub run: RunSettings,
}

/// Brings the session's lab in line with VirtualBox: reads what exists, plans what is missing
/// or different, and runs it.
pub(crate) fn converge(ui: &Ui, session: &LabSession, asked: &Convergence) -> Result<u8, Error> {
    let mut inventory = session.inventory(false)?;
    let context = RuntimeContext::from_inventory(&session.lab, &inventory);
    let intent = Intent {
        targets: asked.targets.clone(),
        prune: asked.prune,
        pending_steps: pending_steps(&session.lab, &context, &session.state.applied_steps()),
        guest_setups: guest_setups(&session.lab, &context, &session.state.guest_setups()),
        dhcp_reservations: dhcp_reservations(&session.lab, &session.state.dhcp_reservations()),
    };
    let mut plan =
        plan_up(&session.lab, &inventory, &intent).map_err(|e| located(&session.lab, e))?;
    if plan
        .actions
        .iter()
        .any(|action| matches!(action.action, Action::CloneVm { .. }))
    {
        // New MACs must not collide with any registered VM's: read them all.
        inventory = session.inventory(true)?;
        plan = plan_up(&session.lab, &inventory, &intent).map_err(|e| located(&session.lab, e))?;
    }
    // Every appliance to import must be readable before anything is created.
    for planned in &plan.actions {
        if let Action::ImportAppliance { image, path, .. } = &planned.action
            && let Err(error) = std::fs::File::open(path)
        {
            return Err(located(
                &session.lab,
                crate::plan::PlanError::MissingAppliance {
                    image: image.clone(),
                    path: path.display().to_string(),
                    why: error.to_string(),
                    span: session
                        .lab
                        .image(image)
                        .map(|image| image.span.clone())
                        .unwrap_or_default(),
                },
            ));
        }
    }
    for leftover in plan.leftovers.iter().filter(|leftover| !leftover.pruned) {
        if !ui.json {
            ui.err(&format!(
                "note: VM {} (`{}`) is no longer in the lab file; `labctl up --prune` deletes it\n",
                leftover.vbox_name, leftover.role
            ));
        }
    }
    if plan.is_empty() {
        if ui.json {
            ui.out(&format!(
                "{}\n",
                serde_json::json!({ "event": "up-to-date", "lab": session.lab.name })
            ));
        } else {
            ui.out(&format!(
                "lab `{}` is up to date: nothing to do\n",
                session.lab.name
            ));
        }
        return Ok(exit_code::OK);
    }
    run_plan(ui, session, &plan, context, &asked.run)
}

/// Remembers the lab for commands run later from this folder without a file.
fn remember_last_lab(lab: &Lab) {
    let Some(file) = lab.sources.files().first().map(|file| file.name.clone()) else {
        return;
    };
    let _ = crate::state::lab_state::write_atomically(
        &std::path::Path::new(".labctl").join("last-lab"),
        file.as_bytes(),
    );
}
