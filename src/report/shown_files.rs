//! The source files as a diagnostic shows them: control characters escaped (a NUL byte is
//! shown as `\0`, never written to the terminal) and lines too long to read cut to a window
//! around what the diagnostic points at, while line and column numbers stay those of the file.
//!
//! A 5 MB one-line file with an error near its end prints a few hundred bytes, not 5 MB.

use std::ops::Range;

use codespan_reporting::files::{Error as FilesError, Files};

use crate::lab::source::escaped;

/// Longest line shown whole, in bytes; longer lines are cut around the labels on them.
const LONGEST_LINE: usize = 200;
/// Bytes of context kept on each side of a label on a cut line.
const CONTEXT: usize = 60;
/// Longest stretch of a label's own text kept on a cut line.
const LONGEST_LABEL: usize = 120;
/// What stands for the part of a line that is not shown.
const ELLIPSIS: &str = "…";

/// Files prepared for one diagnostic: shown text plus a map back to the original offsets.
pub(crate) struct ShownFiles {
    files: Vec<ShownFile>,
}

impl ShownFiles {
    /// Prepares `files` (name, text) for a diagnostic whose labels cover `labels` (file index,
    /// byte range in the original text).
    pub(crate) fn new(files: &[(String, String)], labels: &[(usize, Range<usize>)]) -> Self {
        let files = files
            .iter()
            .enumerate()
            .map(|(index, (name, text))| {
                let keep: Vec<Range<usize>> = labels
                    .iter()
                    .filter(|(file, _)| *file == index)
                    .map(|(_, range)| range.clone())
                    .collect();
                ShownFile::new(name.clone(), text, &keep)
            })
            .collect();
        Self { files }
    }

    /// Where an original byte offset of file `file` is in the shown text (`end`: the offset
    /// ends a range, so a hidden stretch maps to its far side).
    pub(crate) fn shown_offset(&self, file: usize, offset: usize, end: bool) -> usize {
        self.files
            .get(file)
            .map_or(offset, |shown| shown.to_shown(offset, end))
    }

    fn get(&self, file: usize) -> Result<&ShownFile, FilesError> {
        self.files.get(file).ok_or(FilesError::FileMissing)
    }
}

impl<'a> Files<'a> for ShownFiles {
    type FileId = usize;
    type Name = &'a str;
    type Source = &'a str;

    fn name(&'a self, id: usize) -> Result<&'a str, FilesError> {
        Ok(&self.get(id)?.name)
    }

    fn source(&'a self, id: usize) -> Result<&'a str, FilesError> {
        Ok(&self.get(id)?.shown)
    }

    fn line_index(&'a self, id: usize, byte_index: usize) -> Result<usize, FilesError> {
        let file = self.get(id)?;
        Ok(file
            .line_starts
            .binary_search(&byte_index)
            .unwrap_or_else(|next| next - 1))
    }

    fn line_range(&'a self, id: usize, line_index: usize) -> Result<Range<usize>, FilesError> {
        let file = self.get(id)?;
        let start = *file
            .line_starts
            .get(line_index)
            .ok_or(FilesError::LineTooLarge {
                given: line_index,
                max: file.line_starts.len() - 1,
            })?;
        let end = file
            .line_starts
            .get(line_index + 1)
            .copied()
            .unwrap_or(file.shown.len());
        Ok(start..end)
    }

    /// The column in the original line, counted in characters, whatever was cut or escaped
    /// before it.
    fn column_number(
        &'a self,
        id: usize,
        line_index: usize,
        byte_index: usize,
    ) -> Result<usize, FilesError> {
        let file = self.get(id)?;
        let original = file.to_original(byte_index);
        let line_start = file
            .original_line_starts
            .get(line_index)
            .copied()
            .unwrap_or(0)
            .min(original);
        let text = &file.original_text_of(line_start..original);
        Ok(text.chars().count() + 1)
    }
}

/// One file as shown.
struct ShownFile {
    name: String,
    shown: String,
    /// Byte offsets where the shown lines start.
    line_starts: Vec<usize>,
    /// Byte offsets where the original lines start (same lines: nothing adds or removes one).
    original_line_starts: Vec<usize>,
    /// The original text (kept for columns).
    original: String,
    /// Pieces in order, covering both texts.
    pieces: Vec<Piece>,
}

/// A stretch of the original text and what stands for it in the shown text.
#[derive(Debug, Clone)]
struct Piece {
    original: Range<usize>,
    shown: Range<usize>,
    /// The shown text is the original, byte for byte.
    verbatim: bool,
}

impl ShownFile {
    fn new(name: String, text: &str, keep: &[Range<usize>]) -> Self {
        let mut builder = Builder::default();
        let mut line_start = 0;
        for line in text.split_inclusive('\n') {
            let end = line_start + line.len();
            let content_end = line_start + line.trim_end_matches(['\n', '\r']).len();
            builder.line(text, line_start..content_end, keep);
            builder.verbatim(text, content_end..end);
            line_start = end;
        }
        let shown = builder.shown;
        let line_starts = starts_of_lines(&shown);
        let original_line_starts = starts_of_lines(text);
        Self {
            name,
            shown,
            line_starts,
            original_line_starts,
            original: text.to_string(),
            pieces: builder.pieces,
        }
    }

    fn piece_at_original(&self, offset: usize) -> Option<&Piece> {
        let index = self
            .pieces
            .partition_point(|piece| piece.original.end <= offset);
        self.pieces.get(index)
    }

    fn to_shown(&self, offset: usize, end: bool) -> usize {
        let Some(piece) = self.piece_at_original(offset) else {
            return self.shown.len();
        };
        if piece.verbatim {
            piece.shown.start + offset.saturating_sub(piece.original.start)
        } else if end && offset > piece.original.start {
            piece.shown.end
        } else {
            piece.shown.start
        }
    }

    fn to_original(&self, shown: usize) -> usize {
        let index = self
            .pieces
            .partition_point(|piece| piece.shown.end <= shown);
        match self.pieces.get(index) {
            Some(piece) if piece.verbatim => piece.original.start + (shown - piece.shown.start),
            Some(piece) => piece.original.start,
            None => self.original.len(),
        }
    }

    fn original_text_of(&self, range: Range<usize>) -> String {
        let start = floor_boundary(&self.original, range.start);
        let end = floor_boundary(&self.original, range.end);
        self.original[start..end].to_string()
    }
}

fn starts_of_lines(text: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(text.match_indices('\n').map(|(index, _)| index + 1))
        .collect()
}

fn floor_boundary(text: &str, mut offset: usize) -> usize {
    offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

fn ceil_boundary(text: &str, mut offset: usize) -> usize {
    offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset += 1;
    }
    offset
}

/// Builds the shown text piece by piece.
#[derive(Default)]
struct Builder {
    shown: String,
    pieces: Vec<Piece>,
}

impl Builder {
    /// One line's content (without its line break).
    fn line(&mut self, text: &str, line: Range<usize>, keep: &[Range<usize>]) {
        let content = &text[line.clone()];
        if content.len() <= LONGEST_LINE && !content.chars().any(is_escaped) {
            self.verbatim(text, line);
            return;
        }
        let window = if content.len() <= LONGEST_LINE {
            line.clone()
        } else {
            window_of(text, line.clone(), keep)
        };
        self.hidden(line.start..window.start);
        self.escaped(text, window.clone());
        self.hidden(window.end..line.end);
    }

    fn verbatim(&mut self, text: &str, range: Range<usize>) {
        if range.is_empty() {
            return;
        }
        let start = self.shown.len();
        self.shown.push_str(&text[range.clone()]);
        if let Some(last) = self.pieces.last_mut()
            && last.verbatim
            && last.original.end == range.start
        {
            last.original.end = range.end;
            last.shown.end = self.shown.len();
            return;
        }
        self.pieces.push(Piece {
            original: range,
            shown: start..self.shown.len(),
            verbatim: true,
        });
    }

    fn replaced(&mut self, original: Range<usize>, with: &str) {
        let start = self.shown.len();
        self.shown.push_str(with);
        self.pieces.push(Piece {
            original,
            shown: start..self.shown.len(),
            verbatim: false,
        });
    }

    fn hidden(&mut self, range: Range<usize>) {
        if !range.is_empty() {
            self.replaced(range, ELLIPSIS);
        }
    }

    fn escaped(&mut self, text: &str, range: Range<usize>) {
        let mut run_start = range.start;
        for (index, character) in text[range.clone()].char_indices() {
            let at = range.start + index;
            if is_escaped(character) {
                self.verbatim(text, run_start..at);
                let end = at + character.len_utf8();
                self.replaced(at..end, &escape(character));
                run_start = end;
            }
        }
        self.verbatim(text, run_start..range.end);
    }
}

/// The part of a long line worth showing: the labels on it with some context, at most a few
/// hundred bytes.
fn window_of(text: &str, line: Range<usize>, keep: &[Range<usize>]) -> Range<usize> {
    let on_line: Vec<&Range<usize>> = keep
        .iter()
        .filter(|range| range.start <= line.end && range.end >= line.start)
        .collect();
    let (first, last) = match (
        on_line.iter().map(|range| range.start).min(),
        on_line.iter().map(|range| range.end).max(),
    ) {
        (Some(first), Some(last)) => (first.max(line.start), last.min(line.end)),
        _ => (line.start, line.start),
    };
    let start = first.saturating_sub(CONTEXT).max(line.start);
    let last = last.min(first + LONGEST_LABEL);
    let end = (last + CONTEXT).min(line.end).max(start);
    let end = end.min(start + 2 * CONTEXT + LONGEST_LABEL).max(start);
    floor_boundary(text, start)..ceil_boundary(text, end).min(line.end)
}

/// Characters never written to the terminal as they are.
fn is_escaped(character: char) -> bool {
    escaped(character).is_some()
}

fn escape(character: char) -> String {
    escaped(character).unwrap_or_else(|| character.to_string())
}

/// A message cut to at most `limit` characters (head and tail kept), with control characters
/// escaped: messages can quote the file.
pub(crate) fn shorten(message: &str, limit: usize) -> String {
    let escaped: String = message.chars().map(escape).collect();
    let count = escaped.chars().count();
    if count <= limit {
        return escaped;
    }
    let head_count = limit * 2 / 3;
    let tail_count = limit.saturating_sub(head_count + 1);
    let head: String = escaped.chars().take(head_count).collect();
    let tail: String = escaped.chars().skip(count - tail_count).collect();
    format!("{head}{ELLIPSIS}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(text: &str, keep: Range<usize>) -> (ShownFiles, String) {
        let files = ShownFiles::new(&[("lab.toml".into(), text.into())], &[(0, keep)]);
        let source = files.source(0).unwrap().to_string();
        (files, source)
    }

    #[test]
    fn ordinary_text_is_shown_as_it_is() {
        let text = "name = \"x\"\r\n[vms.web]\nbox = 1\n";
        let (files, source) = shown(text, 0..4);
        assert_eq!(source, text);
        assert_eq!(files.shown_offset(0, 22, false), 22);
        assert_eq!(files.location(0, 22).unwrap().line_number, 3);
        assert_eq!(files.location(0, 22).unwrap().column_number, 1);
    }

    #[test]
    fn a_long_line_is_cut_around_the_label_and_keeps_its_columns() {
        let mut text = String::from("a = 1\nname = \"");
        text.push_str(&"x".repeat(5_000_000));
        let bad = text.len();
        text.push_str("\u{1}\" oops\n");
        let (files, source) = shown(&text, bad..bad + 1);
        assert!(source.len() < 400, "shown {} bytes", source.len());
        assert!(source.contains("\\u{1}\" oops"), "{source}");
        assert!(source.starts_with("a = 1\n…"), "{source}");
        let at = files.shown_offset(0, bad, false);
        assert_eq!(&source[at..at + 5], "\\u{1}");
        let location = files.location(0, at).unwrap();
        assert_eq!(location.line_number, 2);
        assert_eq!(location.column_number, "name = \"".len() + 5_000_000 + 1);
        assert_eq!(files.shown_offset(0, bad + 1, true), at + 5);
    }

    #[test]
    fn nul_bytes_are_escaped_and_columns_count_them_as_one() {
        let text = "a\0b = 1\n";
        let (files, source) = shown(text, 2..3);
        assert_eq!(source, "a\\0b = 1\n");
        let at = files.shown_offset(0, 2, false);
        assert_eq!(&source[at..at + 1], "b");
        assert_eq!(files.location(0, at).unwrap().column_number, 3);
    }

    #[test]
    fn a_label_longer_than_the_window_is_cut_too() {
        let text = format!("k = \"{}\"\n", "é".repeat(10_000));
        let (files, source) = shown(&text, 4..text.len() - 1);
        assert!(source.len() < 600, "shown {} bytes", source.len());
        let end = files.shown_offset(0, text.len() - 1, true);
        assert!(end <= source.len());
        assert!(source.is_char_boundary(end));
    }

    #[test]
    fn long_messages_keep_head_and_tail() {
        let message = format!("unknown key `{}`", "k".repeat(10_000));
        let short = shorten(&message, 100);
        assert_eq!(short.chars().count(), 100);
        assert!(short.starts_with("unknown key `kk"));
        assert!(short.ends_with("kk`"));
        assert_eq!(shorten("a\0b", 100), "a\\0b");
    }
}
