//! The lab file: parse → check against the schema → validate → model with spans.
//!
//! Pure: it reads the lab file's text it is given and, through [`LabFiles`], the files the
//! lab refers to; it touches nothing else.

pub mod diagnostic;
pub mod facts;
pub mod model;
pub mod raw;
mod schema_check;
pub mod source;
pub mod spanned;
pub mod suggest;
pub mod template_check;
pub(crate) mod validate;
mod var_overrides;

use std::path::Path;
use std::sync::OnceLock;

pub use diagnostic::{Diagnostic, DiagnosticKind, Diagnostics, Severity};
pub use model::Lab;
pub use source::{FileId, NotUtf8, Sources, Span};
pub use validate::LabFiles;
pub use validate::condition::holds_for as condition_holds;
pub use var_overrides::VarOverrides;

use raw::RawLab;
use schema_check::SchemaCheck;

/// What loading a lab file gave: the lab (when it has no errors) and every problem found.
#[derive(Debug)]
pub struct Loaded {
    /// The validated lab, when there are no errors.
    pub lab: Option<Lab>,
    /// Errors and warnings, sorted by position.
    pub diagnostics: Vec<Diagnostic>,
    /// The texts the diagnostics point into.
    pub sources: Sources,
}

impl Loaded {
    /// Number of errors.
    pub fn error_count(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|diagnostic| diagnostic.severity == Severity::Error)
            .count()
    }
}

/// The JSON Schema of the lab file, generated from the types that read it.
pub fn schema() -> &'static serde_json::Value {
    static SCHEMA: OnceLock<serde_json::Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let mut schema = serde_json::to_value(schemars::schema_for!(RawLab))
            .expect("a generated schema is valid JSON");
        if let Some(object) = schema.as_object_mut() {
            object.insert("$id".into(), "https://labctl.dev/schema/lab.json".into());
        }
        schema
    })
}

/// The JSON Schema of a checks file (a rubric).
pub fn checks_schema() -> &'static serde_json::Value {
    static SCHEMA: OnceLock<serde_json::Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        serde_json::to_value(schemars::schema_for!(raw::RawChecksFile))
            .expect("a generated schema is valid JSON")
    })
}

/// Parses a TOML document of type `T`, checking it against `schema` first so that every
/// unknown key and wrong type is reported at its position.
pub(crate) fn parse_document<T: serde::de::DeserializeOwned>(
    text: &str,
    schema: &serde_json::Value,
) -> Result<(T, Vec<Diagnostic>), Vec<Diagnostic>> {
    let file = FileId(0);
    let (mut document, syntax_errors) = toml::de::DeTable::parse_recoverable(text);
    if !syntax_errors.is_empty() {
        return Err(syntax_errors
            .iter()
            .map(|error| {
                let range = error.span().unwrap_or(0..0);
                Diagnostic::error(
                    DiagnosticKind::Syntax,
                    Span::new(file, range),
                    format!("invalid TOML: {}", error.message()),
                )
                .with_label(error.message().to_string())
            })
            .collect());
    }
    let schema_problems = SchemaCheck::run(schema, file, &mut document);
    if !schema_problems
        .iter()
        .all(|problem| problem.kind == DiagnosticKind::UnknownKey)
    {
        return Err(schema_problems);
    }
    match T::deserialize(toml::de::Deserializer::from(document)) {
        Ok(parsed) => Ok((parsed, schema_problems)),
        Err(error) => {
            let mut diagnostics = schema_problems;
            diagnostics.push(Diagnostic::error(
                DiagnosticKind::WrongType,
                Span::new(file, error.span().unwrap_or(0..0)),
                error.message().to_string(),
            ));
            Err(diagnostics)
        }
    }
}

/// Parses and validates a checks file against a validated lab.
pub fn load_checks(
    lab: &Lab,
    name: &str,
    text: &str,
    files: &dyn LabFiles,
) -> (Option<Vec<model::Check>>, Vec<Diagnostic>, Sources) {
    let sources = Sources::new(name, text);
    match parse_document::<raw::RawChecksFile>(text, checks_schema()) {
        Err(diagnostics) => (None, sort(diagnostics), sources),
        Ok((raw, unknown_keys)) => {
            let (checks, mut diagnostics, sources) =
                validate::validate_checks(&raw.checks, sources, lab, files);
            diagnostics.extend(unknown_keys);
            let checks = if diagnostics.has_errors() {
                None
            } else {
                checks
            };
            (checks, diagnostics.sorted(), sources)
        }
    }
}

fn sort(diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let mut all = Diagnostics::default();
    all.extend(diagnostics);
    all.sorted()
}

/// Parses and validates a lab file. `name` is how the file is shown in messages, `dir` the
/// folder that relative paths in it are relative to.
pub fn load(name: &str, text: &str, dir: &Path, files: &dyn LabFiles) -> Loaded {
    match load_resized(name, text, dir, files, &[], &VarOverrides::default()) {
        Ok(loaded) => loaded,
        Err(message) => Loaded {
            lab: None,
            diagnostics: vec![Diagnostic::error(
                DiagnosticKind::InvalidValue,
                Span::default(),
                message,
            )],
            sources: Sources::new(name, text),
        },
    }
}

/// Parses and validates a lab file whose replica groups in `counts` have another number of
/// replicas than the file says (a scenario adds and removes replicas). Every name, address and
/// MAC of the resized groups is checked as if the file said so. `overrides` replace values of
/// `[vars]` (from the command line); one that names no var, or has another type, is refused.
pub fn load_resized(
    name: &str,
    text: &str,
    dir: &Path,
    files: &dyn LabFiles,
    counts: &[(String, u32)],
    overrides: &VarOverrides,
) -> Result<Loaded, String> {
    let sources = Sources::new(name, text);
    let (mut raw, unknown_keys) = match parse_document::<RawLab>(text, schema()) {
        Ok(parsed) => parsed,
        Err(diagnostics) => return Ok(finish(None, diagnostics, sources)),
    };
    overrides.apply(raw.lab.get().name.get(), &mut raw.vars)?;
    for (group, count) in counts {
        for (key, vm) in raw.vms.iter_mut() {
            if key.get() == group {
                let range = vm
                    .get_mut()
                    .count
                    .as_ref()
                    .map_or(key.range(), |c| c.range());
                vm.get_mut().count = Some(spanned::Sp::new(*count, range));
            }
        }
    }
    let (lab, mut diagnostics, sources) = validate::validate(&raw, sources, dir, files);
    diagnostics.extend(unknown_keys);
    let lab = if diagnostics.has_errors() { None } else { lab };
    Ok(finish(lab, diagnostics.sorted(), sources))
}

/// Warnings for the credentials' environment variables that `is_set` says are not set, each at
/// the variable's name in the file. (A warning: the file is right; `up` and every command that
/// logs in refuse to start without them.)
pub fn unset_secret_variables(lab: &Lab, is_set: &dyn Fn(&str) -> bool) -> Vec<Diagnostic> {
    lab.images
        .iter()
        .flat_map(|image| {
            image
                .secret_variables
                .iter()
                .filter(|variable| !is_set(&variable.name))
                .map(|variable| {
                    Diagnostic::warning(
                        DiagnosticKind::Environment,
                        variable.span.clone(),
                        format!(
                            "environment variable {} is not set: image `{}` reads its {} from it",
                            variable.name, image.name, variable.holds
                        ),
                    )
                    .with_label("not set in this environment")
                    .with_help(format!(
                        "set it before `labctl up`, e.g. `export {}=…` (labctl never prints it)",
                        variable.name
                    ))
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

fn finish(lab: Option<Lab>, diagnostics: Vec<Diagnostic>, sources: Sources) -> Loaded {
    Loaded {
        lab,
        diagnostics: sort(diagnostics),
        sources,
    }
}
