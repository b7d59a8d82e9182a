//! Validation of provisioning steps and of `[steps]`.

use std::time::Duration;

use super::Validator;
use crate::lab::diagnostic::{Diagnostic, DiagnosticKind};
use crate::lab::model::{Step, StepAction, TemplateText, Vm};
use crate::lab::raw::{RawLab, RawStep};
use crate::lab::spanned::Sp;
use crate::lab::suggest::{did_you_mean, one_of};
use crate::lab::template_check::TemplateUse;

/// Default time a step may take.
const DEFAULT_STEP_TIMEOUT: Duration = Duration::from_secs(600);

const ACTIONS: &[&str] = &["run", "script", "upload", "template", "text", "use"];

impl Validator<'_> {
    /// Validates a list of steps, resolving `use`.
    pub(crate) fn steps(&mut self, raw: &[Sp<RawStep>]) -> Vec<Step> {
        let mut steps = Vec::new();
        for step in raw {
            let raw_step = step.get();
            let shown = raw_step
                .name
                .as_ref()
                .or(raw_step.use_step.as_ref())
                .or(raw_step.run.as_ref())
                .map_or_else(String::new, |text| {
                    let text: String = text
                        .get()
                        .lines()
                        .next()
                        .unwrap_or("")
                        .chars()
                        .take(60)
                        .collect();
                    format!(" `{text}`")
                });
            if !self.holds(raw_step.when.as_ref(), format!("step{shown}")) {
                if let Some(name) = &raw_step.use_step {
                    self.broken.left_out_uses.insert(name.get().clone());
                }
                continue;
            }
            if let Some(name) = &step.get().use_step {
                if let Some(resolved) = self.named_step(step, name) {
                    steps.push(resolved);
                }
            } else if let Some(resolved) = self.step(step, None) {
                steps.push(resolved);
            }
        }
        steps
    }

    fn named_step(&mut self, usage: &Sp<RawStep>, name: &Sp<String>) -> Option<Step> {
        let raw = usage.get();
        let others = [
            ("run", raw.run.is_some()),
            ("script", raw.script.is_some()),
            ("upload", raw.upload.is_some()),
            ("template", raw.template.is_some()),
            ("text", raw.text.is_some()),
            ("to", raw.to.is_some()),
            ("args", raw.args.is_some()),
            ("mode", raw.mode.is_some()),
            ("owner", raw.owner.is_some()),
            ("env", raw.env.is_some()),
        ];
        if let Some((key, _)) = others.iter().find(|(_, set)| *set) {
            self.error(
                DiagnosticKind::Conflict,
                name.range(),
                format!("a step with `use` takes everything from step `{}`; `{key}` cannot be added here", name.get()),
            )
            .set_label("remove the other keys or define a new step");
        }
        if let Some(cached) = self.step_cache.get(name.get()) {
            return cached.clone();
        }
        let Some(definition) = self.named_steps.get(name.get()).copied() else {
            let known: Vec<String> = self.named_steps.keys().cloned().collect();
            let help = did_you_mean(name.get(), &known);
            self.error(
                DiagnosticKind::UnknownReference,
                name.range(),
                format!("unknown step `{}`", name.get()),
            )
            .set_label(help.unwrap_or_else(|| "no such step in [steps]".into()));
            return None;
        };
        let resolved = if let Some(nested) = &definition.get().use_step {
            self.error(
                DiagnosticKind::Conflict,
                nested.range(),
                format!(
                    "step `{}` uses another step; named steps must do something themselves",
                    name.get()
                ),
            )
            .set_label("`use` is not allowed in [steps]");
            None
        } else {
            self.step(definition, Some(name.get()))
        };
        self.step_cache.insert(name.get().clone(), resolved.clone());
        resolved
    }

    /// Validates one step that is not a `use`.
    fn step(&mut self, step: &Sp<RawStep>, named: Option<&str>) -> Option<Step> {
        let raw = step.get();
        let set: Vec<(&str, std::ops::Range<usize>)> = [
            ("run", raw.run.as_ref().map(Sp::range)),
            ("script", raw.script.as_ref().map(Sp::range)),
            ("upload", raw.upload.as_ref().map(Sp::range)),
            ("template", raw.template.as_ref().map(Sp::range)),
            ("text", raw.text.as_ref().map(Sp::range)),
        ]
        .into_iter()
        .filter_map(|(key, range)| range.map(|range| (key, range)))
        .collect();
        match set.as_slice() {
            [] => {
                self.error(
                    DiagnosticKind::MissingKey,
                    step.range(),
                    format!("step does nothing: set one of {}", one_of(ACTIONS)),
                )
                .set_label("no action");
                return None;
            }
            [_] => {}
            [(first, _), (second, range), ..] => {
                self.error(
                    DiagnosticKind::Conflict,
                    range.clone(),
                    format!(
                        "a step does one thing, but this one sets both `{first}` and `{second}`"
                    ),
                )
                .set_label("split it into two steps");
                return None;
            }
        }
        let action_key = set[0].0;
        self.step_keys_fit(raw, action_key);
        let mode = raw.mode.as_ref().and_then(|mode| {
            let parsed = u32::from_str_radix(mode.get().trim_start_matches("0o"), 8)
                .ok()
                .filter(|mode| *mode <= 0o7777);
            if parsed.is_none() {
                self.error(
                    DiagnosticKind::InvalidValue,
                    mode.range(),
                    format!(
                        "invalid file mode `{}`: expected octal digits such as \"0644\"",
                        mode.get()
                    ),
                )
                .set_label("not an octal mode");
            }
            parsed
        });
        let owner = raw.owner.as_ref().map(|owner| owner.get().clone());
        let destination = raw.to.as_ref().map(|to| to.get().clone());
        let action = match action_key {
            "run" => {
                let command = self.template_text(raw.run.as_ref().expect("checked above"));
                self.check_template(&command, TemplateUse::PerVm);
                StepAction::Run { command }
            }
            "script" => {
                let path_text = raw.script.as_ref().expect("checked above");
                let path = self.resolve(path_text.get());
                let text = self.read_file(path_text, &path)?;
                let args: Vec<TemplateText> = raw
                    .args
                    .iter()
                    .flatten()
                    .map(|arg| self.template_text(arg))
                    .collect();
                for arg in &args {
                    self.check_template(arg, TemplateUse::PerVm);
                }
                StepAction::Script { path, text, args }
            }
            "upload" => {
                let source_text = raw.upload.as_ref().expect("checked above");
                let source = self.resolve(source_text.get());
                if !self.files.exists(&source) {
                    self.error(
                        DiagnosticKind::File,
                        source_text.range(),
                        format!(
                            "cannot upload `{}`: no such file or folder",
                            source_text.get()
                        ),
                    )
                    .set_label(format!("looked for {}", source.display()));
                    return None;
                }
                StepAction::Upload {
                    source,
                    to: destination?,
                    mode,
                    owner,
                }
            }
            "template" => {
                let path_text = raw.template.as_ref().expect("checked above");
                let path = self.resolve(path_text.get());
                let text = self.read_file(path_text, &path)?;
                let file = self.sources.add(path_text.get().clone(), text.clone());
                let span = crate::lab::source::Span::new(file, 0..text.len());
                let template = TemplateText::from_file(text, span);
                self.check_template(&template, TemplateUse::PerVm);
                StepAction::Template {
                    template,
                    to: destination?,
                    mode,
                    owner,
                }
            }
            _ => {
                let template = self.template_text(raw.text.as_ref().expect("checked above"));
                self.check_template(&template, TemplateUse::PerVm);
                StepAction::Template {
                    template,
                    to: destination?,
                    mode,
                    owner,
                }
            }
        };
        let timeout = match &raw.timeout {
            Some(seconds) if !(*seconds.get() > 0.0 && seconds.get().is_finite()) => {
                self.error(
                    DiagnosticKind::InvalidValue,
                    seconds.range(),
                    format!(
                        "step timeout of {} seconds: expected more than 0",
                        seconds.get()
                    ),
                )
                .set_label("expected a positive number of seconds");
                DEFAULT_STEP_TIMEOUT
            }
            Some(seconds) => Duration::from_secs_f64(*seconds.get()),
            None => DEFAULT_STEP_TIMEOUT,
        };
        let name = raw
            .name
            .as_ref()
            .map(|name| name.get().clone())
            .or_else(|| named.map(str::to_string))
            .unwrap_or_else(|| default_step_name(&action));
        Some(Step {
            name,
            action,
            sudo: raw.sudo.unwrap_or(true),
            env: raw.env.clone().unwrap_or_default(),
            timeout,
            span: self.span(step.range()),
        })
    }

    /// Reports keys a step sets that its action does not use, and a missing `to`.
    fn step_keys_fit(&mut self, raw: &RawStep, action: &str) {
        let uploads = matches!(action, "upload" | "template" | "text");
        let checks: [(&str, Option<std::ops::Range<usize>>, bool); 5] = [
            ("to", raw.to.as_ref().map(Sp::range), uploads),
            ("mode", raw.mode.as_ref().map(Sp::range), uploads),
            ("owner", raw.owner.as_ref().map(Sp::range), uploads),
            (
                "args",
                raw.args
                    .as_ref()
                    .and_then(|args| args.first())
                    .map(Sp::range),
                action == "script",
            ),
            (
                "env",
                raw.env
                    .as_ref()
                    .and_then(|_| {
                        raw.run
                            .as_ref()
                            .or(raw.upload.as_ref())
                            .or(raw.template.as_ref())
                            .or(raw.text.as_ref())
                            .or(raw.script.as_ref())
                    })
                    .map(Sp::range),
                matches!(action, "run" | "script"),
            ),
        ];
        for (key, range, allowed) in checks {
            if let (Some(range), false) = (range, allowed) {
                self.error(
                    DiagnosticKind::Conflict,
                    range,
                    format!("`{key}` does not apply to a `{action}` step"),
                )
                .set_label("not used by this step");
            }
        }
        if uploads && raw.to.is_none() {
            let range = match action {
                "upload" => raw.upload.as_ref(),
                "template" => raw.template.as_ref(),
                _ => raw.text.as_ref(),
            }
            .map_or(0..0, Sp::range);
            self.error(
                DiagnosticKind::MissingKey,
                range,
                format!("a `{action}` step needs `to`, the path in the guest"),
            )
            .set_label("uploaded where?");
        }
    }

    fn read_file(&mut self, written: &Sp<String>, path: &std::path::Path) -> Option<String> {
        match self.files.read_text(path) {
            Ok(text) => Some(text),
            Err(error) => {
                self.error(
                    DiagnosticKind::File,
                    written.range(),
                    format!("cannot read `{}`: {error}", written.get()),
                )
                .set_label(format!("looked for {}", path.display()));
                None
            }
        }
    }

    /// Warns about `[steps]` entries no VM uses.
    pub(crate) fn unused_steps(&mut self, raw: &RawLab, _vms: &[Vm]) {
        for (key, step) in &raw.steps {
            if !self.step_cache.contains_key(key.get()) {
                if step.get().use_step.is_none() {
                    self.step(step, Some(key.get()));
                }
                if self.broken.left_out_uses.contains(key.get()) {
                    continue;
                }
                let diagnostic = Diagnostic::warning(
                    DiagnosticKind::UnknownReference,
                    self.span(key.range()),
                    format!("step `{}` is defined but no VM uses it", key.get()),
                )
                .with_label("unused")
                .with_help(format!(
                    "add `{{ use = \"{}\" }}` to a VM's `provision`",
                    key.get()
                ));
                self.push(diagnostic);
            }
        }
    }
}

fn default_step_name(action: &StepAction) -> String {
    match action {
        StepAction::Run { command } => {
            let first_line = command
                .source
                .lines()
                .find(|line| !line.trim().is_empty())
                .unwrap_or("")
                .trim();
            let mut name: String = first_line.chars().take(48).collect();
            if first_line.chars().count() > 48 || command.source.trim().lines().count() > 1 {
                name.push('…');
            }
            format!("run {name}")
        }
        StepAction::Script { path, .. } => format!(
            "script {}",
            path.file_name().map_or_else(
                || path.display().to_string(),
                |name| name.to_string_lossy().into_owned()
            )
        ),
        StepAction::Upload { to, .. } => format!("upload {to}"),
        StepAction::Template { to, .. } => format!("write {to}"),
    }
}
