//! Delimited text: CSV as Excel and others save it, and Excel's "Unicode text".
//!
//! The encoding comes from the byte-order mark (UTF-8, UTF-16 LE/BE), else UTF-8 if the bytes
//! are valid UTF-8, else Windows-1252 (what Excel on Windows writes for "CSV (Comma
//! delimited)"). The delimiter (comma, semicolon or tab) is the one under which the header
//! row matches the most template columns; on a tie, the one that splits the first rows into
//! the most fields. Excel's `sep=;` first line is obeyed.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, UTF_8, WINDOWS_1252};

use super::table::{Assembler, Header, Row, HEADER_WINDOW};
use super::{ImportError, Limits, Sheet, COLUMNS};

const DELIMITERS: [u8; 3] = [b',', b';', b'\t'];

pub(super) fn parse(bytes: &[u8], kind: &str, limits: &Limits) -> Result<Sheet, ImportError> {
    let (text, encoding) = decode(bytes);
    if looks_binary(&text) {
        return Err(ImportError::NotText);
    }
    let (text, declared) = strip_sep_line(&text);
    let delimiter = match declared {
        Some(d) => d,
        None => choose_delimiter(text, kind),
    };
    let table = read(text, delimiter, limits.max_rows)?;
    let separated = match delimiter {
        b',' => "comma-separated".to_string(),
        b';' => "semicolon-separated".to_string(),
        b'\t' => "tab-separated".to_string(),
        other => format!("separated by “{}”", char::from(other)),
    };
    Ok(Sheet {
        format: format!("{kind}, {encoding}, {separated}"),
        rows: table.rows,
        notices: table.notices,
    })
}

/// The text and the name of its encoding.
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

fn reader(text: &str, delimiter: u8) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes())
}

/// The delimiter under which the first rows have the best header.
fn choose_delimiter(text: &str, kind: &str) -> u8 {
    let mut order = DELIMITERS;
    if kind != "CSV" {
        // "Text" (.txt, .tsv): Excel's "Unicode text" and "Text (Tab delimited)".
        order = [b'\t', b',', b';'];
    }
    let mut best: Option<(usize, usize, u8)> = None;
    for delimiter in order {
        let mut reader = reader(text, delimiter);
        let mut record = csv::ByteRecord::new();
        let mut score = 0;
        let mut fields = 0;
        let mut rows = 0;
        while rows < HEADER_WINDOW {
            match reader.read_byte_record(&mut record) {
                Ok(true) => {}
                Ok(false) | Err(_) => break,
            }
            let cells: Vec<(usize, String)> = record
                .iter()
                .enumerate()
                .map(|(i, f)| (i, String::from_utf8_lossy(f).trim().to_string()))
                .filter(|(_, f)| !f.is_empty())
                .collect();
            // Counted on blank rows too: ",,," is a blank row of four fields, not a cell.
            fields = fields.max(record.len());
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

/// Reads every record into the assembler.
fn read(text: &str, delimiter: u8, max_rows: usize) -> Result<super::table::Table, ImportError> {
    let mut reader = reader(text, delimiter);
    // StringRecord: each record's UTF-8 is checked once, as a whole (it always passes: the
    // text is UTF-8 and the csv crate splits it at ASCII bytes).
    let mut record = csv::StringRecord::new();
    let mut assembler = Assembler::new(max_rows);
    // The row a user sees is 1 + the line breaks before the record, less those inside quoted
    // cells. The csv crate counts every LF it reads, but a record's position is where the
    // reader began, before the blank lines it skipped; and it does not count a lone CR (old
    // Mac line ends) at all. So: its count plus the LFs skipped, unless the text has a lone
    // CR, when every byte is counted here.
    let bytes = text.as_bytes();
    let lone_cr = memchr::memchr_iter(b'\r', bytes).any(|i| bytes.get(i + 1) != Some(&b'\n'));
    let mut counted_to = 0usize;
    let mut breaks = 0usize;
    let mut embedded_breaks = 0usize;
    let mut previous = 0usize;
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(_) => return Err(ImportError::NotText),
        }
        let line = match record.position() {
            Some(position) => {
                // The position is where the reader began: before any blank lines it skipped.
                let from = usize::try_from(position.byte()).unwrap_or(usize::MAX);
                let start = bytes
                    .get(from..)
                    .map_or(bytes.len(), |rest| {
                        from + rest
                            .iter()
                            .take_while(|b| matches!(b, b'\r' | b'\n'))
                            .count()
                    })
                    .max(counted_to);
                if lone_cr {
                    breaks += line_breaks(bytes.get(counted_to..start).unwrap_or_default());
                } else {
                    let skipped = bytes.get(from..start).unwrap_or_default();
                    breaks = usize::try_from(position.line().saturating_sub(1))
                        .unwrap_or(usize::MAX)
                        .saturating_add(memchr::memchr_iter(b'\n', skipped).count());
                }
                counted_to = start;
                (1 + breaks).saturating_sub(embedded_breaks)
            }
            None => previous + 1,
        }
        .max(previous + 1);
        previous = line;
        embedded_breaks += if lone_cr {
            // Field by field: a CR ending one cell and an LF starting the next are two breaks.
            record.iter().map(|f| line_breaks(f.as_bytes())).sum()
        } else {
            memchr::memchr_iter(b'\n', record.as_slice().as_bytes()).count()
        };
        let mut row = Row {
            line,
            cells: Vec::with_capacity(record.len().min(COLUMNS.len())),
            ..Row::default()
        };
        for (column, text) in record.iter().enumerate() {
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            if assembler.keeps(column) {
                row.cells.push((column, text.to_string()));
            } else {
                row.other_data = true;
            }
        }
        assembler.push(row)?;
    }
    assembler.finish()
}

/// Line breaks in `bytes`: CRLF, LF or a lone CR. (Every byte of the file passes through here,
/// so it uses memchr's word-at-a-time search rather than a byte loop.)
fn line_breaks(bytes: &[u8]) -> usize {
    let lf = memchr::memchr_iter(b'\n', bytes).count();
    let lone_cr = memchr::memchr_iter(b'\r', bytes)
        .filter(|&i| bytes.get(i + 1) != Some(&b'\n'))
        .count();
    lf + lone_cr
}
