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

/// labctl's subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a lab file and report every problem with its location.
    Validate(LabArg),
    /// Show what `up` would do, in order, with what can run in parallel and why.
    Plan {
        /// The lab.
        #[command(flatten)]
        lab: LabArg,
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
    /// Print the JSON Schema of the lab file.
    Schema,
    /// Print shell completions.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: Shell,
    },
    /// Print the man page (roff).
    Man,
}
