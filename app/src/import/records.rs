//! The records of delimited text as the csv crate reads them (a one-byte delimiter, `"`
//! quotes doubled inside quoted cells, CR, LF or CRLF line ends, ragged rows allowed), and the
//! row number a spreadsheet shows for each.
//!
//! A record without a quote is most of any file: its cells are cut straight out of the text
//! at the delimiter, found with memchr (the bundle's SIMD), and borrowed, not copied. A record
//! with a quote goes through csv-core, the csv crate's own reader, which unquotes its cells
//! into a buffer. Natively the first is about 2.5× quicker over the 100,000-row bench file.
//! A property test holds the two to the csv crate's records and row numbers on random text.

use csv_core::ReadRecordResult;

/// A UTF-8 byte-order mark: csv-core drops one at the very start of its text.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Reads records one at a time.
pub(super) struct Records<'a> {
    text: &'a str,
    delimiter: u8,
    /// For records with a quote.
    core: csv_core::Reader,
    /// A quoted record's cells, unquoted, and where each ends in it.
    unquoted: Vec<u8>,
    ends: Vec<usize>,
    /// The last record's cells: byte ranges of `text`, or (`in_unquoted`) of `unquoted`.
    cells: Vec<(usize, usize)>,
    in_unquoted: bool,
    /// The row number of the last record read (0 before the first).
    line: usize,
    /// Where the reader stopped after the last record: just past the first byte of the
    /// line break that ended it.
    after: usize,
}

impl<'a> Records<'a> {
    /// `delimiter` must be an ASCII byte other than `"`, CR and LF.
    pub(super) fn new(text: &'a str, delimiter: u8) -> Self {
        let mut core = csv_core::ReaderBuilder::new().delimiter(delimiter).build();
        // csv-core drops a byte-order mark only on its first read, wherever that starts: a
        // blank line read first (which leaves it where it was, at the start of a record)
        // makes that read not one of the text's. The mark at the start of the text is
        // dropped in `advance`.
        let _ = core.read_record(b"\n", &mut [], &mut []);
        Records {
            text,
            delimiter,
            core,
            unquoted: vec![0; 1024],
            ends: vec![0; 32],
            cells: Vec::with_capacity(16),
            in_unquoted: false,
            line: 0,
            after: 0,
        }
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
        let rest = bytes.get(begin..).unwrap_or_default();
        let end = memchr::memchr2(b'\r', b'\n', rest).map_or(bytes.len(), |i| begin + i);
        let record = bytes.get(begin..end).unwrap_or_default();
        self.cells.clear();
        if memchr::memchr(b'"', record).is_none() {
            let mut cell = begin;
            for at in memchr::memchr_iter(self.delimiter, record) {
                self.cells.push((cell, begin + at));
                cell = begin + at + 1;
            }
            self.cells.push((cell, end));
            self.in_unquoted = false;
            self.after = (end + 1).min(bytes.len());
        } else {
            self.after = begin + self.read_quoted(rest)?;
            self.in_unquoted = true;
        }
        let gap = bytes.get(from.saturating_sub(1)..begin).unwrap_or_default();
        self.line = if self.line == 0 {
            1 + line_breaks(gap)
        } else {
            // At least one: a record ends at a line break.
            self.line + line_breaks(gap).max(1)
        };
        Some(self.line)
    }

    /// Reads the record at the start of `input` (which holds a quote) with csv-core: its cells
    /// into `unquoted`, their ranges into `cells`. Returns the bytes it took (to just past
    /// the first byte of the line break that ended it); `None` if there is no record.
    fn read_quoted(&mut self, mut input: &[u8]) -> Option<usize> {
        let (mut taken, mut out, mut ends) = (0, 0, 0);
        loop {
            let (result, nin, nout, nend) = self.core.read_record(
                input,
                self.unquoted.get_mut(out..).unwrap_or_default(),
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
                    let len = self.unquoted.len();
                    self.unquoted.resize(len * 2, 0);
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
            self.cells.push((cell, end));
            cell = end;
        }
        Some(taken)
    }

    /// The cells of the last record read. The text is UTF-8 and cut only at ASCII bytes
    /// (delimiters, quotes, line ends), so the cells are UTF-8: a quoted record's are checked
    /// once a record, not once a cell.
    pub(super) fn cells(&self) -> impl Iterator<Item = &str> + '_ {
        let source = if self.in_unquoted {
            let used = self.cells.last().map_or(0, |c| c.1);
            std::str::from_utf8(self.unquoted.get(..used).unwrap_or_default()).unwrap_or_default()
        } else {
            self.text
        };
        self.cells
            .iter()
            .map(move |&(start, end)| source.get(start..end).unwrap_or_default())
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
