//! A piece of lab-file text that is a template, with where it came from.

use crate::lab::source::Span;

/// Template source text and the span of its text (in the lab file or a template file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateText {
    /// The template's source.
    pub source: String,
    /// Where the text is: for strings in the lab file, the span of the string value
    /// (including its quotes); for template files, the whole file.
    pub span: Span,
    /// Bytes between the start of `span` and the first character of `source` (the opening
    /// quotes of a TOML string, and the newline a multi-line string drops).
    pub content_offset: usize,
}

impl TemplateText {
    /// True when the text contains template syntax; plain text renders to itself.
    pub fn is_template(&self) -> bool {
        self.source.contains("{{") || self.source.contains("{%") || self.source.contains("{#")
    }

    /// A template read from the lab file, where `raw` is the value's text as written.
    pub fn from_toml(source: String, span: Span, raw: &str) -> Self {
        let content_offset = if raw.starts_with("\"\"\"") || raw.starts_with("'''") {
            let after = &raw[3..];
            3 + if after.starts_with("\r\n") {
                2
            } else if after.starts_with('\n') {
                1
            } else {
                0
            }
        } else if raw.starts_with('"') || raw.starts_with('\'') {
            1
        } else {
            0
        };
        Self {
            source,
            span,
            content_offset,
        }
    }

    /// A template that is a whole file.
    pub fn from_file(source: String, span: Span) -> Self {
        Self {
            source,
            span,
            content_offset: 0,
        }
    }

    /// The span of `range` (byte offsets into `source`), as close as the file allows.
    pub fn span_of(&self, range: std::ops::Range<usize>) -> Span {
        let shift = self.content_offset;
        self.span.sub(range.start + shift..range.end + shift)
    }
}
