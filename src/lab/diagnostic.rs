//! A problem found in a lab file: where it is, what is wrong, and what would fix it.

use std::fmt;

use serde::Serialize;

use super::source::{FileId, Sources, Span};

/// How bad a diagnostic is: errors stop labctl, warnings are printed and let it go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The lab file cannot be used as written.
    Error,
    /// The lab file works here but is likely to fail somewhere else or surprise its author.
    Warning,
}

/// What kind of problem a diagnostic reports; stable names for tests and `--json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DiagnosticKind {
    /// The text is not valid TOML.
    Syntax,
    /// A key the lab format does not have.
    UnknownKey,
    /// A value of the wrong type (a string where a number is expected, …).
    WrongType,
    /// A value of the right type that is not allowed (an unknown enum value, out of range).
    InvalidValue,
    /// A required key is missing.
    MissingKey,
    /// A name that refers to nothing (a VM, network, image or step).
    UnknownReference,
    /// Two things share a name, address or MAC that must be unique.
    Duplicate,
    /// An address that does not fit its network.
    Address,
    /// A host-only network outside VirtualBox's default allowed range.
    HostOnlyRange,
    /// A cycle in the `after` dependencies.
    Cycle,
    /// A malformed or multicast MAC address.
    Mac,
    /// More NICs than VirtualBox has adapter slots.
    NicCount,
    /// A template that does not parse or uses an unknown variable.
    Template,
    /// A file the lab refers to cannot be read.
    File,
    /// Keys that contradict each other or are missing together.
    Conflict,
    /// An environment variable the lab reads its credentials from is not set.
    Environment,
}

/// A secondary location with its own short message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// Where.
    pub span: Span,
    /// What this location has to do with the problem.
    pub message: String,
}

/// One problem in a lab file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// Which kind of problem.
    pub kind: DiagnosticKind,
    /// The headline: a lowercase sentence fragment with names in backticks.
    pub message: String,
    /// The offending text.
    pub span: Span,
    /// A short message under the underline (e.g. what was expected).
    pub label: String,
    /// Other places that explain the problem (e.g. the first of two duplicates).
    pub notes: Vec<Note>,
    /// How to fix it, when labctl can tell (e.g. "did you mean `web1`?").
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error of `kind` at `span`.
    pub fn error(kind: DiagnosticKind, span: Span, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            kind,
            message: message.into(),
            span,
            label: String::new(),
            notes: Vec::new(),
            help: None,
        }
    }

    /// A warning of `kind` at `span`.
    pub fn warning(kind: DiagnosticKind, span: Span, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(kind, span, message)
        }
    }

    /// Sets the text shown under the underline.
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    /// Adds a secondary location.
    pub fn with_note(mut self, span: Span, message: impl Into<String>) -> Self {
        self.notes.push(Note {
            span,
            message: message.into(),
        });
        self
    }

    /// Sets the help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Sets the help line when there is one.
    pub fn with_optional_help(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }

    /// Sets the text under the underline, in place.
    pub fn set_label(&mut self, label: impl Into<String>) -> &mut Self {
        self.label = label.into();
        self
    }

    /// Sets the help line, in place.
    pub fn set_help(&mut self, help: Option<String>) -> &mut Self {
        self.help = help;
        self
    }

    /// Adds a secondary location, in place.
    pub fn add_note(&mut self, span: Span, message: impl Into<String>) -> &mut Self {
        self.notes.push(Note {
            span,
            message: message.into(),
        });
        self
    }

    /// `file:line:col` of the start of the offending text.
    pub fn location(&self, sources: &Sources) -> Location {
        let (line, column) = sources.line_col(self.span.file, self.span.range.start);
        Location {
            file: sources.get(self.span.file).name.clone(),
            line,
            column,
        }
    }
}

/// A `file:line:col` position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    /// The file as shown to the user.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// Every problem found in one lab file, in file order.
#[derive(Debug, Clone, Default)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

/// A message without what changes from replica to replica (names in backticks, numbers).
fn shape(message: &str) -> String {
    let mut shape = String::new();
    let mut quoted = false;
    for character in message.chars() {
        if character == '`' {
            quoted = !quoted;
            shape.push(character);
        } else if !quoted && !character.is_ascii_digit() {
            shape.push(character);
        }
    }
    shape
}

/// One problem found again and again at one place (the address of each of 20 replicas inside
/// the DHCP range) is shown once, saying how many more there are, not 20 times.
fn collapse_repeats(items: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let mut kept: Vec<(Diagnostic, usize)> = Vec::new();
    let mut seen: std::collections::HashMap<
        (FileId, usize, usize, DiagnosticKind, String, String),
        usize,
    > = std::collections::HashMap::new();
    for diagnostic in items {
        let key = (
            diagnostic.span.file,
            diagnostic.span.range.start,
            diagnostic.span.range.end,
            diagnostic.kind,
            diagnostic.label.clone(),
            shape(&diagnostic.message),
        );
        match seen.get(&key) {
            Some(&index) if kept[index].0.severity == diagnostic.severity => kept[index].1 += 1,
            _ => {
                seen.insert(key, kept.len());
                kept.push((diagnostic, 0));
            }
        }
    }
    kept.into_iter()
        .map(|(mut diagnostic, more)| {
            if more > 0 {
                diagnostic
                    .message
                    .push_str(&format!(" (and {more} more like it from this line)"));
            }
            diagnostic
        })
        .collect()
}

impl Diagnostics {
    /// Records a problem.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.items.push(diagnostic);
    }

    /// Records several problems.
    pub fn extend(&mut self, diagnostics: impl IntoIterator<Item = Diagnostic>) {
        self.items.extend(diagnostics);
    }

    /// True when at least one problem is an error.
    pub fn has_errors(&self) -> bool {
        self.items
            .iter()
            .any(|diagnostic| diagnostic.severity == Severity::Error)
    }

    /// Number of errors.
    pub fn error_count(&self) -> usize {
        self.items
            .iter()
            .filter(|diagnostic| diagnostic.severity == Severity::Error)
            .count()
    }

    /// Number of warnings.
    pub fn warning_count(&self) -> usize {
        self.items.len() - self.error_count()
    }

    /// The problems sorted by file and position (the order they are reported in).
    pub fn sorted(mut self) -> Vec<Diagnostic> {
        self.items.sort_by(|a, b| {
            (a.span.file, a.span.range.start, a.span.range.end).cmp(&(
                b.span.file,
                b.span.range.start,
                b.span.range.end,
            ))
        });
        self.items.dedup();
        collapse_repeats(self.items)
    }

    /// The problem at `index` (in the order found), for amending it.
    pub(crate) fn get_mut(&mut self, index: usize) -> &mut Diagnostic {
        &mut self.items[index]
    }

    /// The problems in the order they were found.
    pub fn items(&self) -> &[Diagnostic] {
        &self.items
    }

    /// True when nothing was found.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}
