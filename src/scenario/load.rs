//! Reading a scenario file: parse → schema check → validate each act against the lab as it
//! stands at that act (replicas added by earlier acts exist for later ones). Pure: the lab is
//! resized through the function the caller gives, and files are read through `LabFiles`.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use super::model::{Act, ActAction, Scenario};
use super::raw::{RawAct, RawScenario};
use crate::lab::diagnostic::Diagnostics;
use crate::lab::model::{LeftOut, TemplateText};
use crate::lab::spanned::Sp;
use crate::lab::suggest::did_you_mean;
use crate::lab::validate::validate_extras;
use crate::lab::{Diagnostic, DiagnosticKind, FileId, Lab, LabFiles, Sources, Span};

/// The JSON Schema of a scenario file.
pub fn schema() -> &'static serde_json::Value {
    static SCHEMA: OnceLock<serde_json::Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        serde_json::to_value(schemars::schema_for!(RawScenario))
            .expect("a generated schema is valid JSON")
    })
}

/// A parsed scenario file, before its acts are checked against the lab.
pub struct ParsedScenario {
    raw: RawScenario,
    warnings: Vec<Diagnostic>,
    sources: Sources,
    dir: PathBuf,
}

impl ParsedScenario {
    /// The lab file the scenario acts on (relative paths are relative to the scenario file).
    pub fn lab_file(&self) -> PathBuf {
        self.dir.join(self.raw.scenario.get().lab.get())
    }
}

/// What loading gave: the scenario (when it has no errors), every problem, and the files.
pub struct LoadedScenario {
    /// The scenario, when valid.
    pub scenario: Option<Scenario>,
    /// Every problem, sorted by position.
    pub diagnostics: Vec<Diagnostic>,
    /// The scenario file and what it refers to.
    pub sources: Sources,
}

/// Parses a scenario file. `dir` is its folder.
pub fn parse(name: &str, text: &str, dir: &Path) -> Result<ParsedScenario, Box<LoadedScenario>> {
    let sources = Sources::new(name, text);
    match crate::lab::parse_document::<RawScenario>(text, schema()) {
        Ok((raw, warnings)) => Ok(ParsedScenario {
            raw,
            warnings,
            sources,
            dir: dir.to_path_buf(),
        }),
        Err(diagnostics) => {
            let mut all = Diagnostics::default();
            all.extend(diagnostics);
            Err(Box::new(LoadedScenario {
                scenario: None,
                diagnostics: all.sorted(),
                sources,
            }))
        }
    }
}

/// The lab with some replica groups resized, or why it cannot be.
pub type Resize<'a> = dyn Fn(&[(String, u32)]) -> Result<Lab, String> + 'a;

struct ActValidator<'a> {
    diagnostics: Diagnostics,
    resize: &'a Resize<'a>,
    counts: HashMap<String, u32>,
}

fn span(range: Range<usize>) -> Span {
    Span::new(FileId(0), range)
}

/// Groups and VMs of a lab, for lookups and suggestions.
fn names(lab: &Lab) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for vm in &lab.vms {
        for name in [&vm.group, &vm.name] {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
    }
    names
}

impl ActValidator<'_> {
    fn error(&mut self, kind: DiagnosticKind, range: Range<usize>, message: String, label: &str) {
        self.diagnostics
            .push(Diagnostic::error(kind, span(range), message).with_label(label));
    }

    /// The VMs named by a VM or group name, or an error with a suggestion.
    fn vms(&mut self, lab: &Lab, name: &Sp<String>, key: &str) -> Option<Vec<String>> {
        let wanted = name.get();
        let found: Vec<String> = lab
            .vms
            .iter()
            .filter(|vm| &vm.name == wanted || &vm.group == wanted)
            .map(|vm| vm.name.clone())
            .collect();
        if found.is_empty() {
            let known = names(lab);
            let mut diagnostic = Diagnostic::error(
                DiagnosticKind::UnknownReference,
                span(name.range()),
                format!(
                    "`{key}`: lab `{}` has no VM or replica group `{wanted}`",
                    lab.name
                ),
            )
            .with_label("unknown VM");
            if let Some(hint) = did_you_mean(wanted, &known) {
                diagnostic = diagnostic.with_help(hint);
            }
            self.diagnostics.push(diagnostic);
            return None;
        }
        Some(found)
    }

    /// The replica group `name` (a group, or for `remove` its last replica) and its size.
    fn group(&mut self, lab: &Lab, name: &Sp<String>, key: &str) -> Option<(String, u32)> {
        let wanted = name.get();
        let vm = lab
            .vms
            .iter()
            .find(|vm| &vm.group == wanted || (key == "remove" && &vm.name == wanted));
        let Some(vm) = vm else {
            self.vms(lab, name, key);
            return None;
        };
        let count = self.counts.get(&vm.group).copied().unwrap_or(vm.count);
        if vm.name == vm.group {
            self.error(
                DiagnosticKind::InvalidValue,
                name.range(),
                format!("`{key}` needs a replica group (a VM with `count`); `{wanted}` has none"),
                "not a replica group",
            );
            return None;
        }
        if key == "remove" && &vm.name == wanted && vm.index != count {
            self.error(
                DiagnosticKind::InvalidValue,
                name.range(),
                format!(
                    "only the last replica of `{}` can be removed: `{}{count}`",
                    vm.group, vm.group
                ),
                "not the last replica",
            );
            return None;
        }
        Some((vm.group.clone(), count))
    }

    fn resized(&mut self, range: Range<usize>, group: &str, count: u32) -> Option<Lab> {
        self.counts.insert(group.to_string(), count);
        let counts: Vec<(String, u32)> = self
            .counts
            .iter()
            .map(|(group, count)| (group.clone(), *count))
            .collect();
        match (self.resize)(&counts) {
            Ok(lab) => Some(lab),
            Err(why) => {
                self.error(
                    DiagnosticKind::InvalidValue,
                    range,
                    format!("`{group}` cannot have {count} replicas: {why}"),
                    "here",
                );
                None
            }
        }
    }

    /// What the act does, and the lab once it is done.
    fn action(&mut self, act: &Sp<RawAct>, lab: &Lab) -> Option<(ActAction, Lab, String)> {
        let raw = act.get();
        let given: Vec<(&str, &Sp<String>)> = [
            ("add", raw.add.as_ref()),
            ("remove", raw.remove.as_ref()),
            ("stop", raw.stop.as_ref()),
            ("start", raw.start.as_ref()),
            ("on", raw.on.as_ref()),
            ("clone", raw.clone.as_ref()),
        ]
        .into_iter()
        .filter_map(|(key, value)| value.map(|value| (key, value)))
        .collect();
        if given.len() > 1 {
            let keys: Vec<String> = given.iter().map(|(key, _)| format!("`{key}`")).collect();
            self.error(
                DiagnosticKind::Conflict,
                given[1].1.range(),
                format!(
                    "an act does one thing; this one has {}: split it into acts",
                    keys.join(" and ")
                ),
                "second action",
            );
            return None;
        }
        if raw.steps.is_some() != raw.on.is_some() {
            let (range, message) = match &raw.on {
                Some(on) => (
                    on.range(),
                    "`on` names where `steps` run, but the act has no `steps`",
                ),
                None => (
                    act.range(),
                    "`steps` need `on`: the VM or replica group they run on",
                ),
            };
            self.error(
                DiagnosticKind::MissingKey,
                range,
                message.to_string(),
                "here",
            );
            return None;
        }
        let Some((key, value)) = given.first().copied() else {
            return Some((ActAction::Check, lab.clone(), "check".to_string()));
        };
        match key {
            "add" => {
                let (group, count) = self.group(lab, value, key)?;
                let grown = self.resized(value.range(), &group, count + 1)?;
                let vms: Vec<String> = grown
                    .vms
                    .iter()
                    .filter(|vm| vm.group == group && lab.vm(&vm.name).is_none())
                    .map(|vm| vm.name.clone())
                    .collect();
                let name = format!("add {}", vms.join(", "));
                Some((ActAction::Add { group, vms }, grown, name))
            }
            "remove" => {
                let (group, count) = self.group(lab, value, key)?;
                let shrunk = self.resized(value.range(), &group, count - 1)?;
                let vms: Vec<(String, String)> = lab
                    .vms
                    .iter()
                    .filter(|vm| vm.group == group && shrunk.vm(&vm.name).is_none())
                    .map(|vm| (vm.name.clone(), vm.vbox_name.clone()))
                    .collect();
                let shown: Vec<&str> = vms.iter().map(|(name, _)| name.as_str()).collect();
                let name = format!("remove {}", shown.join(", "));
                Some((ActAction::Remove { group, vms }, shrunk, name))
            }
            "stop" | "start" | "on" => {
                let vms = self.vms(lab, value, key)?;
                let (action, verb) = match key {
                    "stop" => (ActAction::Stop(vms.clone()), "stop"),
                    "start" => (ActAction::Start(vms.clone()), "start"),
                    _ => (ActAction::Steps(vms.clone()), "run steps on"),
                };
                Some((action, lab.clone(), format!("{verb} {}", vms.join(", "))))
            }
            "clone" => {
                let vms = self.vms(lab, value, key)?;
                let [name] = vms.as_slice() else {
                    self.error(
                        DiagnosticKind::InvalidValue,
                        value.range(),
                        format!(
                            "`clone` makes a clone of one VM; `{}` is a group of {}",
                            value.get(),
                            vms.len()
                        ),
                        "name one VM",
                    );
                    return None;
                };
                let vm = lab.vm(name)?;
                Some((
                    ActAction::Clone {
                        vm: vm.name.clone(),
                        vbox_name: vm.vbox_name.clone(),
                    },
                    lab.clone(),
                    format!("clone {name}"),
                ))
            }
            _ => None,
        }
    }
}

/// Checks a parsed scenario against `lab`: each act's names against the lab as it stands at
/// that act, its steps and checks as a lab file's. Every problem is reported, sorted.
pub fn validate(
    parsed: ParsedScenario,
    lab: &Lab,
    files: &dyn LabFiles,
    resize: &Resize<'_>,
) -> LoadedScenario {
    let ParsedScenario {
        raw,
        warnings,
        mut sources,
        dir,
    } = parsed;
    let mut validator = ActValidator {
        diagnostics: Diagnostics::default(),
        resize,
        counts: HashMap::new(),
    };
    validator.diagnostics.extend(warnings);
    let info = raw.scenario.get();
    let name = info.name.get().clone();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        validator.error(
            DiagnosticKind::InvalidValue,
            info.name.range(),
            "a scenario's name is lowercase letters, digits and `-`".to_string(),
            "invalid name",
        );
    }
    if raw.acts.is_empty() {
        validator.error(
            DiagnosticKind::MissingKey,
            raw.scenario.range(),
            "a scenario needs at least one `[[act]]`".to_string(),
            "no acts",
        );
    }
    let mut current = lab.clone();
    let mut acts = Vec::new();
    let mut left_out = Vec::new();
    let mut failed = false;
    for (index, act) in raw.acts.iter().enumerate() {
        if let Some(when) = &act.get().when {
            let at = span(when.range());
            let text = TemplateText::from_toml(when.get().clone(), at.clone(), sources.text(&at));
            match crate::lab::condition_holds(&current, &text) {
                Ok(true) => {}
                Ok(false) => {
                    left_out.push(LeftOut {
                        what: act.get().name.as_ref().map_or_else(
                            || format!("act {}", index + 1),
                            |name| format!("act `{}`", name.get()),
                        ),
                        when: when.get().clone(),
                        span: at,
                    });
                    continue;
                }
                Err(problems) => {
                    validator.diagnostics.extend(problems);
                    failed = true;
                    continue;
                }
            }
        }
        let Some((action, after, derived)) = validator.action(act, &current) else {
            failed = true;
            continue;
        };
        let raw_act = act.get();
        let wait = match &raw_act.wait {
            Some(wait) if !(0.0..=3600.0).contains(wait.get()) => {
                validator.error(
                    DiagnosticKind::InvalidValue,
                    wait.range(),
                    "`wait` is seconds between 0 and 3600".to_string(),
                    "out of range",
                );
                Duration::ZERO
            }
            Some(wait) => Duration::from_secs_f64(*wait.get()),
            None => Duration::ZERO,
        };
        let steps_raw: &[Sp<crate::lab::raw::RawStep>] =
            raw_act.steps.as_deref().unwrap_or_default();
        let (validated, diagnostics, returned) =
            validate_extras(&raw_act.checks, steps_raw, sources, &after, &dir, files);
        sources = returned;
        validator.diagnostics.extend(diagnostics.sorted());
        let Some((checks, steps)) = validated else {
            failed = true;
            current = after;
            continue;
        };
        acts.push(Act {
            name: raw_act.name.as_ref().map_or_else(
                || format!("act {}: {derived}", index + 1),
                |name| name.get().clone(),
            ),
            action,
            steps,
            wait,
            checks,
            lab: after.clone(),
            span: span(act.range()),
        });
        current = after;
    }
    let has_errors = validator.diagnostics.has_errors();
    let scenario = (!failed && !has_errors).then(|| Scenario {
        name,
        description: info.description.as_ref().map(|d| d.get().clone()),
        lab_file: dir.join(info.lab.get()),
        acts,
        left_out,
        sources: sources.clone(),
    });
    LoadedScenario {
        scenario,
        diagnostics: validator.diagnostics.sorted(),
        sources,
    }
}
