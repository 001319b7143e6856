//! The records of delimited text, split exactly as the csv crate (csv-core) splits them with
//! our settings (a one-byte delimiter, `"` quotes doubled inside quoted cells, CR, LF or CRLF
//! line ends, ragged rows allowed), but without copying: a cell is a slice of the text unless
//! it had quotes to take out.
//!
//! What csv-core does, and so what this does:
//! - a UTF-8 byte-order mark at the very start is skipped;
//! - line ends before a record (blank lines) are skipped; a record ends at CR or LF;
//! - a cell that starts with `"` is quoted: it runs to the next lone `"` (a doubled `""` is one
//!   `"` of the cell's text) and may hold delimiters and line ends; anything after its closing
//!   quote, up to the next delimiter or line end, is added to the cell as it is; a quote that
//!   is never closed runs to the end of the text;
//! - in a cell that does not start with `"`, a `"` is an ordinary character;
//! - a delimiter at the end of a line or of the text ends one more, empty, cell.
//!
//! `tests.rs` checks this against the csv crate on random text.

use std::borrow::Cow;

/// Reads records one at a time; see the module docs.
pub(super) struct Records<'a> {
    text: &'a str,
    /// Where the next record (or the line ends before it) begins.
    at: usize,
    delimiter: u8,
    /// The row number of the last record read (0 before the first).
    line: usize,
}

impl<'a> Records<'a> {
    /// `delimiter` must be an ASCII byte other than `"`, CR and LF.
    pub(super) fn new(text: &'a str, delimiter: u8) -> Self {
        let at = if text.starts_with('\u{FEFF}') {
            '\u{FEFF}'.len_utf8()
        } else {
            0
        };
        Records {
            text,
            at,
            delimiter,
            line: 0,
        }
    }

    /// Reads the next record's cells into `cells` (emptied first) and returns its row number
    /// as a spreadsheet shows it; `None` at the end of the text.
    ///
    /// The row number: each record is one row, however many lines its quoted cells span, and
    /// each blank line before it is a row. So it is the previous record's row number plus the
    /// line breaks (CRLF, LF or a lone CR) between the two records.
    #[inline(never)]
    pub(super) fn next_into(&mut self, cells: &mut Vec<Cow<'a, str>>) -> Option<usize> {
        cells.clear();
        let bytes = self.text.as_bytes();
        let rest = bytes.get(self.at..).unwrap_or_default();
        let gap = rest
            .iter()
            .take_while(|b| matches!(b, b'\r' | b'\n'))
            .count();
        let breaks = line_breaks(rest.get(..gap).unwrap_or_default());
        let start = self.at + gap;
        if start >= bytes.len() {
            self.at = bytes.len();
            return None;
        }
        let line = bytes.get(start..).unwrap_or_default();
        let line_len = memchr::memchr2(b'\n', b'\r', line).unwrap_or(line.len());
        let line = line.get(..line_len).unwrap_or_default();
        if memchr::memchr(b'"', line).is_none() {
            // No quotes on this line (nearly every line): the cells are the slices between
            // delimiters.
            let mut from = start;
            for i in memchr::memchr_iter(self.delimiter, line) {
                cells.push(Cow::Borrowed(
                    self.text.get(from..start + i).unwrap_or_default(),
                ));
                from = start + i + 1;
            }
            self.at = start + line_len;
            cells.push(Cow::Borrowed(
                self.text.get(from..self.at).unwrap_or_default(),
            ));
        } else {
            self.at = self.quoted_record(start, start + line_len, cells);
        }
        self.line = if self.line == 0 {
            breaks.saturating_add(1)
        } else {
            // At least one: a record ends at a line break.
            self.line.saturating_add(breaks.max(1))
        };
        Some(self.line)
    }

    /// Reads a record that has a `"` on its first line, cell by cell; returns where it ends.
    /// `line_end` is where that line ends (its CR or LF, or the end of the text).
    #[inline(never)]
    fn quoted_record(
        &self,
        mut at: usize,
        mut line_end: usize,
        cells: &mut Vec<Cow<'a, str>>,
    ) -> usize {
        let bytes = self.text.as_bytes();
        loop {
            let (cell, end) = if bytes.get(at) == Some(&b'"') {
                let (cell, end, next_line_end) = self.quoted_cell(at + 1, line_end);
                line_end = next_line_end;
                (cell, end)
            } else {
                let end = self.plain_end(at, line_end);
                (
                    Cow::Borrowed(self.text.get(at..end).unwrap_or_default()),
                    end,
                )
            };
            cells.push(cell);
            match bytes.get(end) {
                Some(&b) if b == self.delimiter => at = end + 1,
                // A line end, or the end of the text (`end` == its length).
                _ => return end.min(bytes.len()),
            }
        }
    }

    /// Where unquoted text from `at` ends: at the next delimiter, else at `line_end` (the
    /// first CR or LF from `at` on, or the end of the text).
    fn plain_end(&self, at: usize, line_end: usize) -> usize {
        let text = self.text.as_bytes().get(at..line_end).unwrap_or_default();
        at + memchr::memchr(self.delimiter, text).unwrap_or(text.len())
    }

    /// The first CR or LF from `at` on, or the end of the text.
    fn line_end(&self, at: usize) -> usize {
        let rest = self.text.as_bytes().get(at..).unwrap_or_default();
        at + memchr::memchr2(b'\n', b'\r', rest).unwrap_or(rest.len())
    }

    /// A quoted cell whose text starts at `at` (just after the opening quote), on a line that
    /// ends at `line_end`: its text, where it ends (at a delimiter, a line end or the end of
    /// the text), and where the line it ends on ends.
    fn quoted_cell(&self, mut at: usize, mut line_end: usize) -> (Cow<'a, str>, usize, usize) {
        let bytes = self.text.as_bytes();
        let mut cell: Cow<'a, str> = Cow::Borrowed("");
        loop {
            let rest = bytes.get(at..).unwrap_or_default();
            let Some(quote) = memchr::memchr(b'"', rest).map(|i| at + i) else {
                // Never closed: the cell runs to the end of the text.
                append(&mut cell, self.text.get(at..).unwrap_or_default());
                return (cell, bytes.len(), bytes.len());
            };
            if bytes.get(quote + 1) == Some(&b'"') {
                // `""`: one quote of the text (taken with the text before it).
                append(&mut cell, self.text.get(at..=quote).unwrap_or_default());
                at = quote + 2;
                continue;
            }
            append(&mut cell, self.text.get(at..quote).unwrap_or_default());
            // After the closing quote: text up to the next delimiter or line end belongs to
            // the cell as it is. The quoted text may have run onto later lines.
            let after = quote + 1;
            if quote >= line_end {
                line_end = self.line_end(after);
            }
            let end = self.plain_end(after, line_end);
            append(&mut cell, self.text.get(after..end).unwrap_or_default());
            return (cell, end, line_end);
        }
    }
}

/// Adds `more` to a cell, copying only when the cell is made of more than one piece.
fn append<'a>(cell: &mut Cow<'a, str>, more: &'a str) {
    if more.is_empty() {
        return;
    }
    if cell.is_empty() {
        *cell = Cow::Borrowed(more);
    } else {
        cell.to_mut().push_str(more);
    }
}

/// Line breaks in `bytes`: CRLF, LF or a lone CR. (For the few bytes between two records.)
pub(super) fn line_breaks(bytes: &[u8]) -> usize {
    let mut breaks = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')) {
            breaks += 1;
        }
    }
    breaks
}
