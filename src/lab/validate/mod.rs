//! Turns the raw lab file into the model, or into every problem that stops it from being one.
//!
//! Validation is pure: it reads the files a lab refers to only through [`LabFiles`], so tests
//! give it files from memory. It never stops at the first problem; each part is checked as far
//! as it can be and everything found is reported together.

mod check;
pub mod condition;
mod cycle;
mod image;
mod network;
mod ports;
mod step;
mod vm;

use std::collections::HashMap;
use std::io;
use std::net::Ipv4Addr;
use std::ops::Range;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use super::diagnostic::{Diagnostic, DiagnosticKind, Diagnostics};
use super::model::{Check, Lab, Step, TemplateText};
use super::raw::{RawCheck, RawLab, RawStep};
use super::source::{FileId, Sources, Span};
use super::spanned::Sp;
use super::template_check::{TemplateScope, TemplateUse};
use crate::lab::model::LeftOut;

/// Read access to the files a lab file refers to (scripts, templates, uploads).
pub trait LabFiles {
    /// The text of a file.
    fn read_text(&self, path: &Path) -> io::Result<String>;
    /// True when a file or folder exists.
    fn exists(&self, path: &Path) -> bool;
}

/// State of one validation run.
pub(crate) struct Validator<'a> {
    pub(crate) sources: Sources,
    pub(crate) diagnostics: Diagnostics,
    pub(crate) files: &'a dyn LabFiles,
    pub(crate) dir: PathBuf,
    pub(crate) scope: TemplateScope,
    pub(crate) named_steps: IndexMap<String, &'a Sp<RawStep>>,
    pub(crate) step_cache: HashMap<String, Option<Step>>,
    pub(crate) after_spans: HashMap<(String, String), Range<usize>>,
    /// Networks and VMs the file declares but that were left out for errors of their own
    /// (already reported): references to them are not reported again as unknown.
    pub(crate) broken: Broken,
    /// What `when` conditions see (`vars`, `lab`).
    pub(crate) condition_facts: serde_json::Value,
    /// What `when` conditions left out.
    pub(crate) left_out: Vec<LeftOut>,
    /// VM names and groups left out by their `when`.
    pub(crate) left_out_vms: std::collections::HashSet<String>,
}

/// Names declared in the file whose validation failed.
#[derive(Debug, Default)]
pub(crate) struct Broken {
    /// Network keys.
    pub(crate) networks: std::collections::HashSet<String>,
    /// VM names, replica names and replica groups.
    pub(crate) vms: std::collections::HashSet<String>,
    /// Named steps used only where a `when` leaves the use out (used, not reported unused).
    pub(crate) left_out_uses: std::collections::HashSet<String>,
}

/// Validates a parsed lab file. `dir` is the lab file's folder.
pub fn validate(
    raw: &RawLab,
    sources: Sources,
    dir: &Path,
    files: &dyn LabFiles,
) -> (Option<Lab>, Diagnostics, Sources) {
    let mut validator = Validator {
        sources,
        diagnostics: Diagnostics::default(),
        files,
        dir: dir.to_path_buf(),
        scope: TemplateScope::default(),
        named_steps: IndexMap::new(),
        step_cache: HashMap::new(),
        after_spans: HashMap::new(),
        broken: Broken::default(),
        condition_facts: serde_json::Value::Null,
        left_out: Vec::new(),
        left_out_vms: std::collections::HashSet::new(),
    };
    let lab = validator.lab(raw);
    let diagnostics = std::mem::take(&mut validator.diagnostics);
    let sources = std::mem::take(&mut validator.sources);
    if diagnostics.has_errors() {
        (None, diagnostics, sources)
    } else {
        let lab = lab.map(|lab| Lab {
            sources: sources.clone(),
            ..lab
        });
        (lab, diagnostics, sources)
    }
}

/// Validates checks written in another file (an instructor's rubric) against a validated lab:
/// names resolve to the lab's VMs, groups and networks.
pub fn validate_checks(
    raw: &[Sp<RawCheck>],
    sources: Sources,
    lab: &Lab,
    files: &dyn LabFiles,
) -> (Option<Vec<Check>>, Diagnostics, Sources) {
    let (validated, diagnostics, sources) =
        validate_extras(raw, &[], sources, lab, &lab.dir, files);
    (validated.map(|(checks, _)| checks), diagnostics, sources)
}

/// Checks and steps that validated, the problems found, and the files read.
pub type Extras = (Option<(Vec<Check>, Vec<Step>)>, Diagnostics, Sources);

/// Validates checks and provisioning steps written in another file (a scenario's act) against
/// a validated lab; relative paths in steps are relative to `dir`, that file's folder.
pub fn validate_extras(
    raw_checks: &[Sp<RawCheck>],
    raw_steps: &[Sp<RawStep>],
    sources: Sources,
    lab: &Lab,
    dir: &Path,
    files: &dyn LabFiles,
) -> Extras {
    let mut groups: Vec<String> = Vec::new();
    for vm in &lab.vms {
        if !groups.contains(&vm.group) {
            groups.push(vm.group.clone());
        }
    }
    let mut validator = Validator {
        sources,
        diagnostics: Diagnostics::default(),
        files,
        dir: dir.to_path_buf(),
        scope: TemplateScope {
            vars: lab.vars.keys().cloned().collect(),
            vms: lab.vms.iter().map(|vm| vm.name.clone()).collect(),
            groups,
            networks: lab
                .networks
                .iter()
                .map(|network| network.name.clone())
                .collect(),
        },
        named_steps: IndexMap::new(),
        step_cache: HashMap::new(),
        after_spans: HashMap::new(),
        broken: Broken::default(),
        condition_facts: serde_json::json!({
            "vars": lab.vars,
            "lab": { "name": lab.name, "description": lab.description },
        }),
        left_out: Vec::new(),
        left_out_vms: std::collections::HashSet::new(),
    };
    let checks = validator.checks(raw_checks, &lab.vms, &lab.networks);
    let steps = validator.steps(raw_steps);
    let diagnostics = std::mem::take(&mut validator.diagnostics);
    let sources = std::mem::take(&mut validator.sources);
    let validated = (!diagnostics.has_errors()).then_some((checks, steps));
    (validated, diagnostics, sources)
}

impl<'a> Validator<'a> {
    pub(crate) fn span(&self, range: Range<usize>) -> Span {
        Span::new(FileId(0), range)
    }

    pub(crate) fn error(
        &mut self,
        kind: DiagnosticKind,
        range: Range<usize>,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        let diagnostic = Diagnostic::error(kind, self.span(range), message);
        self.push(diagnostic)
    }

    pub(crate) fn push(&mut self, diagnostic: Diagnostic) -> &mut Diagnostic {
        self.diagnostics.push(diagnostic);
        let items = self.diagnostics.items().len();
        self.diagnostics_mut(items - 1)
    }

    fn diagnostics_mut(&mut self, index: usize) -> &mut Diagnostic {
        self.diagnostics.get_mut(index)
    }

    /// Resolves a path written in the lab file against the lab file's folder.
    pub(crate) fn resolve(&self, path: &str) -> PathBuf {
        let path = Path::new(path);
        if path.is_absolute() || path.starts_with("~") {
            path.to_path_buf()
        } else {
            normalize(&self.dir.join(path))
        }
    }

    /// Parses an IPv4 address, reporting a located error when it is not one.
    pub(crate) fn address(&mut self, text: &Sp<String>, what: &str) -> Option<Ipv4Addr> {
        match text.get().parse::<Ipv4Addr>() {
            Ok(address) => Some(address),
            Err(_) => {
                self.error(
                    DiagnosticKind::InvalidValue,
                    text.range(),
                    format!(
                        "invalid {what} `{}`: expected an IPv4 address such as 192.168.56.10",
                        text.get()
                    ),
                )
                .label = "not an IPv4 address".into();
                None
            }
        }
    }

    /// A template written as a string of the lab file.
    pub(crate) fn template_text(&self, text: &Sp<String>) -> TemplateText {
        let span = self.span(text.range());
        let raw = self.sources.text(&span).to_string();
        TemplateText::from_toml(text.get().clone(), span, &raw)
    }

    /// Checks a template's syntax and variables.
    pub(crate) fn check_template(&mut self, text: &TemplateText, usage: TemplateUse) {
        let found = self.scope.check(text, usage);
        self.diagnostics.extend(found);
    }

    fn lab(&mut self, raw: &'a RawLab) -> Option<Lab> {
        let info = raw.lab.get();
        let name = info.name.get().clone();
        if !is_lab_name(&name) {
            self.error(
                DiagnosticKind::InvalidValue,
                info.name.range(),
                format!("invalid lab name `{name}`: use lowercase letters, digits and `-`, starting with a letter or digit"),
            )
            .label = "not a valid lab name".into();
        }
        let vm_prefix = info
            .vm_prefix
            .as_ref()
            .map_or_else(|| format!("{name}-"), |prefix| prefix.get().clone());

        self.scope.vars = raw.vars.keys().cloned().collect();
        self.scope.networks = raw.networks.keys().map(|key| key.get().clone()).collect();
        self.set_condition_facts(raw);
        for (key, vm) in &raw.vms {
            if !self.holds(vm.get().when.as_ref(), format!("vm `{}`", key.get())) {
                self.left_out_vms.insert(key.get().clone());
                self.left_out_vms
                    .extend(vm::replica_names(key.get(), vm.get()));
            }
        }
        self.broken.vms.extend(self.left_out_vms.iter().cloned());
        self.scope.groups = raw
            .vms
            .keys()
            .map(|key| key.get().clone())
            .filter(|group| !self.left_out_vms.contains(group))
            .collect();
        self.scope.vms = vm::expanded_names(raw)
            .into_iter()
            .filter(|name| !self.left_out_vms.contains(name))
            .collect();
        for (key, step) in &raw.steps {
            self.named_steps.insert(key.get().clone(), step);
        }

        let images = self.images(raw);
        let mut networks = self.networks(raw, &name);
        let vms = self.vms(raw, &images, &networks, &vm_prefix);
        self.network_forwards(raw, &mut networks, &vms);
        self.forward_clashes(raw);
        self.cycles(&vms);
        self.unused_steps(raw, &vms);
        let checks = self.checks(&raw.checks, &vms, &networks);

        Some(Lab {
            name,
            description: info.description.clone(),
            vm_prefix,
            dir: self.dir.clone(),
            vars: raw.vars.clone(),
            images,
            networks,
            vms,
            checks,
            left_out: {
                let mut left_out = std::mem::take(&mut self.left_out);
                left_out.dedup_by(|a, b| a.what == b.what && a.span == b.span);
                left_out
            },
            sources: self.sources.clone(),
            span: self.span(raw.lab.range()),
        })
    }

    /// Reports a second use of a name that must be unique, pointing at the first one too.
    pub(crate) fn duplicate(
        &mut self,
        seen: &mut HashMap<String, Range<usize>>,
        key: String,
        range: Range<usize>,
        message: String,
    ) {
        if let Some(first) = seen.get(&key).cloned() {
            let first_span = self.span(first);
            let diagnostic =
                Diagnostic::error(DiagnosticKind::Duplicate, self.span(range), message)
                    .with_label("used again here")
                    .with_note(first_span, "first used here");
            self.push(diagnostic);
        } else {
            seen.insert(key, range);
        }
    }
}

/// `[a-z0-9][a-z0-9-]*`.
fn is_lab_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_lowercase() || first.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// `[A-Za-z][A-Za-z0-9_-]*`: names of VMs, networks, images and steps.
pub(crate) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Removes `.` and `name/..` from a path without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut parts: Vec<Component<'_>> = Vec::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir if matches!(parts.last(), Some(Component::Normal(_))) => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    if parts.is_empty() {
        PathBuf::from(".")
    } else {
        parts.iter().collect()
    }
}
