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

use super::records::{Position, Records};
use super::table::{Assembler, Ended, Header, Mode, Row, HEADER_WINDOW};
use super::{ImportError, Limits, Question, Reading, Sheet, COLUMNS};
use crate::format::undefuse;

const DELIMITERS: [u8; 3] = [b',', b';', b'\t'];

/// Reads delimited text. This and the steps it takes once a file (decoding, choosing the
/// delimiter, the loop over the records) are functions of their own (see the `import`
/// module's documentation).
#[inline(never)]
pub(super) fn parse(
    bytes: &[u8],
    kind: &str,
    limits: &Limits,
    mode: Mode,
) -> Result<Reading, ImportError> {
    let (text, encoding) = decode(bytes);
    // (Never `None` for a whole text.)
    let (skip, delimiter) = layout(&text, kind, false)?.unwrap_or((0, b','));
    let text = text.get(skip..).unwrap_or_default();
    let mut assembler = Assembler::with_mode(limits.max_rows, mode);
    read(text, delimiter, Position::default(), false, &mut assembler)?;
    reading(assembler.end()?, kind, encoding, delimiter)
}

/// The steps from the decoded text to its records, the same for a whole file ([`parse`]) and
/// for the start of one still arriving ([`start`], with `more`): binary data is refused, a
/// `sep=` line is obeyed, the delimiter is chosen. The bytes of text before the records (the
/// `sep=` line) and the delimiter; `None`, with `more`, when the start does not tell yet (a
/// `sep=` line or the delimiter's rows that may go on).
fn layout(text: &str, kind: &str, more: bool) -> Result<Option<(usize, u8)>, ImportError> {
    if looks_binary(text) {
        return Err(ImportError::NotText);
    }
    let (body, declared) = strip_sep_line(text);
    // A `sep=` line that may go on (its line break not yet come, or a CR that may be a CRLF).
    if more && declared.is_some() && body.is_empty() {
        return Ok(None);
    }
    let delimiter = match declared {
        Some(d) => d,
        None => match choose_delimiter(body, kind, more) {
            Some(d) => d,
            None => return Ok(None),
        },
    };
    Ok(Some((text.len() - body.len(), delimiter)))
}

/// What the records read came to, as [`parse`] gives it: `kind`, `encoding` and `delimiter`
/// name the format.
pub(super) fn reading(
    ended: Ended,
    kind: &str,
    encoding: &str,
    delimiter: u8,
) -> Result<Reading, ImportError> {
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

/// The bytes [`start`] waits for (see there).
const START_MIN_BYTES: usize = 32 << 10;

/// How the start of a file still arriving says to read it ([`start`]).
pub(super) enum Start {
    /// As UTF-8 text from `base` (past a byte-order mark and a `sep=` line), with `delimiter`;
    /// or refused at once (`refused`: binary data).
    Text {
        base: usize,
        encoding: &'static str,
        delimiter: u8,
        refused: Option<ImportError>,
    },
    /// More of the file is needed to tell.
    Wait,
    /// Not UTF-8 text: read whole once it has all come.
    Whole,
}

/// How [`parse`] would read a file of `kind` that starts with `bytes`, as far as they tell
/// (`more`: more is to come; without it, `bytes` are the whole file and the answer is never
/// `Wait`): the same steps, each taken only once the bytes it looks at are there.
pub(super) fn start(bytes: &[u8], kind: &str, more: bool) -> Start {
    // The steps before the delimiter's look at the first 1,024 bytes (the UTF-16 sniff) and
    // the first 8,192 characters (the check for binary data): 32 KB hold them whatever the
    // characters.
    if more && bytes.len() < START_MIN_BYTES {
        return Start::Wait;
    }
    let base = match Encoding::for_bom(bytes) {
        Some((encoding, bom_len)) if encoding == UTF_8 => bom_len,
        Some(_) => return Start::Whole,
        None if sniff_utf16(bytes).is_some() => return Start::Whole,
        None => 0,
    };
    let encoding = encoding_name(UTF_8, base > 0);
    let Some(text) = bytes.get(base..).and_then(|b| utf8_prefix(b, more)) else {
        return Start::Whole;
    };
    match layout(text, kind, more) {
        Ok(Some((skip, delimiter))) => Start::Text {
            base: base + skip,
            encoding,
            delimiter,
            refused: None,
        },
        Ok(None) => Start::Wait,
        Err(refused) => Start::Text {
            base,
            encoding,
            delimiter: b',',
            refused: Some(refused),
        },
    }
}

/// `bytes` as UTF-8 text; with `more` (more bytes are to come), the start of them up to a
/// character cut by their end. `None` if they are not UTF-8.
pub(super) fn utf8_prefix(bytes: &[u8], more: bool) -> Option<&str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Some(text),
        Err(e) if more && e.error_len().is_none() => {
            std::str::from_utf8(bytes.get(..e.valid_up_to())?).ok()
        }
        Err(_) => None,
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
/// `parse`). With `more`, `text` is the start of a longer text, and the answer is `None` when
/// the rows it looked at might read otherwise with more of it; without, it is never `None`.
#[inline(never)]
fn choose_delimiter(text: &str, kind: &str, more: bool) -> Option<u8> {
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
                if more {
                    return None;
                }
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
        if more && !records.ended_inside() {
            return None;
        }
        if best.is_none_or(|(s, f, _)| (score, fields) > (s, f)) {
            best = Some((score, fields, delimiter));
        }
    }
    best.map(|(_, _, d)| d)
}

/// Reads the records of `text` from `at` into the assembler, up to its end or until the
/// assembler asks the officer, and returns where it stopped. With `more`, `text` is the start
/// of a longer text (a file still arriving): the reading stops before a record that ends at
/// its end, which the rest may go on. A small function of its own (see `parse`): the loop
/// that runs once a file (or once a part of it), each row a call.
#[inline(never)]
pub(super) fn read(
    text: &str,
    delimiter: u8,
    at: Position,
    more: bool,
    assembler: &mut Assembler,
) -> Result<Position, ImportError> {
    let mut records = Records::resume(text, delimiter, at);
    let mut cells = Vec::with_capacity(COLUMNS.len());
    loop {
        let before = records.position();
        if !read_row(&mut records, &mut cells, assembler, more)? {
            return Ok(before);
        }
        if assembler.is_asking() {
            return Ok(records.position());
        }
    }
}

/// Reads the next record into the assembler; `false` at the end of the text (with `more`,
/// also at a record that ends there: see [`read`]). `cells` is room for a row's cells, kept
/// from row to row. A call once a row, so that it runs optimised from the first file on (see
/// the `import` module's documentation).
#[inline(never)]
fn read_row(
    records: &mut Records<'_>,
    cells: &mut Vec<(usize, Cow<'static, str>)>,
    assembler: &mut Assembler,
    more: bool,
) -> Result<bool, ImportError> {
    let Some(line) = records.advance() else {
        return Ok(false);
    };
    if more && !records.ended_inside() {
        return Ok(false);
    }
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
