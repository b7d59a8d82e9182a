//! `labctl verify`: runs the lab's checks (or a rubric's) against the running lab, prints a
//! line per check as it finishes, and writes the reports asked for (JSON, JUnit, TAP,
//! Gradescope, GitHub Actions annotations and job summary).

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::lab_session::LabSession;
use super::{DiskFiles, SourceFile, Ui, cancel_flag, read_source};
use crate::checks::{HostProbes, Verification, Verifier};
use crate::cli::{ReportArgs, VerifyArgs};
use crate::error::Error;
use crate::exec::RuntimeContext;
use crate::exit_code;
use crate::lab::model::Check;
use crate::lab::{self, Sources};
use crate::report::{check_report, diagnostics, github, gradescope, junit, tap};

/// Reads a checks file (a rubric) against the lab; its problems are reported like a lab
/// file's.
pub(crate) fn load_checks_file(
    ui: &Ui,
    session: &LabSession,
    path: &Path,
) -> Result<(Vec<Check>, Sources), Error> {
    let SourceFile { text, shown, .. } = read_source(path)?;
    let is_lab_file = toml::from_str::<toml::Table>(&text)
        .is_ok_and(|table| table.contains_key("lab") || table.contains_key("vms"));
    if is_lab_file {
        return Err(Error::Usage(format!(
            "`{shown}` is a lab file, not a checks file: `--checks` takes a file of [[checks]] (a rubric); the lab's own checks run without it"
        )));
    }
    let (checks, problems, sources) = lab::load_checks(&session.lab, &shown, &text, &DiskFiles);
    if !problems.is_empty() && !ui.json {
        ui.err(&diagnostics::render_diagnostics(
            &sources, &problems, ui.color,
        ));
    }
    match checks {
        Some(checks) => Ok((checks, sources)),
        None => Err(Error::InvalidLab {
            file: shown,
            errors: problems
                .iter()
                .filter(|problem| problem.severity == lab::Severity::Error)
                .count(),
        }),
    }
}

fn write_file(path: &Path, text: &str) -> Result<(), Error> {
    if let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent).map_err(|source| Error::File {
            action: "create",
            path: parent.to_path_buf(),
            source,
        })?;
    }
    std::fs::write(path, text).map_err(|source| Error::File {
        action: "write",
        path: path.to_path_buf(),
        source,
    })
}

/// Writes every report asked for, and under GitHub Actions the annotations and job summary.
pub(crate) fn write_reports(
    ui: &Ui,
    title: &str,
    verifications: &[Verification],
    targets: &ReportArgs,
) -> Result<(), Error> {
    if let Some(path) = &targets.junit {
        write_file(path, &junit::junit(title, verifications))?;
    }
    if let Some(path) = &targets.gradescope {
        let document = serde_json::to_string_pretty(&gradescope::gradescope(verifications))
            .unwrap_or_default();
        write_file(path, &format!("{document}\n"))?;
    }
    if std::env::var("GITHUB_ACTIONS").is_ok_and(|value| value == "true") {
        // Workflow commands are read from stdout; with --json or --tap stdout is a document.
        let annotations = github::annotations(verifications);
        if ui.json || targets.tap {
            ui.err(&annotations);
        } else {
            ui.out(&annotations);
        }
        if let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY") {
            use std::io::Write;
            let text = github::job_summary(title, verifications);
            let written = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&summary)
                .and_then(|mut file| file.write_all(text.as_bytes()));
            written.map_err(|source| Error::File {
                action: "append to",
                path: summary.into(),
                source,
            })?;
        }
    }
    if ui.json {
        // One line, so that it ends a stream of JSON Lines events (a scenario's bring-up).
        ui.out(&format!("{}\n", check_report::json(verifications)));
    } else if targets.tap {
        ui.out(&tap::tap(verifications));
        ui.err(&check_report::summary(verifications, ui.color));
    } else {
        ui.out(&check_report::summary(verifications, ui.color));
    }
    Ok(())
}

/// Shows a finished check's lines: on stdout for people, on stderr when stdout is TAP, not
/// at all when it is JSON.
pub(crate) fn print_check_lines(ui: &Ui, tap: bool, lines: &str) {
    if ui.json {
        return;
    }
    if tap {
        ui.err(lines);
    } else {
        ui.out(lines);
    }
}

/// Runs `checks` against the session's lab, handing each result's lines to `print` as it
/// finishes.
pub(crate) fn run_checks(
    ui: &Ui,
    session: &LabSession,
    checks: &[Check],
    sources: &Sources,
    name: &str,
    jobs: usize,
    print: &(dyn Fn(&str) + Sync),
) -> Result<Verification, Error> {
    let cancel = cancel_flag();
    let inventory = session.inventory(false)?;
    let vms: Vec<&crate::lab::model::Vm> = session.lab.vms.iter().collect();
    session.require_created(&inventory, &vms, false)?;
    let context = RuntimeContext::from_inventory(&session.lab, &inventory);
    let connector = crate::remote::Ssh2Connector;
    let mut guests = session.guest_access(&connector, context, cancel, Duration::from_secs(30))?;
    // Checks that reach a stopped VM fail at once, saying so, rather than after an SSH wait.
    guests.stopped = vms
        .iter()
        .filter_map(|vm| {
            let observed = inventory.vm_named(&vm.vbox_name)?;
            observed
                .state
                .is_stopped()
                .then(|| (vm.name.clone(), observed.state.words().to_string()))
        })
        .collect();
    let verifier = Verifier {
        lab: &session.lab,
        guests: &guests,
        probes: &HostProbes,
        sources,
        jobs,
        cancel,
    };
    let secrets = session.secrets();
    let printed = Mutex::new(());
    let started = Instant::now();
    let results = verifier.run(checks, &|result| {
        let mut shown = Verification {
            name: String::new(),
            results: vec![result.clone()],
            seconds: 0.0,
        };
        shown.redact(&secrets);
        let _guard = printed.lock();
        print(&check_report::check_lines(&shown.results[0], ui.color));
    });
    if cancel.load(Ordering::SeqCst) {
        return Err(Error::Interrupted);
    }
    let mut verification = Verification {
        name: name.to_string(),
        results,
        seconds: started.elapsed().as_secs_f64(),
    };
    verification.redact(&secrets);
    Ok(verification)
}

/// `labctl verify [FILE]`.
pub(crate) fn verify(ui: &Ui, args: &VerifyArgs) -> Result<u8, Error> {
    let session = LabSession::open(ui, &args.lab, None)?;
    let (mut checks, sources) = match &args.checks {
        Some(path) => load_checks_file(ui, &session, path)?,
        None => (session.lab.checks.clone(), session.lab.sources.clone()),
    };
    if !args.only.is_empty() {
        let names: Vec<String> = checks.iter().map(|check| check.name.clone()).collect();
        for wanted in &args.only {
            if !names.contains(wanted) {
                let hint = lab::suggest::did_you_mean(wanted, &names)
                    .map(|hint| format!("; {hint}"))
                    .unwrap_or_default();
                return Err(Error::Usage(format!(
                    "--only: there is no check `{wanted}`{hint}"
                )));
            }
        }
        checks.retain(|check| args.only.contains(&check.name));
    }
    if checks.is_empty() {
        return Err(Error::Usage(format!(
            "lab `{}` has no checks to run: add [[checks]] to the lab file or pass --checks FILE",
            session.lab.name
        )));
    }
    if !ui.json && !args.reports.tap {
        ui.out(&format!(
            "verify lab `{}` on {}: {} check{}\n",
            session.lab.name,
            session.hypervisor,
            checks.len(),
            if checks.len() == 1 { "" } else { "s" }
        ));
    }
    let verification = run_checks(
        ui,
        &session,
        &checks,
        &sources,
        &session.lab.name,
        usize::from(args.jobs),
        &|lines| print_check_lines(ui, args.reports.tap, lines),
    )?;
    let verifications = [verification];
    write_reports(ui, &session.lab.name, &verifications, &args.reports)?;
    Ok(if verifications[0].all_passed() {
        exit_code::OK
    } else {
        exit_code::CHECKS_FAILED
    })
}
