//! The text labctl was given: the lab file and every file it refers to, and spans into them.
//!
//! Every diagnostic, and every later error that is about the lab file (a failing step, a
//! failing check), points back into these texts through a [`Span`].

use std::ops::Range;

/// Index of a file in a [`Sources`] set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct FileId(pub usize);

/// A byte range in one source file.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Span {
    /// The file the range is in.
    pub file: FileId,
    /// Byte offsets into that file's text.
    pub range: Range<usize>,
}

impl Span {
    /// A span in `file` covering `range`.
    pub fn new(file: FileId, range: Range<usize>) -> Self {
        Self { file, range }
    }

    /// A span with a sub-range relative to this span's start, clamped to this span.
    pub fn sub(&self, relative: Range<usize>) -> Self {
        let start = (self.range.start + relative.start).min(self.range.end);
        let end = (self.range.start + relative.end).clamp(start, self.range.end);
        Self::new(self.file, start..end)
    }
}

/// One source file: the name it is shown under and its whole text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as the user would recognise it (relative to where labctl was run).
    pub name: String,
    /// The file's text.
    pub text: String,
}

/// All files of one lab, indexed by [`FileId`]; the lab file itself is always `FileId(0)`.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    files: Vec<SourceFile>,
}

impl Sources {
    /// A set holding only the lab file.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            files: vec![SourceFile {
                name: name.into(),
                text: text.into(),
            }],
        }
    }

    /// Adds a file (or returns the id it already has).
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<String>) -> FileId {
        let name = name.into();
        if let Some(index) = self.files.iter().position(|file| file.name == name) {
            return FileId(index);
        }
        self.files.push(SourceFile {
            name,
            text: text.into(),
        });
        FileId(self.files.len() - 1)
    }

    /// The file with this id.
    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0]
    }

    /// The lab file.
    pub fn main(&self) -> &SourceFile {
        &self.files[0]
    }

    /// All files in id order.
    pub fn files(&self) -> &[SourceFile] {
        &self.files
    }

    /// The text a span covers.
    pub fn text(&self, span: &Span) -> &str {
        let text = &self.get(span.file).text;
        text.get(span.range.clone()).unwrap_or("")
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, file: FileId, offset: usize) -> (usize, usize) {
        let text = &self.get(file).text;
        let offset = offset.min(text.len());
        let before = &text[..floor_char_boundary(text, offset)];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        (line, column)
    }
}

/// Where a file stops being UTF-8 text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotUtf8 {
    /// 1-based line of the first bad byte.
    pub line: usize,
    /// 1-based column (in characters) of the first bad byte.
    pub column: usize,
    /// The first bad byte.
    pub byte: u8,
    /// That line around the byte, printable: bad bytes as `\xNN`, control characters escaped,
    /// at most a few hundred bytes.
    pub excerpt: String,
}

/// The file's bytes as text, or where they are not UTF-8.
pub fn decode(bytes: Vec<u8>) -> Result<String, NotUtf8> {
    let error = match String::from_utf8(bytes) {
        Ok(text) => return Ok(text),
        Err(error) => error,
    };
    let bad = error.utf8_error().valid_up_to();
    let bytes = error.into_bytes();
    let before = std::str::from_utf8(&bytes[..bad]).unwrap_or_default();
    let line_start = before.rfind('\n').map_or(0, |index| index + 1);
    let line_end = bytes[bad..]
        .iter()
        .position(|&byte| byte == b'\n')
        .map_or(bytes.len(), |index| bad + index);
    let from = line_start.max(bad.saturating_sub(EXCERPT_CONTEXT));
    let to = line_end.min(bad + EXCERPT_CONTEXT);
    let mut excerpt = String::new();
    if from > line_start {
        excerpt.push('…');
    }
    for chunk in bytes[from..to].utf8_chunks() {
        for character in chunk.valid().chars() {
            match escaped(character) {
                Some(escape) => excerpt.push_str(&escape),
                None => excerpt.push(character),
            }
        }
        for byte in chunk.invalid() {
            excerpt.push_str(&format!("\\x{byte:02X}"));
        }
    }
    if to < line_end {
        excerpt.push('…');
    }
    Err(NotUtf8 {
        line: before.matches('\n').count() + 1,
        column: before[line_start..].chars().count() + 1,
        byte: bytes[bad],
        excerpt,
    })
}

/// How a control character is shown (never written to a terminal as it is): `\0`, `\r`,
/// `\u{1b}`; `None` for characters shown as they are (tabs and line breaks included).
pub fn escaped(character: char) -> Option<String> {
    match character {
        '\t' | '\n' => None,
        '\0' => Some("\\0".to_string()),
        '\r' => Some("\\r".to_string()),
        other if other.is_control() => Some(format!("\\u{{{:x}}}", u32::from(other))),
        _ => None,
    }
}

/// Bytes shown on each side of a bad byte.
const EXCERPT_CONTEXT: usize = 60;

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based_and_count_characters() {
        let sources = Sources::new("lab.toml", "a = 1\nné = 2\n");
        assert_eq!(sources.line_col(FileId(0), 0), (1, 1));
        assert_eq!(sources.line_col(FileId(0), 6), (2, 1));
        let offset = "a = 1\nné".len();
        assert_eq!(sources.line_col(FileId(0), offset), (2, 3));
    }

    #[test]
    fn a_bad_byte_is_located_and_shown_escaped() {
        let mut bytes = b"name = \"x\"\nd\xc3\xa9f = \"\x00".to_vec();
        bytes.push(0xff);
        bytes.extend_from_slice(b"\"\nnext = 1\n");
        let problem = decode(bytes).unwrap_err();
        assert_eq!((problem.line, problem.column), (2, 9));
        assert_eq!(problem.byte, 0xff);
        assert_eq!(problem.excerpt, "déf = \"\\0\\xFF\"");
        assert_eq!(decode(b"ok".to_vec()).unwrap(), "ok");
    }

    #[test]
    fn a_bad_byte_on_a_long_line_shows_only_its_surroundings() {
        let mut bytes = vec![b'a'; 1_000_000];
        bytes[500_000] = 0xfe;
        let problem = decode(bytes).unwrap_err();
        assert_eq!((problem.line, problem.column), (1, 500_001));
        assert!(problem.excerpt.len() < 200, "{}", problem.excerpt);
        assert!(problem.excerpt.starts_with('…') && problem.excerpt.ends_with('…'));
    }

    #[test]
    fn sub_span_is_clamped() {
        let span = Span::new(FileId(0), 10..20);
        assert_eq!(span.sub(2..5).range, 12..15);
        assert_eq!(span.sub(8..50).range, 18..20);
    }
}
