//! The command line: flags and subcommands, declared with clap. No behaviour lives here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// labctl turns one lab file into a running, verified VirtualBox lab.
#[derive(Debug, Parser)]
#[command(name = "labctl", version, about, long_about = None, propagate_version = true)]
#[command(
    after_help = "Exit codes: 0 ok, 1 checks failed, 2 invalid lab file or usage, 3 VirtualBox/SSH/host error, 130 interrupted."
)]
pub struct Cli {
    /// Report as JSON (JSON Lines for streams of events) instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// When to colour output.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Set a value of the lab's [vars], as KEY=VALUE (a TOML value, else a string); repeatable,
    /// wins over --vars and the lab file.
    #[arg(long = "var", global = true, value_name = "KEY=VALUE")]
    pub vars: Vec<String>,
    /// Set values of the lab's [vars] from a TOML file of KEY = VALUE lines.
    #[arg(long = "vars", global = true, value_name = "FILE")]
    pub vars_file: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// When to use colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// When writing to a terminal and NO_COLOR is unset.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// The lab file argument shared by most commands.
#[derive(Debug, Clone, Args)]
pub struct LabArg {
    /// The lab file (default: $LABCTL_LAB, else ./lab.toml, else the lab last brought up from
    /// this folder).
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Use another appliance for an image, as NAME=PATH (the lab file stays unchanged).
    #[arg(long = "image", value_name = "NAME=PATH")]
    pub images: Vec<String>,
}

/// Output formats of `graph`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// Mermaid flowchart (renders on GitHub).
    Mermaid,
    /// Graphviz DOT.
    Dot,
}

/// The files `schema` describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemaKind {
    /// Lab files.
    Lab,
    /// Scenario files.
    Scenario,
    /// Checks files (rubrics for `verify --checks`).
    Checks,
}

/// Shells `completions` can generate for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    /// Bash.
    Bash,
    /// Zsh.
    Zsh,
    /// Fish.
    Fish,
    /// PowerShell.
    Powershell,
    /// Elvish.
    Elvish,
}

/// The lab file and the VMs a command acts on: `[FILE] [VM…]` (the first word is the file when
/// it names a file or ends in `.toml`).
#[derive(Debug, Clone, Args)]
pub struct TargetArgs {
    /// The lab file, then VMs (or replica groups) to act on; none means the whole lab.
    #[arg(value_name = "FILE_OR_VM")]
    pub items: Vec<String>,
    /// Use another appliance for an image, as NAME=PATH (the lab file stays unchanged).
    #[arg(long = "image", value_name = "NAME=PATH")]
    pub images: Vec<String>,
}

/// Arguments of `up`.
#[derive(Debug, Clone, Args)]
pub struct UpArgs {
    /// The lab file, then VMs to bring up (with the VMs they need through `after`).
    #[arg(value_name = "FILE_OR_VM")]
    pub items: Vec<String>,
    /// Use another appliance for an image, as NAME=PATH (the lab file stays unchanged).
    #[arg(long = "image", value_name = "NAME=PATH")]
    pub images: Vec<String>,
    /// Actions run at once.
    #[arg(long, short = 'j', default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
    /// Delete VMs of this lab that are no longer in the lab file.
    #[arg(long)]
    pub prune: bool,
    /// Stop starting new actions after the first failure (others go on by default).
    #[arg(long)]
    pub fail_fast: bool,
    /// Seconds a VM may take to answer SSH after it starts.
    #[arg(long, default_value_t = 300)]
    pub boot_timeout: u64,
}

/// The check reports of `verify` and `scenario run`.
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// Write a JUnit XML report (a test suite per lab checked, or per scenario act).
    #[arg(long, value_name = "PATH")]
    pub junit: Option<PathBuf>,
    /// Write a Gradescope `results.json`.
    #[arg(long, value_name = "PATH")]
    pub gradescope: Option<PathBuf>,
    /// Print TAP (version 14) on stdout instead of lines for people (a subtest per scenario
    /// act).
    #[arg(long, conflicts_with = "json")]
    pub tap: bool,
}

/// Arguments of `verify`.
#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// The lab.
    #[command(flatten)]
    pub lab: LabArg,
    /// Run the checks of this file (an instructor's rubric: `[[checks]]` tables) instead of the
    /// lab file's.
    #[arg(long, value_name = "FILE")]
    pub checks: Option<PathBuf>,
    /// Run only the checks with these names.
    #[arg(long, value_name = "NAME")]
    pub only: Vec<String>,
    /// The reports.
    #[command(flatten)]
    pub reports: ReportArgs,
    /// Checks run at once.
    #[arg(long, short = 'j', default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
}

/// Arguments of `provision`.
#[derive(Debug, Clone, Args)]
pub struct ProvisionArgs {
    /// The lab file, then VMs (or replica groups) to provision; none means every VM.
    #[arg(value_name = "FILE_OR_VM")]
    pub items: Vec<String>,
    /// Run every step again, even those that ran with their current content.
    #[arg(long)]
    pub force: bool,
    /// Stop starting new VMs after the first failure.
    #[arg(long)]
    pub fail_fast: bool,
    /// VMs provisioned at once.
    #[arg(long, short = 'j', default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
}

/// Arguments of `exec`.
#[derive(Debug, Clone, Args)]
pub struct ExecArgs {
    /// The lab file, then the VM (or VMs, or replica groups) to run the command on.
    #[arg(value_name = "FILE_OR_VM")]
    pub items: Vec<String>,
    /// Run on every VM of the lab, in parallel.
    #[arg(long)]
    pub all: bool,
    /// Seconds the command may run.
    #[arg(long, default_value_t = 600)]
    pub timeout: u64,
    /// The command, after `--`; it runs through the login user's shell.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// Arguments of `ssh`.
#[derive(Debug, Clone, Args)]
pub struct SshArgs {
    /// The lab file, then the VM.
    #[arg(value_name = "FILE_OR_VM", required = true)]
    pub items: Vec<String>,
    /// A command to run instead of an interactive shell (after `--`).
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// What `scenario` does.
#[derive(Debug, Clone, Subcommand)]
pub enum ScenarioCommand {
    /// Run a scenario's acts in order against its lab (brought up first when needed), with
    /// the checks after each act; reports as `verify` does, one suite per act.
    Run(ScenarioRunArgs),
    /// Check a scenario file (and its lab) without touching VirtualBox.
    Validate {
        /// The scenario file.
        file: PathBuf,
        /// Use another appliance for an image of the lab, as NAME=PATH.
        #[arg(long = "image", value_name = "NAME=PATH")]
        images: Vec<String>,
    },
}

/// Arguments of `scenario run`.
#[derive(Debug, Clone, Args)]
pub struct ScenarioRunArgs {
    /// The scenario file.
    pub file: PathBuf,
    /// Use another appliance for an image of the lab, as NAME=PATH.
    #[arg(long = "image", value_name = "NAME=PATH")]
    pub images: Vec<String>,
    /// The reports.
    #[command(flatten)]
    pub reports: ReportArgs,
    /// Actions and checks run at once.
    #[arg(long, short = 'j', default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
    /// Seconds a VM may take to answer SSH after it starts.
    #[arg(long, default_value_t = 300)]
    pub boot_timeout: u64,
}

/// What `snapshot` does.
#[derive(Debug, Clone, Subcommand)]
pub enum SnapshotCommand {
    /// Take snapshot NAME of the lab's VMs.
    Save {
        /// Snapshot name.
        name: String,
        /// The lab file and VMs.
        #[command(flatten)]
        targets: TargetArgs,
    },
    /// Bring the lab's VMs back to snapshot NAME (running VMs are powered off, restored and
    /// started again).
    Restore {
        /// Snapshot name.
        name: String,
        /// The lab file and VMs.
        #[command(flatten)]
        targets: TargetArgs,
    },
    /// List the snapshots of the lab's VMs.
    List {
        /// The lab file and VMs.
        #[command(flatten)]
        targets: TargetArgs,
    },
}

/// labctl's subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a lab file and report every problem with its location.
    Validate(LabArg),
    /// Check what `up` needs from this host before anything is created: VBoxManage and its
    /// version, memory for the lab's VMs, the host-only address rule (/etc/vbox/networks.conf),
    /// appliances and credentials. Exit 0 when ready, 1 when something must be fixed first.
    Doctor(LabArg),
    /// Show what `up` would do, in order, with what can run in parallel and why.
    Plan {
        /// The lab.
        #[command(flatten)]
        lab: LabArg,
        /// Plan against an empty VirtualBox instead of reading what exists.
        #[arg(long)]
        offline: bool,
    },
    /// Draw the lab's topology.
    Graph {
        /// The lab.
        #[command(flatten)]
        lab: LabArg,
        /// Output format.
        #[arg(long, value_enum, default_value_t = GraphFormat::Mermaid)]
        format: GraphFormat,
    },
    /// Bring the lab up: networks, appliance import, linked clones, boot, SSH, provisioning.
    /// Only what is missing or different is done.
    Up(UpArgs),
    /// Run the lab's checks (or a rubric's) and grade them; exit 1 when some fail.
    Verify(VerifyArgs),
    /// Run provisioning steps that have not run with their current content (all with --force).
    Provision(ProvisionArgs),
    /// Run a command on VMs over SSH; its exit status is passed through.
    Exec(ExecArgs),
    /// Open an SSH session to a VM (the pinned host key is required).
    Ssh(SshArgs),
    /// Show each VM's state, addresses, MACs, ownership and drift from the lab file.
    Status(TargetArgs),
    /// Shut VMs down (ACPI, then power off after a timeout).
    Halt {
        /// The lab file and VMs.
        #[command(flatten)]
        targets: TargetArgs,
        /// Seconds to wait for a clean shutdown before powering off.
        #[arg(long, default_value_t = 60)]
        timeout: u64,
    },
    /// Delete what the lab made: its VMs, the master when nothing uses it, networks labctl
    /// created that nothing uses.
    Destroy {
        /// The lab file and VMs.
        #[command(flatten)]
        targets: TargetArgs,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Make a linked clone of any registered VM (a snapshot is taken if it has none), with
    /// fresh MACs, and show old and new MACs per adapter.
    Clone {
        /// The VM to clone (name or UUID).
        source: String,
        /// The new VM's name.
        name: String,
        /// A full clone instead of a linked one.
        #[arg(long)]
        full: bool,
    },
    /// Run or check a scenario: ordered acts on a running lab with checks after each.
    #[command(subcommand)]
    Scenario(ScenarioCommand),
    /// Save, restore or list snapshots of the lab's VMs.
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
    /// Print the JSON Schema of lab files (or of scenario or checks files).
    Schema {
        /// Which file's schema.
        #[arg(value_enum, default_value_t = SchemaKind::Lab)]
        kind: SchemaKind,
    },
    /// Print shell completions.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: Shell,
    },
    /// Print the man page (roff).
    Man,
}
