//! Wiring: parses the command line, builds the real implementations (file system, VBoxManage,
//! SSH) and runs the command. The only module that knows about the process's environment,
//! stdout and stderr; one file per command.

mod clone;
mod destroy;
mod doctor;
mod exec;
mod halt;
mod lab_session;
mod provision;
mod scenario;
mod snapshot;
mod ssh;
mod status;
mod up;
mod verify;

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::{CommandFactory, Parser};

use crate::cli::{
    Cli, ColorChoice, Command, GraphFormat, LabArg, ScenarioCommand, SchemaKind, Shell,
    SnapshotCommand,
};
use crate::error::Error;
use crate::exit_code;
use crate::hypervisor::Inventory;
use crate::lab::model::{ImageSource, Vm};
use crate::lab::{self, Lab, LabFiles, Loaded};
use crate::plan::{self, Intent};
use crate::report::{diagnostics, plan_view, topology};

/// Runs labctl with these arguments and returns the exit code.
pub fn run<I, T>(args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    if let Some(code) = ssh::answer_askpass(&args) {
        return code;
    }
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                exit_code::INVALID
            } else {
                exit_code::OK
            };
        }
    };
    let mut ui = Ui::new(cli.color, cli.json);
    match var_overrides(&cli) {
        Ok(vars) => ui.vars = vars,
        Err(error) => {
            ui.error(&error);
            return error.exit_code();
        }
    }
    match dispatch(&cli, &ui) {
        Ok(code) => code,
        Err(error) => {
            ui.error(&error);
            error.exit_code()
        }
    }
}

/// Where output goes and how it looks, and what the command line sets in every lab it reads.
pub(crate) struct Ui {
    pub(crate) color: bool,
    pub(crate) json: bool,
    /// `--vars FILE` then `--var KEY=VALUE`, applied to the `[vars]` of every lab read.
    pub(crate) vars: lab::VarOverrides,
}

/// The `[vars]` overrides of the command line.
fn var_overrides(cli: &Cli) -> Result<lab::VarOverrides, Error> {
    let mut vars = lab::VarOverrides::default();
    if let Some(path) = &cli.vars_file {
        let file = read_source(path)?;
        vars.add_file(&file.shown, &file.text)
            .map_err(Error::Usage)?;
    }
    for assignment in &cli.vars {
        vars.add_assignment(assignment).map_err(Error::Usage)?;
    }
    Ok(vars)
}

impl Ui {
    fn new(choice: ColorChoice, json: bool) -> Self {
        let color = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal()
            }
        };
        Self {
            color,
            json,
            vars: lab::VarOverrides::default(),
        }
    }

    pub(crate) fn out(&self, text: &str) {
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(text.as_bytes());
        let _ = stdout.flush();
    }

    pub(crate) fn err(&self, text: &str) {
        let mut stderr = std::io::stderr().lock();
        let _ = stderr.write_all(text.as_bytes());
        let _ = stderr.flush();
    }

    pub(crate) fn json_out(&self, value: &impl serde::Serialize) {
        let text = serde_json::to_string_pretty(value)
            .unwrap_or_else(|error| format!("{{\"error\": \"{error}\"}}"));
        self.out(&format!("{text}\n"));
    }

    fn error(&self, error: &Error) {
        if self.json {
            let mut causes = Vec::new();
            let mut source = std::error::Error::source(error);
            while let Some(cause) = source {
                causes.push(cause.to_string());
                source = cause.source();
            }
            let value = serde_json::json!({ "error": error.to_string(), "causes": causes, "exit_code": error.exit_code() });
            self.err(&format!("{value}\n"));
            return;
        }
        let mut text = if self.color {
            format!("\x1b[1;31merror\x1b[0m: {error}\n")
        } else {
            format!("error: {error}\n")
        };
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            text.push_str(&format!("  caused by: {cause}\n"));
            source = cause.source();
        }
        self.err(&text);
    }
}

fn dispatch(cli: &Cli, ui: &Ui) -> Result<u8, Error> {
    match &cli.command {
        Command::Validate(lab) => validate(ui, lab),
        Command::Doctor(lab) => doctor::doctor(ui, lab),
        Command::Plan { lab, offline } => plan(ui, lab, *offline),
        Command::Graph { lab, format } => graph(ui, lab, *format),
        Command::Up(args) => up::up(ui, args),
        Command::Verify(args) => verify::verify(ui, args),
        Command::Provision(args) => provision::provision(ui, args),
        Command::Exec(args) => exec::exec(ui, args),
        Command::Ssh(args) => ssh::ssh(ui, args),
        Command::Status(targets) => status::status(ui, targets),
        Command::Halt { targets, timeout } => halt::halt(ui, targets, *timeout),
        Command::Destroy { targets, yes } => destroy::destroy(ui, targets, *yes),
        Command::Clone { source, name, full } => clone::clone(ui, source, name, *full),
        Command::Scenario(ScenarioCommand::Run(args)) => scenario::run(ui, args),
        Command::Scenario(ScenarioCommand::Validate { file, images }) => {
            scenario::validate(ui, file, images)
        }
        Command::Snapshot(SnapshotCommand::Save { name, targets }) => {
            snapshot::save(ui, targets, name)
        }
        Command::Snapshot(SnapshotCommand::Restore { name, targets }) => {
            snapshot::restore(ui, targets, name)
        }
        Command::Snapshot(SnapshotCommand::List { targets }) => snapshot::list(ui, targets),
        Command::Schema { kind } => {
            ui.json_out(match kind {
                SchemaKind::Lab => lab::schema(),
                SchemaKind::Scenario => crate::scenario::load::schema(),
                SchemaKind::Checks => lab::checks_schema(),
            });
            Ok(exit_code::OK)
        }
        Command::Completions { shell } => {
            let shell = match shell {
                Shell::Bash => clap_complete::Shell::Bash,
                Shell::Zsh => clap_complete::Shell::Zsh,
                Shell::Fish => clap_complete::Shell::Fish,
                Shell::Powershell => clap_complete::Shell::PowerShell,
                Shell::Elvish => clap_complete::Shell::Elvish,
            };
            let mut command = Cli::command();
            let mut buffer = Vec::new();
            clap_complete::generate(shell, &mut command, "labctl", &mut buffer);
            ui.out(&String::from_utf8_lossy(&buffer));
            Ok(exit_code::OK)
        }
        Command::Man => {
            let mut buffer = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut buffer)
                .map_err(|source| Error::File {
                    action: "render",
                    path: PathBuf::from("labctl.1"),
                    source,
                })?;
            ui.out(&String::from_utf8_lossy(&buffer));
            Ok(exit_code::OK)
        }
    }
}

/// Set by Ctrl-C (and SIGTERM): running actions finish, no new one starts, exit code 130. A
/// second Ctrl-C leaves at once: the VBoxManage calls still running are in process groups of
/// their own, so they go on, recorded in `.labctl/`, and the next run waits for them.
pub(crate) fn cancel_flag() -> &'static AtomicBool {
    static CANCEL: AtomicBool = AtomicBool::new(false);
    static HANDLER: Once = Once::new();
    HANDLER.call_once(|| {
        let _ = ctrlc::set_handler(|| {
            if CANCEL.swap(true, Ordering::SeqCst) {
                let _ = std::io::stderr().write_all(
                    b"interrupted again: leaving now; what still runs in VirtualBox goes on, and the next `labctl up` waits for it\n",
                );
                std::process::exit(i32::from(exit_code::INTERRUPTED));
            }
        });
    });
    &CANCEL
}

/// Splits `[FILE] [VM…]`: the first word is the lab file when it names a file or ends in
/// `.toml`.
pub(crate) fn split_targets(items: &[String], images: &[String]) -> (LabArg, Vec<String>) {
    let (file, vms) = match items.split_first() {
        Some((first, rest)) if first.ends_with(".toml") || Path::new(first).is_file() => {
            (Some(PathBuf::from(first)), rest.to_vec())
        }
        _ => (None, items.to_vec()),
    };
    (
        LabArg {
            file,
            images: images.to_vec(),
        },
        vms,
    )
}

/// The lab's VMs named by `names` (VM names or replica groups), in lab order; an unknown name
/// is a usage error with a suggestion.
pub(crate) fn select_vms<'a>(lab: &'a Lab, names: &[String]) -> Result<Vec<&'a Vm>, Error> {
    let mut known: Vec<String> = lab.vms.iter().map(|vm| vm.name.clone()).collect();
    for vm in &lab.vms {
        if !known.contains(&vm.group) {
            known.push(vm.group.clone());
        }
    }
    for name in names {
        if !known.contains(name) {
            let hint = lab::suggest::did_you_mean(name, &known)
                .map(|hint| format!("; {hint}"))
                .unwrap_or_default();
            return Err(Error::Usage(format!(
                "lab `{}` has no VM or replica group `{name}`{hint}",
                lab.name
            )));
        }
    }
    Ok(lab
        .vms
        .iter()
        .filter(|vm| names.contains(&vm.name) || names.contains(&vm.group))
        .collect())
}

/// Reads files through `std::fs`, for validation.
struct DiskFiles;

impl LabFiles for DiskFiles {
    fn read_text(&self, path: &Path) -> std::io::Result<String> {
        std::fs::read_to_string(path)
    }

    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }
}

/// Where the lab file is when the command line does not say.
fn lab_path(arg: &LabArg) -> Result<PathBuf, Error> {
    if let Some(file) = &arg.file {
        return Ok(file.clone());
    }
    if let Some(file) = std::env::var_os("LABCTL_LAB") {
        return Ok(PathBuf::from(file));
    }
    let default = PathBuf::from("lab.toml");
    if default.exists() {
        return Ok(default);
    }
    if let Ok(last) = std::fs::read_to_string(Path::new(".labctl").join("last-lab")) {
        let last = PathBuf::from(last.trim());
        if last.exists() {
            return Ok(last);
        }
    }
    Err(Error::Usage(
        "no lab file given: name one (`labctl up labs/exam3.toml`), set LABCTL_LAB, or run where lab.toml is".into(),
    ))
}

/// A file the user named (lab, scenario, checks), read whole.
pub(crate) struct SourceFile {
    /// Its text.
    pub text: String,
    /// Its path as diagnostics show it.
    pub shown: String,
    /// The folder its relative paths start from.
    pub dir: PathBuf,
}

/// Reads a file the user named.
pub(crate) fn read_source(path: &Path) -> Result<SourceFile, Error> {
    let bytes = std::fs::read(path).map_err(|source| Error::File {
        action: "read",
        path: path.to_path_buf(),
        source,
    })?;
    let text = lab::source::decode(bytes).map_err(|problem| Error::NotUtf8 {
        file: path.display().to_string(),
        problem,
    })?;
    let dir = path
        .parent()
        .map(Path::to_path_buf)
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or_else(|| PathBuf::from("."));
    Ok(SourceFile {
        text,
        shown: path.display().to_string(),
        dir,
    })
}

/// Reads and validates a lab file, printing its diagnostics.
fn load(ui: &Ui, arg: &LabArg) -> Result<(Loaded, String), Error> {
    let file = read_source(&lab_path(arg)?)?;
    let mut loaded = lab::load_resized(
        &file.shown,
        &file.text,
        &file.dir,
        &DiskFiles,
        &[],
        &ui.vars,
    )
    .map_err(Error::Usage)?;
    if let Some(lab) = &loaded.lab {
        let is_set = |name: &str| std::env::var_os(name).is_some();
        loaded
            .diagnostics
            .extend(lab::unset_secret_variables(lab, &is_set));
    }
    Ok((loaded, file.shown))
}

/// Loads a lab and fails with every problem reported when it has errors; applies `--image`.
pub(crate) fn load_valid(ui: &Ui, arg: &LabArg) -> Result<Lab, Error> {
    let (loaded, shown) = load(ui, arg)?;
    if !loaded.diagnostics.is_empty() && !ui.json {
        ui.err(&diagnostics::render_diagnostics(
            &loaded.sources,
            &loaded.diagnostics,
            ui.color,
        ));
    }
    let errors = loaded.error_count();
    let Some(mut lab) = loaded.lab else {
        return Err(Error::InvalidLab {
            file: shown,
            errors,
        });
    };
    apply_images(&mut lab, &arg.images)?;
    Ok(lab)
}

/// Points images at other appliances (`--image NAME=PATH`), leaving the lab file unchanged.
pub(crate) fn apply_images(lab: &mut Lab, images: &[String]) -> Result<(), Error> {
    for image_override in images {
        let Some((name, path)) = image_override.split_once('=') else {
            return Err(Error::Usage(format!(
                "--image `{image_override}`: expected NAME=PATH"
            )));
        };
        let names: Vec<String> = lab.images.iter().map(|image| image.name.clone()).collect();
        let Some(image) = lab.images.iter_mut().find(|image| image.name == name) else {
            let hint = lab::suggest::did_you_mean(name, &names)
                .map(|hint| format!("; {hint}"))
                .unwrap_or_default();
            return Err(Error::Usage(format!(
                "--image: the lab has no image `{name}`{hint}"
            )));
        };
        image.source = ImageSource::Appliance(PathBuf::from(path));
    }
    Ok(())
}

fn validate(ui: &Ui, arg: &LabArg) -> Result<u8, Error> {
    let (loaded, shown) = load(ui, arg)?;
    let errors = loaded.error_count();
    let warnings = loaded.diagnostics.len() - errors;
    if ui.json {
        let items: Vec<_> = loaded
            .diagnostics
            .iter()
            .map(|d| diagnostics::json_diagnostic(&loaded.sources, d))
            .collect();
        let summary = loaded.lab.as_ref().map(|lab| {
            serde_json::json!({
                "lab": lab.name,
                "vms": lab.vms.len(),
                "networks": lab.networks.len(),
                "images": lab.images.len(),
                "checks": lab.checks.len(),
                "steps": lab.vms.iter().map(|vm| vm.steps.len()).sum::<usize>(),
            })
        });
        ui.json_out(&serde_json::json!({
            "file": shown,
            "valid": errors == 0,
            "errors": errors,
            "warnings": warnings,
            "diagnostics": items,
            "summary": summary,
        }));
    } else {
        ui.err(&diagnostics::render_diagnostics(
            &loaded.sources,
            &loaded.diagnostics,
            ui.color,
        ));
    }
    match loaded.lab {
        Some(lab) => {
            if !ui.json {
                use crate::report::count;
                let warning_text = if warnings > 0 {
                    format!(", {}", count(warnings, "warning"))
                } else {
                    String::new()
                };
                ui.out(&format!(
                    "{shown}: lab `{}` is valid ({}, {}, {}, {}{warning_text})\n",
                    lab.name,
                    count(lab.vms.len(), "VM"),
                    count(lab.networks.len(), "network"),
                    count(lab.images.len(), "image"),
                    count(lab.checks.len(), "check")
                ));
            }
            Ok(exit_code::OK)
        }
        None => {
            if !ui.json {
                ui.err(&format!(
                    "{shown}: {errors} error{} found\n",
                    if errors == 1 { "" } else { "s" }
                ));
            }
            Ok(exit_code::INVALID)
        }
    }
}

fn plan(ui: &Ui, arg: &LabArg, offline: bool) -> Result<u8, Error> {
    let lab = load_valid(ui, arg)?;
    let (inventory, against, pending) = if offline {
        (
            Inventory::default(),
            "an empty VirtualBox (--offline: inventory not read)".to_string(),
            Default::default(),
        )
    } else {
        match lab_session::connect_virtualbox() {
            Ok((vbox, description)) => {
                let scope = crate::hypervisor::InventoryScope {
                    lab: lab.name.clone(),
                    vm_prefix: lab.vm_prefix.clone(),
                    names: Vec::new(),
                    all: false,
                };
                let inventory = vbox.inventory(&scope)?;
                let context = crate::exec::RuntimeContext::from_inventory(&lab, &inventory);
                let state = crate::state::LabState::new(&lab.dir, &lab.name);
                let pending = up::pending_steps(&lab, &context, &state.applied_steps());
                let setups = up::guest_setups(&lab, &context, &state.guest_setups());
                let reservations = up::dhcp_reservations(&lab, &state.dhcp_reservations());
                (inventory, description, (pending, setups, reservations))
            }
            Err(Error::NoVirtualBox) => (
                Inventory::default(),
                "an empty VirtualBox (VBoxManage not found)".to_string(),
                Default::default(),
            ),
            Err(error) => return Err(error),
        }
    };
    let (pending_steps, guest_setups, dhcp_reservations) = pending;
    let plan = plan::plan_up(
        &lab,
        &inventory,
        &Intent {
            pending_steps,
            guest_setups,
            dhcp_reservations,
            ..Intent::default()
        },
    )?;
    if ui.json {
        ui.json_out(&serde_json::json!({
            "lab": lab.name,
            "against": against,
            "actions": plan.actions,
            "stages": plan.stages().len(),
            "leftovers": plan.leftovers,
            "left_out": lab.left_out,
        }));
    } else {
        ui.out(&plan_view::render_plan(
            &lab.name,
            lab.vms.len(),
            &against,
            &plan,
        ));
        ui.out(&plan_view::render_left_out(&lab.left_out));
    }
    Ok(exit_code::OK)
}

fn graph(ui: &Ui, arg: &LabArg, format: GraphFormat) -> Result<u8, Error> {
    let lab = load_valid(ui, arg)?;
    ui.out(&match format {
        GraphFormat::Mermaid => topology::mermaid(&lab),
        GraphFormat::Dot => topology::dot(&lab),
    });
    Ok(exit_code::OK)
}
