//! `when` conditions: checked like templates (syntax, only `vars` and `lab`, names that
//! exist) and decided at validation, so that a VM, step or check whose condition is false is
//! not part of the lab at all, and `plan` says what was left out and why.

use std::ops::Range;

use serde_json::json;

use super::Validator;
use crate::lab::diagnostic::{Diagnostic, DiagnosticKind};
use crate::lab::model::{Lab, LeftOut, TemplateText};
use crate::lab::raw::RawLab;
use crate::lab::spanned::Sp;
use crate::lab::template_check::TemplateScope;

/// The names a condition may use: what is known before any VM is.
const CONDITION_ROOTS: &[&str] = &["vars", "lab"];

impl Validator<'_> {
    /// The facts conditions see: the lab's `vars` (after `--var`) and its name.
    pub(crate) fn set_condition_facts(&mut self, raw: &RawLab) {
        let info = raw.lab.get();
        self.condition_facts = json!({
            "vars": raw.vars,
            "lab": { "name": info.name.get(), "description": info.description },
        });
    }

    /// Whether the thing `when` belongs to is part of the lab: true without a condition, when
    /// it holds, and when it is broken (reported; the thing is still validated). A false one
    /// is recorded for `plan`.
    pub(crate) fn holds(&mut self, when: Option<&Sp<String>>, what: impl Into<String>) -> bool {
        let Some(when) = when else { return true };
        match self.decide(when) {
            Some(true) | None => true,
            Some(false) => {
                let span = self.span(when.range());
                self.left_out.push(LeftOut {
                    what: what.into(),
                    when: when.get().clone(),
                    span,
                });
                false
            }
        }
    }

    fn decide(&mut self, when: &Sp<String>) -> Option<bool> {
        let text = self.template_text(when);
        match evaluate(&text, &self.scope, &self.condition_facts) {
            Ok(holds) => Some(holds),
            Err(problems) => {
                self.diagnostics.extend(problems);
                None
            }
        }
    }
}

/// Checks a condition against `scope` (only `vars` and `lab`) and decides it with `facts`.
pub(crate) fn evaluate(
    text: &TemplateText,
    scope: &TemplateScope,
    facts: &serde_json::Value,
) -> Result<bool, Vec<Diagnostic>> {
    let problems = scope.check_condition(text, CONDITION_ROOTS);
    if !problems.is_empty() {
        return Err(problems);
    }
    let env = crate::lab::template_check::template_environment();
    env.compile_expression(&text.source)
        .and_then(|expression| {
            expression.eval(minijinja::Value::from(minijinja::value::Serde(facts)))
        })
        .map(|value| value.is_true())
        .map_err(|error| {
            let range: Range<usize> = error.range().unwrap_or(0..text.source.len());
            vec![
                Diagnostic::error(
                    DiagnosticKind::Template,
                    text.span_of(range),
                    format!(
                        "`when` cannot be decided: {}",
                        error.detail().unwrap_or(&error.to_string())
                    ),
                )
                .with_label("here"),
            ]
        })
}

/// Decides a condition written outside the lab file (a scenario's act) against a lab.
pub fn holds_for(lab: &Lab, text: &TemplateText) -> Result<bool, Vec<Diagnostic>> {
    let scope = TemplateScope {
        vars: lab.vars.keys().cloned().collect(),
        ..TemplateScope::default()
    };
    let facts = json!({
        "vars": lab.vars,
        "lab": { "name": lab.name, "description": lab.description },
    });
    evaluate(text, &scope, &facts)
}
