//! Delimited text: CSV as Excel and others save it, and Excel's "Unicode text".
//!
//! The encoding comes from the byte-order mark (UTF-8, UTF-16 LE/BE), else UTF-8 if the bytes
//! are valid UTF-8, else Windows-1252 (what Excel on Windows writes for "CSV (Comma
//! delimited)"). The delimiter (comma, semicolon or tab) is the one under which the header
//! row matches the most template columns; on a tie, the one that splits the first rows into
//! the most fields. Excel's `sep=;` first line is obeyed. Records are read with the csv crate
//! (see `records`); a cell is copied only when it goes into a user's row.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, UTF_8, WINDOWS_1252};

use serde::{Deserialize, Serialize};

use super::records::{Cut, Records};
use super::table::{Assembler, Ended, Header, Mode, Row, HEADER_WINDOW};
use super::{ImportError, ImportedRow, Limits, Question, Reading, Sheet, COLUMNS};
use crate::format::undefuse;

const DELIMITERS: [u8; 3] = [b',', b';', b'\t'];

/// Reads delimited text. This and the steps it takes once a file (decoding, choosing the
/// delimiter, the loop over the records) are functions of their own (see the `import`
/// module's documentation).
#[inline(never)]
pub(super) fn parse(
    bytes: &[u8],
    kind: &'static str,
    limits: &Limits,
    mode: Mode,
) -> Result<Reading, ImportError> {
    let (text, encoding) = decode(bytes);
    if looks_binary(&text) {
        return Err(ImportError::NotText);
    }
    let (body, delimiter) = body_and_delimiter(&text, kind);
    ended(
        read(body, delimiter, limits.max_rows, mode)?,
        kind,
        encoding,
        delimiter,
    )
}

/// [`parse`], stopped at the first record boundary at or after byte `mid` of the file when
/// the file is UTF-8 (read in place) and the boundary falls on a line feed outside quotes: the
/// rest is then read by another worker at the same time ([`read_rest`]) and joined
/// ([`FirstPart::join`]). A file that cannot be cut there is read whole.
#[inline(never)]
pub(super) fn parse_first(
    bytes: &[u8],
    kind: &'static str,
    limits: &Limits,
    mode: Mode,
    mid: usize,
) -> Result<Parted, ImportError> {
    let (text, encoding) = decode(bytes);
    if looks_binary(&text) {
        return Err(ImportError::NotText);
    }
    let (body, delimiter) = body_and_delimiter(&text, kind);
    // The other worker reads the file's own bytes from the cut on: only text that is those
    // bytes can be cut. `body` starts `start` bytes into the file (a byte-order mark, a
    // `sep=` line).
    let start = (body.as_ptr() as usize).wrapping_sub(bytes.as_ptr() as usize);
    let cut = match &text {
        Cow::Borrowed(_) => cut_point(bytes, mid).filter(|at| *at > start),
        Cow::Owned(_) => None,
    };
    let Some(at) = cut else {
        return Ok(Parted::Whole(ended(
            read(body, delimiter, limits.max_rows, mode)?,
            kind,
            encoding,
            delimiter,
        )?));
    };
    let mut records = Records::new(body, delimiter);
    let mut assembler = Assembler::with_mode(limits.max_rows, mode);
    match read_to(&mut records, &mut assembler, at - start)? {
        Some(rows_above) => Ok(Parted::First(FirstPart {
            assembler,
            rows_above,
            at,
            delimiter,
            kind,
            encoding,
        })),
        None => Ok(Parted::Whole(ended(
            assembler.end()?,
            kind,
            encoding,
            delimiter,
        )?)),
    }
}

/// Where a file may be cut for two workers: just after the first line feed at or after byte
/// `mid`, if something follows it. Not before a byte-order mark: the csv crate drops one at
/// the very start of its text (csv-core's `strip_utf8_bom`), so the rest would be read
/// otherwise than whole.
pub(super) fn cut_point(bytes: &[u8], mid: usize) -> Option<usize> {
    let from = bytes.get(mid..)?;
    let at = mid + memchr::memchr(b'\n', from)? + 1;
    let rest = bytes.get(at..)?;
    (!rest.is_empty() && !rest.starts_with(b"\xEF\xBB\xBF")).then_some(at)
}

/// A file read whole ([`parse_first`]), or its first part.
pub(crate) enum Parted {
    Whole(Reading),
    First(FirstPart),
}

/// The first part of a text file, read up to a cut ([`parse_first`]), waiting for the rest.
pub(crate) struct FirstPart {
    assembler: Assembler,
    /// The rows down to the cut (the rest's rows are numbered on from it).
    rows_above: usize,
    /// The cut: where the rest begins, in bytes from the start of the file.
    at: usize,
    delimiter: u8,
    kind: &'static str,
    encoding: &'static str,
}

/// The rest of a text file from a cut, read by another worker ([`read_rest`]), with what it
/// took from the file's first rows to read it: the first part joins it only if they are
/// its own ([`FirstPart::join`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rest {
    /// The cut, in bytes from the start of the file.
    pub at: usize,
    pub delimiter: u8,
    /// The header row's number, and for each of `COLUMNS` the file's column that fills it.
    pub header_line: usize,
    pub columns: Vec<Option<usize>>,
    /// The users' rows, numbered from the cut (the first row after it is 1).
    #[serde(skip)]
    pub rows: Vec<ImportedRow>,
    /// The rows with values only in columns not read, numbered the same way.
    pub strays: Vec<usize>,
}

impl FirstPart {
    /// The whole file: the first part joined to `rest` if it was read with this part's
    /// delimiter and header from this part's cut, else the rest read here from `bytes` (the
    /// file's, the same as the first part's). Also how many of the users' rows, the last ones,
    /// are `rest`'s (0 if it was not joined).
    #[inline(never)]
    pub(crate) fn join(
        mut self,
        rest: Option<Rest>,
        bytes: &[u8],
    ) -> Result<(Reading, usize), ImportError> {
        let fits = |rest: &Rest| {
            self.assembler.header().is_some_and(|h| {
                h.line == rest.header_line && h.fields.as_slice() == rest.columns.as_slice()
            }) && rest.at == self.at
                && rest.delimiter == self.delimiter
        };
        let joined = match rest.filter(fits) {
            Some(rest) => {
                let count = rest.rows.len();
                let above = self.rows_above;
                let mut strays = rest.strays.into_iter().peekable();
                for row in rest.rows {
                    while let Some(line) = strays.next_if(|line| *line < row.line) {
                        self.assembler.push_read(above + line, None)?;
                    }
                    self.assembler.push_read(above + row.line, Some(row.raw))?;
                }
                for line in strays {
                    self.assembler.push_read(above + line, None)?;
                }
                count
            }
            None => {
                // The same bytes the first part read as UTF-8: the rest is UTF-8 too.
                let text = bytes
                    .get(self.at..)
                    .and_then(|b| std::str::from_utf8(b).ok())
                    .ok_or(ImportError::NotText)?;
                let mut records = Records::below(text, self.delimiter, self.rows_above);
                read_all(&mut records, &mut self.assembler)?;
                0
            }
        };
        let reading = ended(
            self.assembler.end()?,
            self.kind,
            self.encoding,
            self.delimiter,
        )?;
        Ok((reading, joined))
    }
}

/// The other worker's part ([`parse_first`]): the rows of the file from the cut after byte
/// `mid`, read with the delimiter and header found in `head` (the file's first bytes). `None`
/// where the file would not be cut, or the rest cannot be read on its own (the first part
/// then reads it).
#[inline(never)]
pub(super) fn read_rest(
    head: &[u8],
    from_mid: &[u8],
    mid: usize,
    kind: &'static str,
    limits: &Limits,
    mode: Mode,
) -> Option<Rest> {
    // The head as `decode` reads the file: UTF-8, with or without its byte-order mark.
    let head = match Encoding::for_bom(head) {
        Some((encoding, bom_len)) if encoding == UTF_8 => head.get(bom_len..)?,
        Some(_) => return None,
        None if sniff_utf16(head).is_some() => return None,
        None => head,
    };
    let head = match std::str::from_utf8(head) {
        Ok(text) => text,
        // Cut inside a character at its end.
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&head[..e.valid_up_to()]).ok()?,
        Err(_) => return None,
    };
    if looks_binary(head) {
        return None;
    }
    let (body, delimiter) = body_and_delimiter(head, kind);
    // Whole lines only: the last one may be cut.
    let body = &body[..body.rfind('\n').map_or(0, |i| i + 1)];
    let mut records = Records::new(body, delimiter);
    let mut assembler = Assembler::with_mode(limits.max_rows, mode);
    let mut cells = Vec::with_capacity(COLUMNS.len());
    while !assembler.header_found()
        && !assembler.is_asking()
        && read_row(&mut records, &mut cells, &mut assembler).ok()?
    {}
    let header = assembler.settle_header().ok()??;
    let (header_line, columns) = (header.line, header.fields.to_vec());

    let cut = cut_point(from_mid, 0)?;
    let text = std::str::from_utf8(from_mid.get(cut..)?).ok()?;
    let mut records = Records::new(text, delimiter);
    let mut assembler = Assembler::for_rest(limits.max_rows, &columns);
    read_all(&mut records, &mut assembler).ok()?;
    let (rows, strays) = assembler.into_rest();
    Some(Rest {
        at: mid + cut,
        delimiter,
        header_line,
        columns,
        rows,
        strays,
    })
}

/// The text's body (after an Excel `sep=` line) and its delimiter: the declared one, or the
/// one chosen from its first rows.
fn body_and_delimiter<'t>(text: &'t str, kind: &str) -> (&'t str, u8) {
    let (body, declared) = strip_sep_line(text);
    let delimiter = match declared {
        Some(d) => d,
        None => choose_delimiter(body, kind),
    };
    (body, delimiter)
}

/// What reading the records came to, as the file's reading.
fn ended(ended: Ended, kind: &str, encoding: &str, delimiter: u8) -> Result<Reading, ImportError> {
    let table = match ended {
        Ended::Table(table) => table,
        Ended::Ask(question) => return Ok(Reading::Ask(Question::Columns(question))),
    };
    let separated = match delimiter {
        b',' => "comma-separated".to_string(),
        b';' => "semicolon-separated".to_string(),
        b'\t' => "tab-separated".to_string(),
        other => format!("separated by “{}”", char::from(other)),
    };
    Ok(Reading::Read(Sheet {
        format: format!("{kind}, {encoding}, {separated}"),
        rows: table.rows,
        notices: table.notices,
    }))
}

/// The text and the name of its encoding (a function of its own: see `parse`).
#[inline(never)]
pub(super) fn decode(bytes: &[u8]) -> (Cow<'_, str>, &'static str) {
    if let Some((encoding, bom_len)) = Encoding::for_bom(bytes) {
        let rest = bytes.get(bom_len..).unwrap_or_default();
        let (text, _) = encoding.decode_without_bom_handling(rest);
        return (text, encoding_name(encoding, true));
    }
    if let Some(encoding) = sniff_utf16(bytes) {
        let (text, _) = encoding.decode_without_bom_handling(bytes);
        return (text, encoding_name(encoding, false));
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => (Cow::Borrowed(text), "UTF-8"),
        Err(_) => {
            let (text, _) = WINDOWS_1252.decode_without_bom_handling(bytes);
            (text, "Windows-1252")
        }
    }
}

fn encoding_name(encoding: &'static Encoding, bom: bool) -> &'static str {
    if encoding == UTF_8 {
        if bom {
            "UTF-8 with BOM"
        } else {
            "UTF-8"
        }
    } else if encoding == UTF_16LE {
        "UTF-16 LE"
    } else if encoding == UTF_16BE {
        "UTF-16 BE"
    } else {
        encoding.name()
    }
}

/// UTF-16 without a byte-order mark: in text that is mostly ASCII, every other byte is zero.
fn sniff_utf16(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(1024)];
    if head.len() < 4 || !head.len().is_multiple_of(2) {
        return None;
    }
    let pairs = head.len() / 2;
    let zero_even = head.iter().step_by(2).filter(|&&b| b == 0).count();
    let zero_odd = head.iter().skip(1).step_by(2).filter(|&&b| b == 0).count();
    if zero_odd * 10 >= pairs * 9 && zero_even * 10 <= pairs {
        Some(UTF_16LE)
    } else if zero_even * 10 >= pairs * 9 && zero_odd * 10 <= pairs {
        Some(UTF_16BE)
    } else {
        None
    }
}

/// Binary data read as text: a NUL, or many control characters, near the start.
fn looks_binary(text: &str) -> bool {
    let mut chars = 0usize;
    let mut control = 0usize;
    for c in text.chars().take(8192) {
        chars += 1;
        if c == '\0' {
            return true;
        }
        if c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\u{0C}') {
            control += 1;
        }
    }
    control * 20 > chars
}

/// Excel's `sep=;` first line: the delimiter, and the text after that line (Excel does not
/// show it as a row).
fn strip_sep_line(text: &str) -> (&str, Option<u8>) {
    let Some(rest) = text
        .strip_prefix("sep=")
        .or_else(|| text.strip_prefix("SEP="))
    else {
        return (text, None);
    };
    let mut chars = rest.chars();
    let (Some(d), after) = (chars.next(), chars.as_str()) else {
        return (text, None);
    };
    let after = after.trim_start_matches([' ', '"']);
    let body = if let Some(b) = after.strip_prefix("\r\n") {
        b
    } else if let Some(b) = after.strip_prefix(['\n', '\r']) {
        b
    } else if after.is_empty() {
        after
    } else {
        return (text, None);
    };
    match u8::try_from(d) {
        Ok(d) if d.is_ascii() && !matches!(d, b'"' | b'\r' | b'\n') => (body, Some(d)),
        _ => (text, None),
    }
}

/// The delimiter under which the first rows have the best header (a function of its own: see
/// `parse`).
#[inline(never)]
fn choose_delimiter(text: &str, kind: &str) -> u8 {
    let mut order = DELIMITERS;
    if kind != "CSV" {
        // "Text" (.txt, .tsv): Excel's "Unicode text" and "Text (Tab delimited)".
        order = [b'\t', b',', b';'];
    }
    let mut best: Option<(usize, usize, u8)> = None;
    for delimiter in order {
        let mut records = Records::new(text, delimiter);
        let mut score = 0;
        let mut fields = 0;
        let mut rows = 0;
        while rows < HEADER_WINDOW {
            if records.advance().is_none() {
                break;
            }
            let cells: Vec<(usize, Cow<'_, str>)> = records
                .cells()
                .enumerate()
                .map(|(i, f)| (i, Cow::Borrowed(f.trim())))
                .filter(|(_, f)| !f.is_empty())
                .collect();
            // Counted on blank rows too: ",,," is a blank row of four fields, not a cell.
            fields = fields.max(records.len());
            if cells.is_empty() {
                continue;
            }
            rows += 1;
            score = score.max(Header::match_row(0, &cells).fields.iter().flatten().count());
        }
        if best.is_none_or(|(s, f, _)| (score, fields) > (s, f)) {
            best = Some((score, fields, delimiter));
        }
    }
    best.map_or(b',', |(_, _, d)| d)
}

/// Reads every record into the assembler (only the first few when it asks the officer). A
/// small function of its own (see `parse`): the loop that runs once a file, each row a call.
#[inline(never)]
fn read(text: &str, delimiter: u8, max_rows: usize, mode: Mode) -> Result<Ended, ImportError> {
    let mut records = Records::new(text, delimiter);
    let mut assembler = Assembler::with_mode(max_rows, mode);
    read_all(&mut records, &mut assembler)?;
    assembler.end()
}

/// Reads the records left into the assembler (until it asks the officer).
#[inline(never)]
fn read_all(records: &mut Records<'_>, assembler: &mut Assembler) -> Result<(), ImportError> {
    let mut cells = Vec::with_capacity(COLUMNS.len());
    while read_row(records, &mut cells, assembler)? && !assembler.is_asking() {}
    Ok(())
}

/// Reads records into the assembler up to the cut `at` (a byte of the text just after a line
/// feed): the rows above the rest ([`Cut::At`]) once the records before it are read and the
/// header is found; `None` once every record is read (the cut was inside a quoted cell, or
/// the assembler asks the officer).
#[inline(never)]
fn read_to(
    records: &mut Records<'_>,
    assembler: &mut Assembler,
    at: usize,
) -> Result<Option<usize>, ImportError> {
    let mut cells = Vec::with_capacity(COLUMNS.len());
    while read_row(records, &mut cells, assembler)? && !assembler.is_asking() {
        match records.cut(at) {
            Cut::Before => {}
            Cut::At(rows_above) if assembler.header_found() => return Ok(Some(rows_above)),
            Cut::At(_) | Cut::Across => {
                read_all(records, assembler)?;
                return Ok(None);
            }
        }
    }
    Ok(None)
}

/// Reads the next record into the assembler; `false` at the end of the text. `cells` is
/// room for a row's cells, kept from row to row. A call once a row, so that it runs optimised
/// from the first file on (see the `import` module's documentation).
#[inline(never)]
fn read_row(
    records: &mut Records<'_>,
    cells: &mut Vec<(usize, Cow<'static, str>)>,
    assembler: &mut Assembler,
) -> Result<bool, ImportError> {
    let Some(line) = records.advance() else {
        return Ok(false);
    };
    // The row borrows the record's cells; its vector is `cells`, lent for the row.
    let mut row = Row {
        line,
        cells: reuse(std::mem::take(cells)),
        other_data: false,
    };
    for (column, text) in records.cells().enumerate() {
        // A cell our own download defused ("'+65 …") reads back as typed.
        let text = undefuse(trim_str(text));
        if text.is_empty() {
            continue;
        }
        if assembler.keeps(column) {
            row.cells.push((column, Cow::Borrowed(text)));
        } else {
            row.other_data = true;
        }
    }
    let pushed = assembler.push(&mut row);
    *cells = reuse(row.cells);
    pushed?;
    Ok(true)
}

/// An empty vector of cells with the room of `cells`, for text of another lifetime (the
/// standard library collects an empty vector into the same allocation: no copy, no new room).
fn reuse<'b>(mut cells: Vec<(usize, Cow<'_, str>)>) -> Vec<(usize, Cow<'b, str>)> {
    cells.clear();
    cells
        .into_iter()
        .map(|(column, _)| (column, Cow::Borrowed("")))
        .collect()
}

/// `str::trim`, quicker for the usual cell that starts and ends with a visible ASCII
/// character (nothing to trim).
fn trim_str(text: &str) -> &str {
    let bytes = text.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) if first.is_ascii_graphic() && last.is_ascii_graphic() => text,
        _ => text.trim(),
    }
}
