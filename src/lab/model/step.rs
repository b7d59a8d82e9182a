//! A validated provisioning step.

use std::path::PathBuf;
use std::time::Duration;

use indexmap::IndexMap;

use super::template_text::TemplateText;
use crate::lab::source::Span;

/// What a step does.
#[derive(Debug, Clone)]
pub enum StepAction {
    /// Run a shell command (rendered from a template).
    Run {
        /// The command.
        command: TemplateText,
    },
    /// Upload a local script and run it with arguments.
    Script {
        /// Local path (resolved against the lab file's folder).
        path: PathBuf,
        /// The script's text.
        text: String,
        /// Arguments (templates).
        args: Vec<TemplateText>,
    },
    /// Upload a local file or folder.
    Upload {
        /// Local path (resolved against the lab file's folder).
        source: PathBuf,
        /// Destination in the guest.
        to: String,
        /// File mode, if set.
        mode: Option<u32>,
        /// Owner, if set.
        owner: Option<String>,
    },
    /// Render a template and upload the result.
    Template {
        /// The template.
        template: TemplateText,
        /// Destination in the guest.
        to: String,
        /// File mode, if set.
        mode: Option<u32>,
        /// Owner, if set.
        owner: Option<String>,
    },
}

/// One provisioning step of one VM.
#[derive(Debug, Clone)]
pub struct Step {
    /// Name shown in progress and errors.
    pub name: String,
    /// What it does.
    pub action: StepAction,
    /// Run through sudo.
    pub sudo: bool,
    /// Environment of `run` and `script`.
    pub env: IndexMap<String, String>,
    /// How long it may take.
    pub timeout: Duration,
    /// Where it is defined.
    pub span: Span,
}
