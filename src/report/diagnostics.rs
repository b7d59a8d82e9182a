//! Renders lab-file diagnostics: `file:line:col`, the line, the offending text underlined,
//! notes and help — for people (with or without colour) and as JSON.

use std::ops::Range;

use codespan_reporting::diagnostic::{Diagnostic as Rendered, Label, LabelStyle};
use codespan_reporting::term::{self, Config};
use serde::Serialize;

use super::shown_files::{ShownFiles, shorten};

use crate::lab::{Diagnostic, Severity, Sources};

/// Renders diagnostics as text, in the order given.
pub fn render_diagnostics(sources: &Sources, diagnostics: &[Diagnostic], color: bool) -> String {
    let texts: Vec<(String, String)> = sources
        .files()
        .iter()
        .map(|file| (file.name.clone(), redact_passwords(&file.text)))
        .collect();
    let config = Config::default();
    let mut out = String::new();
    for diagnostic in diagnostics {
        let labels: Vec<(usize, Range<usize>)> = std::iter::once(&diagnostic.span)
            .chain(diagnostic.notes.iter().map(|note| &note.span))
            .map(|span| (span.file.0, span.range.clone()))
            .collect();
        let files = ShownFiles::new(&texts, &labels);
        let rendered = to_codespan(diagnostic, &files);
        if color {
            let mut buffer = term::termcolor::Buffer::ansi();
            let styles = term::Styles::default();
            let mut writer = term::StylesWriter::new(&mut buffer, &styles);
            if term::emit_to_write_style(&mut writer, &config, &files, &rendered).is_ok() {
                out.push_str(&String::from_utf8_lossy(buffer.as_slice()));
                continue;
            }
        }
        match term::emit_into_string(&config, &files, &rendered) {
            Ok(text) => out.push_str(&text),
            Err(_) => {
                let location = diagnostic.location(sources);
                out.push_str(&format!(
                    "{}: {location}: {}\n",
                    severity_word(diagnostic.severity),
                    shorten(&diagnostic.message, LONGEST_MESSAGE)
                ));
            }
        }
    }
    out
}

/// Longest message, label or help shown, in characters (messages can quote the file).
const LONGEST_MESSAGE: usize = 300;

fn severity_word(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

fn to_codespan(diagnostic: &Diagnostic, files: &ShownFiles) -> Rendered<usize> {
    let base = match diagnostic.severity {
        Severity::Error => Rendered::error(),
        Severity::Warning => Rendered::warning(),
    };
    let shown = |span: &crate::lab::Span| {
        files.shown_offset(span.file.0, span.range.start, false)
            ..files.shown_offset(span.file.0, span.range.end, true)
    };
    let mut labels = vec![
        Label::new(
            LabelStyle::Primary,
            diagnostic.span.file.0,
            shown(&diagnostic.span),
        )
        .with_message(shorten(&diagnostic.label, LONGEST_MESSAGE)),
    ];
    for note in &diagnostic.notes {
        labels.push(
            Label::new(LabelStyle::Secondary, note.span.file.0, shown(&note.span))
                .with_message(shorten(&note.message, LONGEST_MESSAGE)),
        );
    }
    let notes = diagnostic
        .help
        .iter()
        .map(|help| format!("help: {}", shorten(help, LONGEST_MESSAGE)))
        .collect();
    base.with_message(shorten(&diagnostic.message, LONGEST_MESSAGE))
        .with_labels(labels)
        .with_notes(notes)
}

/// A diagnostic as it appears in `--json` output.
#[derive(Debug, Serialize)]
pub struct JsonDiagnostic {
    /// `error` or `warning`.
    pub severity: Severity,
    /// Stable kind name.
    pub kind: crate::lab::DiagnosticKind,
    /// The headline.
    pub message: String,
    /// File as shown.
    pub file: String,
    /// 1-based line of the start.
    pub line: usize,
    /// 1-based column of the start.
    pub column: usize,
    /// 1-based line of the end.
    pub end_line: usize,
    /// 1-based column of the end.
    pub end_column: usize,
    /// The underlined text.
    pub text: String,
    /// Text under the underline.
    pub label: String,
    /// How to fix it.
    pub help: Option<String>,
}

/// The JSON form of a diagnostic.
pub fn json_diagnostic(sources: &Sources, diagnostic: &Diagnostic) -> JsonDiagnostic {
    let (line, column) = sources.line_col(diagnostic.span.file, diagnostic.span.range.start);
    let (end_line, end_column) = sources.line_col(diagnostic.span.file, diagnostic.span.range.end);
    JsonDiagnostic {
        severity: diagnostic.severity,
        kind: diagnostic.kind,
        message: shorten(&diagnostic.message, LONGEST_MESSAGE),
        file: sources.get(diagnostic.span.file).name.clone(),
        line,
        column,
        end_line,
        end_column,
        text: shorten(
            &redact_passwords(sources.text(&diagnostic.span)),
            LONGEST_MESSAGE,
        ),
        label: diagnostic.label.clone(),
        help: diagnostic.help.clone(),
    }
}

/// The text with the value of every password-like key masked, byte for byte, so that snippets
/// of the lab file shown in errors never show a password, even under a misspelt key.
pub fn redact_passwords(text: &str) -> String {
    static PATTERN: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let pattern = PATTERN.get_or_init(|| {
        regex::Regex::new(r#"([A-Za-z0-9_-]+)(\s*=\s*)("(?:[^"\\\n]|\\.)*"|'[^'\n]*')"#)
            .expect("valid pattern")
    });
    pattern
        .replace_all(text, |captures: &regex::Captures<'_>| {
            let key = &captures[1];
            let value = &captures[3];
            if !is_secret_key(key) {
                return captures[0].to_string();
            }
            let quote = &value[..1];
            let masked = "*".repeat(value.len() - 2);
            format!("{key}{}{quote}{masked}{quote}", &captures[2])
        })
        .into_owned()
}

fn is_secret_key(key: &str) -> bool {
    let key = key.to_lowercase();
    if key.ends_with("_env") {
        return false;
    }
    ["pass", "secret", "token", "pwd"]
        .iter()
        .any(|word| key.contains(word))
        || strsim::damerau_levenshtein(&key, "password") <= 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_masked_without_moving_text() {
        let text = "user = \"ubuntu\"\npassword = \"reverse\"\npasword='x y'\npasswrd = \"abc\"\npassword_env = \"PW\"\n";
        let masked = redact_passwords(text);
        assert_eq!(masked.len(), text.len());
        assert!(!masked.contains("reverse"));
        assert!(!masked.contains("x y"));
        assert!(masked.contains("\"ubuntu\""));
        assert!(masked.contains("password = \"*******\""));
        assert!(masked.contains("passwrd = \"***\""));
        assert!(masked.contains("password_env = \"PW\""));
    }
}
