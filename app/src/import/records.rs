//! The records of delimited text as the csv crate reads them (a one-byte delimiter, `"`
//! quotes doubled inside quoted cells, CR, LF or CRLF line ends, ragged rows allowed), and the
//! row number a spreadsheet shows for each.
//!
//! Most records are cut straight out of the text ([`Records::cut`]): each cell found with
//! memchr (the bundle's SIMD) and borrowed, a quoted one without its quotes, and copied only if
//! it has doubled quotes to undo. A record whose quotes are not plain goes through csv-core,
//! the csv crate's own reader, which gives such records its own meaning. Property tests hold
//! the two to the csv crate's records and row numbers on random text.

use csv_core::ReadRecordResult;

/// A UTF-8 byte-order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Reads records one at a time.
pub(super) struct Records<'a> {
    text: &'a str,
    delimiter: u8,
    /// For records whose quotes are not plain.
    core: csv_core::Reader,
    /// csv-core's record: its cells, one after the other, unquoted.
    core_out: Vec<u8>,
    /// Where each of those cells ends in `core_out`.
    ends: Vec<usize>,
    /// Cut records' cells whose doubled quotes are undone.
    undoubled: Vec<u8>,
    /// The last record's cells: byte ranges of the text or of one of the buffers.
    cells: Vec<(usize, usize, Source)>,
    /// The row number of the last record read (0 before the first).
    row: usize,
    /// Where the reader stopped after the last record: just past the first byte of the
    /// line break that ended it.
    after: usize,
}

/// Where a reader stands in its text (see [`Records::resume`]); the default is its start. A
/// reader of the start of a longer text may be resumed only from a position after a record
/// that [`Records::ended_inside`] it (or from its start).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Position {
    /// Just past the first byte of the line break that ended the last record (0 at the start;
    /// the end of the text after a record that ended there).
    pub after: usize,
    /// The last record's row number (0 before the first).
    pub row: usize,
}

/// Where a cell's text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Text,
    Core,
    Undoubled,
}

impl<'a> Records<'a> {
    /// `delimiter` must be an ASCII byte other than `"`, CR and LF.
    pub(super) fn new(text: &'a str, delimiter: u8) -> Self {
        Self::resume(text, delimiter, Position::default())
    }

    /// A reader that goes on from `at` in `text`: where another reader of the same text, or of
    /// its start, stopped ([`Records::position`]). A text that begins one byte before the
    /// position's `after` (the line break that ended its last record) reads on as the whole.
    pub(super) fn resume(text: &'a str, delimiter: u8, at: Position) -> Self {
        let mut core = csv_core::ReaderBuilder::new().delimiter(delimiter).build();
        // csv-core drops a byte-order mark at the start of the first input it is given,
        // wherever in the text that is. A call with no room for output reads nothing but
        // counts as that first input. The text's own mark is dropped in `advance`, as the
        // csv crate drops it.
        let _ = core.read_record(b"\n", &mut [], &mut []);
        Records {
            text,
            delimiter,
            core,
            core_out: vec![0; 1024],
            ends: vec![0; 32],
            undoubled: Vec::new(),
            cells: Vec::with_capacity(16),
            row: at.row,
            after: at.after,
        }
    }

    /// Where the reader is: after its last record, and that record's row number.
    pub(super) fn position(&self) -> Position {
        Position {
            after: self.after,
            row: self.row,
        }
    }

    /// Whether the last record ended before the end of the text: with a line break, and a
    /// byte after it. Only such a record reads the same in a longer text that starts with this
    /// one (one that ends at the end may go on, and a CR may be the first of a CRLF).
    pub(super) fn ended_inside(&self) -> bool {
        self.after < self.text.len()
    }

    /// Reads the next record and returns its row number as a spreadsheet shows it; `None`
    /// at the end of the text. Its cells are then [`Records::cells`].
    ///
    /// The row number: each record is one row, however many lines its quoted cells span, and
    /// each blank line before it is a row. So it is the last record's row number plus the
    /// line breaks (CRLF, LF or a lone CR) from the one that ended it to the start of this
    /// one (the csv crate's own line count is of LFs only).
    #[inline(never)]
    pub(super) fn advance(&mut self) -> Option<usize> {
        let bytes = self.text.as_bytes();
        let from = self.after;
        let mut begin = from;
        if from == 0 && bytes.starts_with(BOM) {
            begin = BOM.len();
        }
        begin += bytes
            .get(begin..)
            .unwrap_or_default()
            .iter()
            .take_while(|b| matches!(b, b'\r' | b'\n'))
            .count();
        if begin >= bytes.len() {
            return None;
        }
        self.after = match self.cut(begin) {
            Some(after) => after,
            None => {
                let rest = bytes.get(begin..).unwrap_or_default();
                begin + self.read_with_core(rest)?
            }
        };
        let gap = bytes.get(from.saturating_sub(1)..begin).unwrap_or_default();
        self.row = if self.row == 0 {
            1 + line_breaks(gap)
        } else {
            // (At least one: the gap starts at the line break that ended the last record.)
            self.row + line_breaks(gap).max(1)
        };
        Some(self.row)
    }

    /// Cuts the record that starts at `begin` (not a line break) into its cells, and returns
    /// where the reader stops after it (see `after`); `None` if its quotes are not plain
    /// (then nothing is kept of it). Plain: no quote inside an unquoted cell, and a quoted
    /// cell is a quote, text in which a quote is doubled, a quote, then a delimiter, a line
    /// break or the end of the text.
    fn cut(&mut self, begin: usize) -> Option<usize> {
        let bytes = self.text.as_bytes();
        let delimiter = self.delimiter;
        self.cells.clear();
        self.undoubled.clear();
        let mut at = begin;
        loop {
            let (cell, next) = if bytes.get(at) == Some(&b'"') {
                let (cell, close) = self.quoted_cell(at + 1)?;
                (cell, close + 1)
            } else {
                let rest = bytes.get(at..).unwrap_or_default();
                let end =
                    memchr::memchr3(delimiter, b'\r', b'\n', rest).map_or(bytes.len(), |i| at + i);
                if memchr::memchr(b'"', bytes.get(at..end).unwrap_or_default()).is_some() {
                    return None;
                }
                ((at, end, Source::Text), end)
            };
            self.cells.push(cell);
            match bytes.get(next) {
                None => return Some(bytes.len()),
                Some(b) if *b == delimiter => at = next + 1,
                Some(b'\r' | b'\n') => return Some(next + 1),
                Some(_) => return None,
            }
        }
    }

    /// The quoted cell whose text starts at `start` (just past its opening quote), and where
    /// its closing quote is; `None` if it is never closed.
    fn quoted_cell(&mut self, start: usize) -> Option<((usize, usize, Source), usize)> {
        let bytes = self.text.as_bytes();
        let mut from = start;
        let mut doubled = false;
        let close = loop {
            let quote = from + memchr::memchr(b'"', bytes.get(from..)?)?;
            if bytes.get(quote + 1) == Some(&b'"') {
                doubled = true;
                from = quote + 2;
            } else {
                break quote;
            }
        };
        if !doubled {
            return Some(((start, close, Source::Text), close));
        }
        let first = self.undoubled.len();
        let mut rest = bytes.get(start..close).unwrap_or_default();
        while let Some(i) = memchr::memchr(b'"', rest) {
            // A quote here is the first of a doubled pair: keep one.
            self.undoubled
                .extend_from_slice(rest.get(..=i).unwrap_or_default());
            rest = rest.get(i + 2..).unwrap_or_default();
        }
        self.undoubled.extend_from_slice(rest);
        Some(((first, self.undoubled.len(), Source::Undoubled), close))
    }

    /// Reads the record at the start of `input` with csv-core: its cells into `core_out`,
    /// their ranges into `cells`. Returns the bytes it took (see `after`); `None` if there
    /// is no record.
    fn read_with_core(&mut self, mut input: &[u8]) -> Option<usize> {
        self.cells.clear();
        let (mut taken, mut out, mut ends) = (0, 0, 0);
        loop {
            let (result, nin, nout, nend) = self.core.read_record(
                input,
                self.core_out.get_mut(out..).unwrap_or_default(),
                self.ends.get_mut(ends..).unwrap_or_default(),
            );
            input = input.get(nin..).unwrap_or_default();
            taken += nin;
            out += nout;
            ends += nend;
            match result {
                // The end of the text: an empty input tells csv-core so.
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull => {
                    let len = self.core_out.len();
                    self.core_out.resize(len * 2, 0);
                }
                ReadRecordResult::OutputEndsFull => {
                    let len = self.ends.len();
                    self.ends.resize(len * 2, 0);
                }
                ReadRecordResult::Record => break,
                ReadRecordResult::End => return None,
            }
        }
        let mut cell = 0;
        for &end in self.ends.get(..ends).unwrap_or_default() {
            self.cells.push((cell, end, Source::Core));
            cell = end;
        }
        Some(taken)
    }

    /// The cells of the last record read. The text is UTF-8 and cut only at ASCII bytes
    /// (delimiters, quotes, line ends), so the cells are UTF-8.
    pub(super) fn cells(&self) -> impl Iterator<Item = &str> + '_ {
        self.cells.iter().map(move |&(start, end, source)| {
            let buffer = match source {
                Source::Text => return self.text.get(start..end).unwrap_or_default(),
                Source::Core => &self.core_out,
                Source::Undoubled => &self.undoubled,
            };
            buffer
                .get(start..end)
                .and_then(|b| std::str::from_utf8(b).ok())
                .unwrap_or_default()
        })
    }

    /// How many cells the last record read has.
    pub(super) fn len(&self) -> usize {
        self.cells.len()
    }
}

/// Line breaks in `bytes`: CRLF, LF or a lone CR. (For the few bytes between two records.)
fn line_breaks(bytes: &[u8]) -> usize {
    let mut breaks = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')) {
            breaks += 1;
        }
    }
    breaks
}
