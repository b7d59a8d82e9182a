//! `labctl scenario run|validate`: reads a scenario and its lab, checks every act against the
//! lab as it stands at that act, then (for `run`) brings the lab up when needed and performs
//! the acts in order — add or remove a replica, stop or start VMs, run steps, clone a VM and
//! compare its MACs — with the act's
//! checks after each; reports as `verify` does, one suite per act.

use std::path::Path;
use std::time::{Duration, Instant};

use super::clone::make_clone;
use super::halt::halt_vms;
use super::lab_session::LabSession;
use super::up::{Convergence, RunSettings, converge};
use super::verify::{print_check_lines, run_checks, write_reports};
use super::{DiskFiles, SourceFile, Ui, apply_images, cancel_flag, load_valid, read_source};
use crate::checks::CheckResult;
use crate::cli::{LabArg, ScenarioRunArgs};
use crate::error::Error;
use crate::exec::{DiskFiles as LocalDiskFiles, RuntimeContext};
use crate::exit_code;
use crate::lab::{self, Lab, Severity};
use crate::provision::render_steps;
use crate::report::diagnostics;
use crate::scenario::{self, Act, ActAction, Scenario};

/// Reads a scenario and its lab; every problem of either is reported at its location.
fn load_scenario(ui: &Ui, file: &Path, images: &[String]) -> Result<(Scenario, Lab), Error> {
    let SourceFile { text, shown, dir } = read_source(file)?;
    let parsed = match scenario::parse(&shown, &text, &dir) {
        Ok(parsed) => parsed,
        Err(loaded) => {
            ui.err(&diagnostics::render_diagnostics(
                &loaded.sources,
                &loaded.diagnostics,
                ui.color,
            ));
            return Err(Error::InvalidLab {
                file: shown,
                errors: loaded.diagnostics.len(),
            });
        }
    };
    let lab = load_valid(
        ui,
        &LabArg {
            file: Some(parsed.lab_file()),
            images: images.to_vec(),
        },
    )?;
    let resize = |counts: &[(String, u32)]| -> Result<Lab, String> {
        let main = lab.sources.main();
        let loaded = lab::load_resized(
            &main.name, &main.text, &lab.dir, &DiskFiles, counts, &ui.vars,
        )?;
        match loaded.lab {
            Some(mut resized) => {
                apply_images(&mut resized, images).map_err(|error| error.to_string())?;
                Ok(resized)
            }
            None => Err(loaded
                .diagnostics
                .iter()
                .find(|problem| problem.severity == Severity::Error)
                .map_or_else(
                    || "the lab would be invalid".to_string(),
                    |problem| problem.message.clone(),
                )),
        }
    };
    let loaded = scenario::validate(parsed, &lab, &DiskFiles, &resize);
    if !loaded.diagnostics.is_empty() {
        ui.err(&diagnostics::render_diagnostics(
            &loaded.sources,
            &loaded.diagnostics,
            ui.color,
        ));
    }
    match loaded.scenario {
        Some(scenario) => Ok((scenario, lab)),
        None => Err(Error::InvalidLab {
            file: shown,
            errors: loaded
                .diagnostics
                .iter()
                .filter(|problem| problem.severity == Severity::Error)
                .count(),
        }),
    }
}

/// `labctl scenario validate FILE`.
pub(crate) fn validate(ui: &Ui, file: &Path, images: &[String]) -> Result<u8, Error> {
    let (scenario, lab) = load_scenario(ui, file, images)?;
    let checks: usize = scenario.acts.iter().map(|act| act.checks.len()).sum();
    if ui.json {
        ui.json_out(&serde_json::json!({
            "scenario": scenario.name,
            "lab": lab.name,
            "valid": true,
            "acts": scenario.acts.iter().map(|act| serde_json::json!({
                "name": act.name,
                "checks": act.checks.len(),
            })).collect::<Vec<_>>(),
            "left_out": scenario.left_out,
        }));
    } else {
        ui.out(&format!(
            "{}: scenario `{}` on lab `{}` is valid ({}, {})\n{}",
            file.display(),
            scenario.name,
            lab.name,
            crate::report::count(scenario.acts.len(), "act"),
            crate::report::count(checks, "check"),
            crate::report::plan_view::render_left_out(&scenario.left_out)
        ));
    }
    Ok(exit_code::OK)
}

/// Does what an act does, before its checks.
/// Does what an act does; a `clone` act also returns its graded comparison of MACs.
fn perform(
    ui: &Ui,
    session: &mut LabSession,
    act: &Act,
    asked: &Convergence,
    sources: &lab::Sources,
) -> Result<Option<CheckResult>, Error> {
    if let ActAction::Clone { vm, vbox_name } = &act.action {
        return clone_and_compare(ui, session, act, vm, vbox_name, sources).map(Some);
    }
    perform_change(ui, session, act, asked).map(|()| None)
}

/// A linked clone of `vbox_name` with fresh MACs, compared adapter by adapter with the VM, then
/// deleted: the result is a check of the act (the lab sheet's step 8).
fn clone_and_compare(
    ui: &Ui,
    session: &LabSession,
    act: &Act,
    vm: &str,
    vbox_name: &str,
    sources: &lab::Sources,
) -> Result<CheckResult, Error> {
    let started = Instant::now();
    let name = format!("{vbox_name}-clone");
    let cloned = make_clone(ui, &session.vbox, vbox_name, &name, false)?;
    let same = cloned.same();
    let mac = |mac: &Option<lab::model::MacAddress>| {
        mac.map_or_else(|| "-".to_string(), |mac| mac.to_string())
    };
    let details: Vec<String> = cloned
        .rows
        .iter()
        .map(|(slot, old, new)| format!("adapter {slot}: {} → {}", mac(old), mac(new)))
        .collect();
    session.vbox.power_off_and_delete(&cloned.copy)?;
    let (line, column) = sources.line_col(act.span.file, act.span.range.start);
    Ok(CheckResult {
        name: format!("a clone of {vm} has MACs of its own"),
        kind: "clone".to_string(),
        weight: 1.0,
        passed: same.is_empty(),
        expected: format!("every adapter of {name} with a MAC other than {vbox_name}'s"),
        actual: if same.is_empty() {
            "as expected".to_string()
        } else {
            format!(
                "adapter(s) {same:?} kept {vbox_name}'s MAC: {}",
                details.join("; ")
            )
        },
        details,
        attempts: 1,
        seconds: started.elapsed().as_secs_f64(),
        visibility: lab::raw::Visibility::Visible,
        location: format!("{}:{line}:{column}", sources.get(act.span.file).name),
    })
}

fn perform_change(
    ui: &Ui,
    session: &mut LabSession,
    act: &Act,
    asked: &Convergence,
) -> Result<(), Error> {
    let converged = |session: &LabSession, targets: &[String]| -> Result<(), Error> {
        converge(
            ui,
            session,
            &Convergence {
                targets: Some(targets.to_vec()),
                prune: false,
                run: asked.run,
            },
        )
        .map(drop)
    };
    match &act.action {
        ActAction::Check | ActAction::Clone { .. } => Ok(()),
        ActAction::Add { vms, .. } => {
            session.lab = act.lab.clone();
            converged(session, vms)
        }
        ActAction::Start(vms) => converged(session, vms),
        ActAction::Stop(vms) => halt_vms(ui, session, vms, 60).map(drop),
        ActAction::Remove { vms, .. } => {
            // Shut down first, as a student would: services deregister on their way out.
            let names: Vec<String> = vms.iter().map(|(name, _)| name.clone()).collect();
            halt_vms(ui, session, &names, 30)?;
            let inventory = session.inventory(false)?;
            for (name, vbox_name) in vms {
                let Some(observed) = inventory
                    .vm_named(vbox_name)
                    .filter(|observed| observed.owned_by(&session.lab.name))
                else {
                    continue;
                };
                session.vbox.power_off_and_delete(observed)?;
                session.state.forget_vm(&observed.uuid);
                if !ui.json {
                    ui.out(&format!("removed {name} ({vbox_name})\n"));
                }
            }
            session.lab = act.lab.clone();
            Ok(())
        }
        ActAction::Steps(vms) => {
            let inventory = session.inventory(false)?;
            let context = RuntimeContext::from_inventory(&session.lab, &inventory);
            let connector = crate::remote::Ssh2Connector;
            let guests =
                session.guest_access(&connector, context, cancel_flag(), asked.run.boot_timeout)?;
            let lab = &session.lab;
            let failures: Vec<String> = std::thread::scope(|scope| {
                let handles: Vec<_> = vms
                    .iter()
                    .filter_map(|name| lab.vm(name))
                    .map(|vm| {
                        let guests = &guests;
                        scope.spawn(move || -> Result<(), String> {
                            let rendered = render_steps(
                                &act.steps,
                                &guests.template_context(Some(&vm.name)),
                                &LocalDiskFiles,
                            )
                            .map_err(|error| error.to_string())?;
                            guests.run_steps(vm, &rendered)
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .filter_map(|handle| {
                        handle
                            .join()
                            .unwrap_or_else(|_| Err("panicked".into()))
                            .err()
                    })
                    .collect()
            });
            if failures.is_empty() {
                Ok(())
            } else {
                Err(Error::Remote(failures.join("\n")))
            }
        }
    }
}

/// `labctl scenario run FILE`.
pub(crate) fn run(ui: &Ui, args: &ScenarioRunArgs) -> Result<u8, Error> {
    let (scenario, lab) = load_scenario(ui, &args.file, &args.images)?;
    let mut session = LabSession::for_lab(ui, lab, Some("scenario"))?;
    let asked = Convergence {
        targets: None,
        prune: false,
        run: RunSettings {
            command: "up",
            jobs: usize::from(args.jobs),
            fail_fast: false,
            boot_timeout: Duration::from_secs(args.boot_timeout),
        },
    };
    let say = |text: String| print_check_lines(ui, args.reports.tap, &format!("{text}\n"));
    let began = Instant::now();
    say(format!(
        "scenario `{}` on lab `{}` ({}): {}{}",
        scenario.name,
        session.lab.name,
        session.hypervisor,
        crate::report::count(scenario.acts.len(), "act"),
        crate::report::plan_view::render_left_out(&scenario.left_out).trim_end()
    ));
    converge(ui, &session, &asked)?;
    let mut verifications = Vec::new();
    for (index, act) in scenario.acts.iter().enumerate() {
        say(format!(
            "== act {}/{}: {}",
            index + 1,
            scenario.acts.len(),
            act.name
        ));
        let graded = match perform(ui, &mut session, act, &asked, &scenario.sources) {
            Ok(graded) => graded,
            Err(error) => {
                write_reports(ui, &scenario.name, &verifications, &args.reports)?;
                return Err(Error::Remote(format!(
                    "act {} `{}` failed: {error}",
                    index + 1,
                    act.name
                )));
            }
        };
        if let Some(result) = &graded {
            print_check_lines(
                ui,
                args.reports.tap,
                &crate::report::check_report::check_lines(result, ui.color),
            );
        }
        std::thread::sleep(act.wait);
        if act.checks.is_empty() && graded.is_none() {
            continue;
        }
        let mut verification = if act.checks.is_empty() {
            crate::checks::Verification {
                name: act.name.clone(),
                results: Vec::new(),
                seconds: 0.0,
            }
        } else {
            run_checks(
                ui,
                &session,
                &act.checks,
                &scenario.sources,
                &act.name,
                usize::from(args.jobs),
                &|lines| print_check_lines(ui, args.reports.tap, lines),
            )?
        };
        if let Some(result) = graded {
            verification.results.insert(0, result);
        }
        verifications.push(verification);
    }
    say(format!(
        "scenario `{}` done in {:.1}s",
        scenario.name,
        began.elapsed().as_secs_f64()
    ));
    write_reports(ui, &scenario.name, &verifications, &args.reports)?;
    Ok(
        if verifications
            .iter()
            .all(crate::checks::Verification::all_passed)
        {
            exit_code::OK
        } else {
            exit_code::CHECKS_FAILED
        },
    )
}
