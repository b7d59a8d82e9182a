//! Checks templates before anything runs: syntax, and that every variable they use exists.
//!
//! Templates see the lab's facts (see `facts`); a template that names a VM, network or value
//! the lab does not have would otherwise fail halfway through provisioning.

use std::collections::BTreeSet;

use super::diagnostic::{Diagnostic, DiagnosticKind};
use super::model::TemplateText;
use super::suggest::{closest, one_of};

/// Attributes every VM has in templates (`vm.X`, `vms.NAME.X`).
pub const VM_ATTRIBUTES: &[&str] = &[
    "name",
    "vbox_name",
    "group",
    "index",
    "count",
    "image",
    "memory",
    "cpus",
    "ip",
    "ips",
    "macs",
    "nics",
];

/// Attributes every network has in templates (`networks.NAME.X`).
pub const NETWORK_ATTRIBUTES: &[&str] = &[
    "name",
    "type",
    "vbox_name",
    "cidr",
    "prefix",
    "netmask",
    "host",
    "gateway",
    "dhcp_server",
    "dhcp_lower",
    "dhcp_upper",
];

/// Attributes of `lab`.
pub const LAB_ATTRIBUTES: &[&str] = &["name", "description"];

/// Top-level names templates can use.
const ROOTS: &[&str] = &["lab", "vars", "vm", "vms", "groups", "networks"];

/// What names exist for templates of one lab.
#[derive(Debug, Clone, Default)]
pub struct TemplateScope {
    /// Keys of `[vars]`.
    pub vars: Vec<String>,
    /// VM names (replicas expanded).
    pub vms: Vec<String>,
    /// Group names (`[vms]` keys).
    pub groups: Vec<String>,
    /// Network keys.
    pub networks: Vec<String>,
}

/// Where a template is used, which decides whether `vm` exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateUse {
    /// Rendered once per VM: `vm` is that VM.
    PerVm,
    /// Rendered once: there is no `vm`.
    Global,
}

impl TemplateScope {
    /// Parses `text` and checks every variable it uses; returns the problems found.
    pub fn check(&self, text: &TemplateText, usage: TemplateUse) -> Vec<Diagnostic> {
        if !text.is_template() {
            return Vec::new();
        }
        let env = template_environment();
        let template = match env.template_from_str(&text.source) {
            Ok(template) => template,
            Err(error) => return vec![syntax_error(text, &error, "template syntax error")],
        };
        let paths = template.undeclared_variables(true).into_iter().collect();
        self.check_paths(text, paths, usage, ROOTS)
    }

    /// Checks a `when` condition: an expression (not a template) that may use only `roots`.
    pub fn check_condition(&self, text: &TemplateText, roots: &[&str]) -> Vec<Diagnostic> {
        let env = template_environment();
        let expression = match env.compile_expression(&text.source) {
            Ok(expression) => expression,
            Err(error) => return vec![syntax_error(text, &error, "`when` is not an expression")],
        };
        let paths = expression.undeclared_variables(true).into_iter().collect();
        self.check_paths(text, paths, TemplateUse::Global, roots)
    }

    /// Reports every variable path of `paths` that does not exist, located in `text`.
    fn check_paths(
        &self,
        text: &TemplateText,
        mut paths: Vec<String>,
        usage: TemplateUse,
        roots: &[&str],
    ) -> Vec<Diagnostic> {
        let env = template_environment();
        let globals: BTreeSet<String> = env.globals().map(|(name, _)| name.to_string()).collect();
        paths.sort();
        let mut diagnostics = Vec::new();
        for path in paths {
            let segments: Vec<&str> = path.split('.').collect();
            if globals.contains(segments[0]) {
                continue;
            }
            if let Some((bad, candidates)) = self.first_unknown(&segments, usage, roots) {
                let shown = segments[..=bad].join(".");
                let range = locate(&text.source, &shown, segments[bad]);
                let suggestion = closest(segments[bad], &candidates).map(|name| {
                    let mut fixed: Vec<&str> = segments[..bad].to_vec();
                    fixed.push(&name);
                    format!("did you mean `{}`?", fixed.join("."))
                });
                let message = if segments[0] == "vm"
                    && usage == TemplateUse::Global
                    && roots.contains(&"vms")
                {
                    "template uses `vm`, which only exists where the template is rendered for one VM (provisioning steps, checks with `on`)".to_string()
                } else {
                    format!("template uses unknown variable `{shown}`")
                };
                let label = suggestion.unwrap_or_else(|| {
                    if candidates.is_empty() {
                        "unknown".to_string()
                    } else {
                        format!("expected {}", one_of(&candidates))
                    }
                });
                diagnostics.push(
                    Diagnostic::error(DiagnosticKind::Template, text.span_of(range), message)
                        .with_label(label),
                );
            }
        }
        diagnostics
    }

    /// The index of the first segment that does not exist, with what would have been valid.
    fn first_unknown(
        &self,
        segments: &[&str],
        usage: TemplateUse,
        allowed_roots: &[&str],
    ) -> Option<(usize, Vec<String>)> {
        let strings = |names: &[&str]| {
            names
                .iter()
                .map(|name| name.to_string())
                .collect::<Vec<_>>()
        };
        let root = segments[0];
        let mut roots = strings(allowed_roots);
        if usage == TemplateUse::Global {
            roots.retain(|name| name != "vm");
        }
        if !roots.iter().any(|name| name == root) {
            return Some((0, roots));
        }
        let expect = |index: usize, known: &[String]| -> Option<(usize, Vec<String>)> {
            let segment = segments.get(index)?;
            (!known.iter().any(|name| name == segment)).then(|| (index, known.to_vec()))
        };
        match root {
            "lab" => expect(1, &strings(LAB_ATTRIBUTES)),
            "vars" => expect(1, &self.vars),
            "groups" => expect(1, &self.groups),
            "networks" => {
                expect(1, &self.networks).or_else(|| expect(2, &strings(NETWORK_ATTRIBUTES)))
            }
            "vms" => expect(1, &self.vms).or_else(|| self.vm_attribute(segments, 2)),
            "vm" => self.vm_attribute(segments, 1),
            _ => None,
        }
    }

    fn vm_attribute(&self, segments: &[&str], index: usize) -> Option<(usize, Vec<String>)> {
        let attribute = segments.get(index)?;
        let known: Vec<String> = VM_ATTRIBUTES.iter().map(|name| name.to_string()).collect();
        if !known.iter().any(|name| name == attribute) {
            return Some((index, known));
        }
        if matches!(*attribute, "ips" | "macs") {
            let network = segments.get(index + 1)?;
            if !self.networks.iter().any(|name| name == network) {
                return Some((index + 1, self.networks.clone()));
            }
        }
        None
    }
}

/// A template or condition that does not parse, located at what MiniJinja points at.
fn syntax_error(text: &TemplateText, error: &minijinja::Error, what: &str) -> Diagnostic {
    let range = error.range().unwrap_or(0..text.source.len());
    Diagnostic::error(
        DiagnosticKind::Template,
        text.span_of(range),
        format!("{what}: {}", error.detail().unwrap_or("cannot be parsed")),
    )
    .with_label("here")
}

/// The one template environment labctl renders with: strict about undefined values, no
/// auto-escaping (the output is configuration files and shell commands, not HTML).
pub fn template_environment() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .keep_trailing_newline(true)
            .build()
            .expect("the default delimiters are valid"),
    );
    env
}

/// Byte range of `path` (or, failing that, of `segment`) inside template tags.
fn locate(source: &str, path: &str, segment: &str) -> std::ops::Range<usize> {
    let in_tags = |needle: &str| {
        let mut search_from = 0;
        while let Some(found) = source[search_from..].find(needle) {
            let start = search_from + found;
            let before = &source[..start];
            let opened = before
                .rfind("{{")
                .into_iter()
                .chain(before.rfind("{%"))
                .max();
            let closed = before
                .rfind("}}")
                .into_iter()
                .chain(before.rfind("%}"))
                .max();
            let boundary_ok = source[start + needle.len()..]
                .chars()
                .next()
                .is_none_or(|c| !c.is_alphanumeric() && c != '_');
            if opened.is_some() && opened > closed && boundary_ok {
                return Some(start..start + needle.len());
            }
            search_from = start + needle.len();
        }
        None
    };
    in_tags(path)
        .or_else(|| in_tags(segment))
        .unwrap_or(0..source.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::source::{FileId, Span};

    fn scope() -> TemplateScope {
        TemplateScope {
            vars: vec!["port".into()],
            vms: vec!["lb".into(), "web1".into()],
            groups: vec!["web".into(), "lb".into()],
            networks: vec!["lab".into()],
        }
    }

    fn text(source: &str) -> TemplateText {
        TemplateText::from_file(source.into(), Span::new(FileId(0), 0..source.len()))
    }

    #[test]
    fn accepts_known_names() {
        let source = "{{ vms.lb.ips.lab }}:{{ vars.port }} {% for w in groups.web %}{{ w.ip }}{% endfor %} {{ vm.name }} {{ networks.lab.cidr }} {{ range(3) | list }}";
        assert_eq!(scope().check(&text(source), TemplateUse::PerVm), vec![]);
    }

    #[test]
    fn reports_unknown_names_with_location_and_suggestion() {
        let source = "server {{ vms.lbb.ip }}:80";
        let found = scope().check(&text(source), TemplateUse::PerVm);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].message, "template uses unknown variable `vms.lbb`");
        assert_eq!(found[0].label, "did you mean `vms.lb`?");
        assert_eq!(&source[found[0].span.range.clone()], "vms.lbb");
    }

    #[test]
    fn vm_is_unknown_in_global_templates() {
        let found = scope().check(&text("{{ vm.ip }}"), TemplateUse::Global);
        assert_eq!(found.len(), 1);
        assert!(
            found[0].message.contains("only exists"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn reports_syntax_errors() {
        let found = scope().check(&text("{{ vm.ip "), TemplateUse::PerVm);
        assert_eq!(found.len(), 1);
        assert!(found[0].message.starts_with("template syntax error"));
    }
}
