//! The records of delimited text, read with the csv crate (a one-byte delimiter, `"` quotes
//! doubled inside quoted cells, CR, LF or CRLF line ends, ragged rows allowed), and the row
//! number a spreadsheet shows for each.

/// Reads records one at a time.
pub(super) struct Records<'a> {
    text: &'a [u8],
    reader: csv::Reader<&'a [u8]>,
    record: csv::ByteRecord,
    /// The row number of the last record read (0 before the first).
    line: usize,
    /// Where the reader stopped after the last record: just past the first byte of the
    /// line break that ended it.
    after: usize,
}

impl<'a> Records<'a> {
    /// `delimiter` must be an ASCII byte other than `"`, CR and LF.
    pub(super) fn new(text: &'a str, delimiter: u8) -> Self {
        let reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        Records {
            text: text.as_bytes(),
            reader,
            record: csv::ByteRecord::new(),
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
    /// one (the csv crate's own line count is of LFs only, and a record's position is where
    /// the reader began, before the blank lines it skipped).
    #[inline(never)]
    pub(super) fn advance(&mut self) -> Option<usize> {
        // Reading a `&[u8]` cannot fail, and every record is valid without headers and with
        // ragged rows allowed: an error can only end the text.
        if !self
            .reader
            .read_byte_record(&mut self.record)
            .unwrap_or(false)
        {
            return None;
        }
        let from = self
            .record
            .position()
            .and_then(|p| usize::try_from(p.byte()).ok())
            .unwrap_or(self.after)
            .max(self.after);
        let rest = self.text.get(from..).unwrap_or_default();
        let start = from
            + rest
                .iter()
                .take_while(|b| matches!(b, b'\r' | b'\n'))
                .count();
        let gap = self
            .text
            .get(self.after.saturating_sub(1)..start)
            .unwrap_or_default();
        self.line = if self.line == 0 {
            1 + line_breaks(gap)
        } else {
            // At least one: a record ends at a line break.
            self.line + line_breaks(gap).max(1)
        };
        self.after = usize::try_from(self.reader.position().byte()).unwrap_or(usize::MAX);
        Some(self.line)
    }

    /// The cells of the last record read. The text is UTF-8 and the csv crate cuts it only at
    /// ASCII bytes (delimiters, quotes, line ends), so the cells are UTF-8: checked once a
    /// record, not once a cell.
    pub(super) fn cells(&self) -> impl Iterator<Item = &str> + '_ {
        let all = std::str::from_utf8(self.record.as_slice()).unwrap_or_default();
        (0..self.record.len()).map(move |i| {
            self.record
                .range(i)
                .and_then(|r| all.get(r))
                .unwrap_or_default()
        })
    }

    /// How many cells the last record read has.
    pub(super) fn len(&self) -> usize {
        self.record.len()
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
