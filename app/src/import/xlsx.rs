//! Excel workbooks (.xlsx, .xlsm): Office Open XML, a zip archive of XML parts.
//!
//! Before calamine opens the archive, its directory is checked here: the number of entries,
//! each entry's and the total unpacked size, each entry's compression ratio, and the number
//! of shared strings that `xl/sharedStrings.xml` declares (calamine reserves memory for that
//! many before reading one). The sizes checked are the ones the zip directory declares; the
//! zip crate (9.4) holds every entry to its declared size while unpacking it (reading past it
//! is an error, and the CRC is checked at the end), so an entry that lies about its size
//! fails instead of growing. Every part is also scanned for cell references that calamine's
//! unchecked arithmetic would overflow (see `check_references`).
//!
//! A worksheet is then read with calamine's streaming reader, one cell at a time: never as a
//! `Range`, which is allocated from the sheet's declared dimension (calamine issues #684 and
//! #693: a 1.5 KB file declaring `A1:XFD1048576` asks for hundreds of GB). Only the cells of
//! the matched columns are kept, and a value beyond the rows a file may use stops the reading.

use std::borrow::Cow;
use std::io::{Cursor, Read};

use calamine::{
    Cell, DataRef, ExcelDateTime, Reader, SheetType, SheetVisible, Xlsx, XlsxCellReader, XlsxError,
};
use quick_xml::events::{BytesStart, Event};
use zip::ZipArchive;

use super::table::{Assembler, Ended, Header, Mode, Row, Table, HEADER_WINDOW, MAX_HEADER_COLUMNS};
use super::{
    Choice, ColumnQuestion, ImportError, Limits, Question, Reading, ReferenceScan, Sheet,
    SheetSummary, COLUMNS, INSTRUCTIONS_SHEET,
};

/// How much of the start of an XML part is unpacked to read its first element.
const HEAD_BYTES: u64 = 64 * 1024;

/// Reads a workbook: a function of its own, as everything run once a file (see the `import`
/// module's documentation).
#[inline(never)]
pub(super) fn parse(
    bytes: &[u8],
    limits: &Limits,
    choice: Option<&Choice>,
    scan: ReferenceScan,
) -> Result<Reading, ImportError> {
    check_archive(bytes, limits, scan)?;
    let mut workbook: Xlsx<Cursor<&[u8]>> =
        Xlsx::new(Cursor::new(bytes)).map_err(|e| calamine_error(&e))?;

    // Worksheets in the workbook's order, visible ones first.
    let metadata = workbook.sheets_metadata();
    let mut sheets: Vec<String> = Vec::new();
    for visible in [true, false] {
        sheets.extend(
            metadata
                .iter()
                .filter(|s| s.typ == SheetType::WorkSheet)
                .filter(|s| (s.visible == SheetVisible::Visible) == visible)
                .map(|s| s.name.clone()),
        );
    }
    if sheets.is_empty() {
        return Err(ImportError::NoWorksheet);
    }
    if let Some(choice) = choice {
        if let Some(reading) = ask_or_read(&mut workbook, &sheets, limits, choice)? {
            return Ok(reading);
        }
    }

    let choose = sheets.len() > 1;
    let mut first_refusal: Option<ImportError> = None;
    for (index, name) in sheets.iter().enumerate() {
        match read_sheet(&mut workbook, name, limits, choose, Mode::Headers)? {
            Outcome::Read(table) => {
                let mut notices = Vec::new();
                if index > 0 {
                    let skipped: Vec<&str> =
                        sheets.iter().take(index).map(String::as_str).collect();
                    notices.push(format!(
                        "Read the sheet “{name}”: the sheet{} before it ({}) {} no Email address column",
                        if skipped.len() == 1 { "" } else { "s" },
                        skipped.join(", "),
                        if skipped.len() == 1 { "has" } else { "have" },
                    ));
                }
                notices.extend(table.notices);
                return Ok(Reading::Read(Sheet {
                    format: format!("Excel workbook (sheet “{name}”)"),
                    rows: table.rows,
                    notices,
                }));
            }
            Outcome::NotThisSheet(refusal) => {
                // Report what is wrong with the first sheet that has anything on it.
                let better = match (&first_refusal, &refusal) {
                    (None, _) => true,
                    (Some(ImportError::Empty), r) => *r != ImportError::Empty,
                    _ => false,
                };
                if better {
                    first_refusal = Some(refusal);
                }
            }
            // Only asked in `Mode::Ask`.
            Outcome::Ask(_) => {}
        }
    }
    Err(first_refusal.unwrap_or(ImportError::NoWorksheet))
}

/// When the officer may be asked: the chosen sheet, read; else the question which sheet
/// when more than one (the template's Instructions aside) has users on it; else the one
/// sheet with users, read (asking about its columns if need be). `None`: no sheet has
/// users, and the plain reading says why.
fn ask_or_read(
    workbook: &mut Xlsx<Cursor<&[u8]>>,
    sheets: &[String],
    limits: &Limits,
    choice: &Choice,
) -> Result<Option<Reading>, ImportError> {
    let mode = match &choice.mapping {
        Some(mapping) => Mode::Mapped(mapping.clone()),
        None => Mode::Ask,
    };
    if let Some(name) = &choice.sheet {
        if !sheets.contains(name) {
            return Err(ImportError::NoSuchSheet { name: name.clone() });
        }
        return read_chosen(workbook, name, limits, mode).map(Some);
    }
    let candidates: Vec<&String> = sheets
        .iter()
        .filter(|name| !is_instructions(name))
        .collect();
    if let [only] = candidates.as_slice() {
        // Nothing to choose (the template: Users and Instructions): read it at once.
        return read_chosen(workbook, only, limits, mode).map(Some);
    }
    let mut with_users = Vec::new();
    for name in candidates {
        if let Some(summary) = summarise(workbook, name)? {
            // A header and one user at least.
            if summary.rows >= 2 {
                with_users.push(summary);
            }
        }
    }
    match with_users.len() {
        0 => Ok(None),
        1 => read_chosen(workbook, &with_users[0].name, limits, mode).map(Some),
        _ => {
            let best = with_users.iter().map(|s| s.matched).max().unwrap_or(0);
            let suggested = with_users
                .iter()
                .position(|s| s.matched == best)
                .unwrap_or(0);
            Ok(Some(Reading::Ask(Question::Sheet {
                sheets: with_users,
                suggested,
            })))
        }
    }
}

/// The template's sheet of instructions, never read for users.
fn is_instructions(name: &str) -> bool {
    name.trim().eq_ignore_ascii_case(INSTRUCTIONS_SHEET)
}

/// Reads the sheet the officer chose (or the only one with users).
fn read_chosen(
    workbook: &mut Xlsx<Cursor<&[u8]>>,
    name: &str,
    limits: &Limits,
    mode: Mode,
) -> Result<Reading, ImportError> {
    match read_sheet(workbook, name, limits, false, mode)? {
        Outcome::Read(table) => Ok(Reading::Read(Sheet {
            format: format!("Excel workbook (sheet “{name}”)"),
            rows: table.rows,
            notices: table.notices,
        })),
        Outcome::Ask(mut question) => {
            question.sheet = Some(name.to_string());
            Ok(Reading::Ask(Question::Columns(question)))
        }
        // Only when choosing among sheets.
        Outcome::NotThisSheet(refusal) => Err(refusal),
    }
}

/// A sheet's first rows, for the sheet question: `None` for a sheet that is not a
/// worksheet's cells (a chart).
fn summarise(
    workbook: &mut Xlsx<Cursor<&[u8]>>,
    name: &str,
) -> Result<Option<SheetSummary>, ImportError> {
    let mut cells = match workbook.worksheet_cells_reader(name) {
        Ok(cells) => cells,
        Err(XlsxError::NotAWorksheet(_)) => return Ok(None),
        Err(e) => return Err(calamine_error(&e)),
    };
    let mut rows: Vec<Vec<(usize, Cow<'static, str>)>> = Vec::new();
    let mut current: Option<u32> = None;
    let mut more = false;
    while let Some(cell) = next_cell(&mut cells)? {
        let value = cell.get_value();
        let (r, c) = cell.get_position();
        if is_blank(value) || c as usize >= MAX_HEADER_COLUMNS {
            continue;
        }
        if current != Some(r) {
            if rows.len() == HEADER_WINDOW {
                more = true;
                break;
            }
            current = Some(r);
            rows.push(Vec::new());
        }
        if let Some(row) = rows.last_mut() {
            row.push((c as usize, Cow::Owned(cell_text(value))));
        }
    }
    let matched = rows
        .iter()
        .map(|cells| Header::match_row(0, cells).fields.iter().flatten().count())
        .max()
        .unwrap_or(0);
    Ok(Some(SheetSummary {
        name: name.to_string(),
        matched,
        rows: rows.len(),
        more,
    }))
}

enum Outcome {
    Read(Table),
    /// The officer must say which column is which.
    Ask(ColumnQuestion),
    /// The sheet has no email column (when there are other sheets to try): why it would be
    /// refused.
    NotThisSheet(ImportError),
}

/// Streams one worksheet into an assembler. With `choose`, gives up on the sheet as soon as
/// its header is known to lack the email column. A function of its own, run once a sheet
/// (see the `import` module's documentation).
#[inline(never)]
fn read_sheet(
    workbook: &mut Xlsx<Cursor<&[u8]>>,
    name: &str,
    limits: &Limits,
    choose: bool,
    mode: Mode,
) -> Result<Outcome, ImportError> {
    let mut cells = match workbook.worksheet_cells_reader(name) {
        Ok(cells) => cells,
        Err(XlsxError::NotAWorksheet(_)) if choose => {
            return Ok(Outcome::NotThisSheet(ImportError::Empty));
        }
        Err(e) => return Err(calamine_error(&e)),
    };
    let mut assembler = Assembler::with_mode(limits.max_rows, mode);
    let mut decided = !choose;
    let mut row = Row {
        cells: Vec::with_capacity(COLUMNS.len()),
        ..Row::default()
    };
    let mut current: Option<u32> = None;
    while let Some(cell) = next_cell(&mut cells)? {
        let (r, c) = cell.get_position();
        if current != Some(r) {
            if current.is_some() {
                assembler.push(&mut row)?;
                row.clear();
                if assembler.is_asking() {
                    break;
                }
                if !decided && assembler.header_found() {
                    decided = true;
                    if !assembler.header().is_some_and(|h| h.has("email")) {
                        return Ok(Outcome::NotThisSheet(refusal(assembler)));
                    }
                }
            }
            current = Some(r);
            row.line = (r as usize).saturating_add(1);
        }
        let value = cell.get_value();
        if is_blank(value) {
            continue;
        }
        assembler.check_row_number(row.line)?;
        let column = c as usize;
        if assembler.keeps(column) {
            row.cells.push((column, Cow::Owned(cell_text(value))));
        } else {
            row.other_data = true;
        }
    }
    drop(cells);
    if current.is_some() && !assembler.is_asking() {
        assembler.push(&mut row)?;
    }
    if !decided && !assembler.settle_header()?.is_some_and(|h| h.has("email")) {
        return Ok(Outcome::NotThisSheet(refusal(assembler)));
    }
    Ok(match assembler.end()? {
        Ended::Table(table) => Outcome::Read(table),
        Ended::Ask(question) => Outcome::Ask(question),
    })
}

/// The next cell of a sheet. A call once a cell, so that it runs optimised from the first
/// file on (see the `import` module's documentation).
#[inline(never)]
fn next_cell<'a>(
    cells: &mut XlsxCellReader<'a, Cursor<&[u8]>>,
) -> Result<Option<Cell<DataRef<'a>>>, ImportError> {
    cells.next_cell().map_err(|e| calamine_error(&e))
}

/// What finishing a sheet without an email column would say.
fn refusal(assembler: Assembler) -> ImportError {
    match assembler.finish() {
        Err(e) => e,
        // Unreachable (the email column is required), but never a panic.
        Ok(_) => ImportError::Empty,
    }
}

/// A cell that shows nothing.
fn is_blank(value: &DataRef<'_>) -> bool {
    match value {
        DataRef::Empty => true,
        DataRef::String(s) => s.trim().is_empty(),
        DataRef::SharedString(s) => s.trim().is_empty(),
        _ => false,
    }
}

/// A cell's text as the user sees it, trimmed: whole numbers without ".0" or an exponent,
/// other numbers to Excel's 15 significant digits, TRUE/FALSE, dates as YYYY-MM-DD, errors
/// as their text (#N/A).
pub(super) fn cell_text(value: &DataRef<'_>) -> String {
    match value {
        DataRef::Empty => String::new(),
        DataRef::String(s) => s.trim().to_string(),
        DataRef::SharedString(s) => s.trim().to_string(),
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) => number_text(*f),
        DataRef::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        DataRef::DateTime(d) => date_text(d),
        DataRef::DateTimeIso(s) => iso_date_text(s.trim()),
        DataRef::DurationIso(s) => s.trim().to_string(),
        DataRef::Error(e) => e.to_string(),
    }
}

/// 91234567.0 → "91234567", 6591234567.0 → "6591234567", 0.30000000000000004 → "0.3".
pub(super) fn number_text(n: f64) -> String {
    if !n.is_finite() {
        return n.to_string();
    }
    if n == 0.0 {
        return "0".into();
    }
    // Whole numbers that f64 holds exactly (up to 2^53: every 15-digit number and most
    // 16-digit ones) are written digit for digit.
    if n.fract() == 0.0 && n.abs() <= 9_007_199_254_740_992.0 {
        return format!("{n:.0}");
    }
    // Otherwise what Excel shows: 15 significant digits. Rust never writes an exponent.
    let rounded: f64 = format!("{n:.14e}").parse().unwrap_or(n);
    format!("{rounded}")
}

/// A date as YYYY-MM-DD, with the time if it has one; a duration as [h]:mm:ss.
fn date_text(d: &ExcelDateTime) -> String {
    let serial = d.as_f64();
    if d.is_duration() {
        let seconds = (serial * 86_400.0).round();
        // `as` saturates: no overflow on absurd values.
        let total = seconds.abs() as u64;
        let sign = if seconds < 0.0 { "-" } else { "" };
        return format!(
            "{sign}{}:{:02}:{:02}",
            total / 3600,
            (total / 60) % 60,
            total % 60
        );
    }
    let (year, month, day, hour, minute, second, milli) = d.to_ymd_hms_milli();
    let has_time = hour != 0 || minute != 0 || second != 0 || milli != 0;
    if (0.0..1.0).contains(&serial) && has_time {
        format!("{hour:02}:{minute:02}:{second:02}")
    } else if has_time {
        format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}")
    } else {
        format!("{year:04}-{month:02}-{day:02}")
    }
}

/// "2024-01-31T00:00:00" → "2024-01-31"; another time is kept, after a space.
fn iso_date_text(s: &str) -> String {
    match s.split_once('T') {
        Some((date, time))
            if time
                .trim_end_matches('Z')
                .chars()
                .all(|c| matches!(c, '0' | ':' | '.')) =>
        {
            date.to_string()
        }
        Some((date, time)) => format!("{date} {time}"),
        None => s.to_string(),
    }
}

/// Maps a calamine error to what the user is told.
fn calamine_error(e: &XlsxError) -> ImportError {
    let reason = match e {
        XlsxError::Password => return ImportError::PasswordProtected,
        XlsxError::Zip(_) => "its zip archive cannot be read",
        XlsxError::Io(_) => "a part of it cannot be unpacked",
        XlsxError::FileNotFound(_)
        | XlsxError::RelationshipNotFound
        | XlsxError::WorksheetNotFound(_) => "a part of it is missing",
        XlsxError::Xml(_)
        | XlsxError::XmlAttr(_)
        | XlsxError::XmlEof(_)
        | XlsxError::UnexpectedNode(_)
        | XlsxError::Encoding(_) => "its XML is not valid",
        _ => "its contents cannot be read",
    };
    damaged(reason)
}

fn damaged(reason: &str) -> ImportError {
    ImportError::DamagedXlsx {
        reason: reason.into(),
    }
}

/// The checks on the zip archive, before calamine opens it; the scan of its parts' cell
/// references only if `scan` is `Here`.
pub(super) fn check_archive(
    bytes: &[u8],
    limits: &Limits,
    scan: ReferenceScan,
) -> Result<(), ImportError> {
    let mut archive = ZipArchive::new(Cursor::new(bytes))
        .map_err(|_| damaged("it is not a valid zip archive"))?;
    let entries = archive.len();
    if entries > limits.max_entries {
        return Err(ImportError::XlsxTooManyParts {
            entries,
            max_entries: limits.max_entries,
        });
    }
    if archive.has_duplicate_names() {
        return Err(damaged("it has two parts with the same name"));
    }
    let mut names = Vec::with_capacity(entries);
    let mut total: u64 = 0;
    for index in 0..entries {
        let entry = archive
            .by_index_data(index)
            .map_err(|_| damaged("it is not a valid zip archive"))?;
        let size = entry.size();
        let packed = entry.compressed_size();
        if size > limits.max_uncompressed_bytes {
            return Err(ImportError::XlsxTooBig {
                bytes: size,
                max_bytes: limits.max_uncompressed_bytes,
            });
        }
        total = total.saturating_add(size);
        if total > limits.max_uncompressed_bytes {
            return Err(ImportError::XlsxTooBigInAll {
                max_bytes: limits.max_uncompressed_bytes,
            });
        }
        if size > Limits::RATIO_EXEMPT_BYTES {
            let ratio = size / packed.max(1);
            if ratio > limits.max_ratio {
                return Err(ImportError::XlsxCompressedTooMuch {
                    ratio,
                    max_ratio: limits.max_ratio,
                });
            }
        }
        // Names as calamine looks them up: case-insensitive, `\` read as `/`.
        names.push(
            String::from_utf8_lossy(entry.name_raw())
                .replace('\\', "/")
                .to_ascii_lowercase(),
        );
    }

    let has = |name: &str| names.iter().any(|n| n == name);
    if has("mimetype") && has("content.xml") {
        return Err(ImportError::UnsupportedFormat {
            description: "an OpenDocument spreadsheet (.ods)".into(),
        });
    }
    if names
        .iter()
        .any(|n| n.starts_with("index/") && n.ends_with(".iwa"))
    {
        return Err(ImportError::UnsupportedFormat {
            description: "a Numbers spreadsheet".into(),
        });
    }
    if has("word/document.xml") {
        return Err(ImportError::UnsupportedFormat {
            description: "a Word document".into(),
        });
    }

    for (index, name) in names.iter().enumerate() {
        if name.ends_with("sharedstrings.xml") {
            let head = read_head(&mut archive, index)?;
            check_shared_strings(&head, limits)?;
        }
        // Any part can be named as a worksheet by the workbook's relationships, so all are
        // checked, not just `xl/worksheets/*.xml`.
        if scan == ReferenceScan::Here {
            check_references(&mut archive, index)?;
        }
    }
    Ok(())
}

/// Checks the cell references in a part, as calamine will read them if the part is a
/// worksheet: the `r` of `<row>` and `<c>`, and the `ref` of `<dimension>`. Calamine does
/// their arithmetic without checking for overflow (a panic in a debug build, silently wrong
/// positions in a release build), and subtracts a dimension's corners without checking their
/// order.
///
/// This is a byte scan, ten times faster than reading XML events, and it checks a superset of
/// what calamine's XML reader (quick-xml, which reads UTF-8 only and does not transcode) can
/// see as such an element: every `<` in the part, even in comments and attribute values, is
/// taken as a possible start tag; the tag ends at the first `>` outside quotes, as in
/// quick-xml; its attributes are split as calamine splits them. Legitimate XML has no raw `<`
/// inside a tag, so a `<row>`, `<c>` or `<dimension>` tag that holds one, or is longer than
/// `TAG_MAX`, is refused: that keeps the scan linear.
fn check_references(
    archive: &mut ZipArchive<Cursor<&[u8]>>,
    index: usize,
) -> Result<(), ImportError> {
    let Ok(mut entry) = archive.by_index(index) else {
        // Calamine will fail the same way if it opens this part.
        return Ok(());
    };
    let mut buf = vec![0u8; CHUNK + CARRY_MAX];
    let mut filled = 0;
    loop {
        let n = entry
            .read(buf.get_mut(filled..).unwrap_or_default())
            .map_err(|_| damaged("a part of it cannot be unpacked"))?;
        filled += n;
        let end = n == 0;
        let data = buf.get(..filled).unwrap_or_default();
        let done = scan_tags(data, end)?;
        if end {
            return Ok(());
        }
        buf.copy_within(done..filled, 0);
        filled -= done;
        if filled > CARRY_MAX {
            return Err(damaged("its XML is not valid"));
        }
    }
}

const CHUNK: usize = 64 * 1024;
/// The longest tag name looked at (a namespace prefix and a local name).
const NAME_MAX: usize = 1024;
/// The longest `<row>`, `<c>` or `<dimension>` tag accepted (Excel writes under 100 bytes).
const TAG_MAX: usize = 4096;
/// The most bytes carried from one chunk to the next: an unfinished tag.
const CARRY_MAX: usize = NAME_MAX + TAG_MAX + 2;

/// Scans `data` for tags to check; returns how far it got (the start of an unfinished tag, to
/// be scanned again with more data). At `end`, everything is scanned. A call once a chunk, so
/// that it runs optimised from the first file on (see the `import` module's documentation).
#[inline(never)]
fn scan_tags(data: &[u8], end: bool) -> Result<usize, ImportError> {
    let mut at = 0;
    while let Some(found) = data.get(at..).and_then(|rest| memchr::memchr(b'<', rest)) {
        let open = at + found;
        let name_start = open + 1;
        let after_open = data.get(name_start..).unwrap_or_default();
        let Some(name_len) = after_open
            .iter()
            .position(|&b| matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'>' | b'/' | b'<'))
        else {
            if after_open.len() > NAME_MAX {
                return Err(damaged("its XML is not valid"));
            }
            if !end {
                return Ok(open);
            }
            return Ok(data.len());
        };
        if name_len > NAME_MAX {
            return Err(damaged("its XML is not valid"));
        }
        let name = after_open.get(..name_len).unwrap_or_default();
        let kind = if is_named(name, b"c") || is_named(name, b"row") {
            Some(b"r".as_slice())
        } else if is_named(name, b"dimension") {
            Some(b"ref".as_slice())
        } else {
            None
        };
        let Some(key) = kind else {
            at = name_start + name_len;
            continue;
        };
        // The tag ends at the first `>` outside quotes, counted from after `<` (as quick-xml).
        let window = after_open
            .get(..after_open.len().min(TAG_MAX + 1))
            .unwrap_or_default();
        // A plain loop: these tags are short (`<c r="A2" t="s">`), too short for memchr.
        let mut quote: Option<u8> = None;
        let mut close = None;
        for (i, &b) in window.iter().enumerate() {
            match quote {
                None if b == b'>' => {
                    close = Some(i);
                    break;
                }
                None if b == b'"' || b == b'\'' => quote = Some(b),
                Some(q) if b == q => quote = None,
                _ => {}
            }
        }
        let close = match close {
            Some(close) => close,
            None if after_open.len() > TAG_MAX => return Err(damaged("its XML is not valid")),
            // Unfinished: wait for more, or at the end check what there is.
            None if !end => return Ok(open),
            None => after_open.len(),
        };
        let tag = after_open.get(..close).unwrap_or_default();
        if memchr::memchr(b'<', tag).is_some() {
            return Err(damaged("its XML is not valid"));
        }
        let raw = tag.get(name_len..).unwrap_or_default();
        let raw = raw.strip_suffix(b"/").unwrap_or(raw);
        for (k, value) in raw_attributes(raw) {
            if k != key {
                continue;
            }
            if key == b"r" && reference(value) == Reference::Overflows {
                return Err(damaged("a cell reference in it is not valid"));
            }
            if key == b"ref" && !safe_range(value) {
                return Err(damaged("its worksheet's size is not valid"));
            }
        }
        at = name_start + close;
    }
    Ok(data.len())
}

/// Whether a tag name is `local`, with or without a namespace prefix.
fn is_named(name: &[u8], local: &[u8]) -> bool {
    name == local
        || name
            .strip_suffix(local)
            .is_some_and(|prefix| prefix.ends_with(b":"))
}

/// `key="value"` pairs as calamine reads them (its `RawAttrIter`): the key is everything up
/// to `=`, the value is quoted with `"` or `'`; a malformed attribute ends the list.
fn raw_attributes(raw: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    let mut rest = raw;
    std::iter::from_fn(move || {
        let trimmed = rest.trim_ascii_start();
        let eq = memchr::memchr(b'=', trimmed)?;
        let key = trimmed.get(..eq)?.trim_ascii_end();
        let after = trimmed.get(eq + 1..)?.trim_ascii_start();
        let quote = *after.first().filter(|q| **q == b'"' || **q == b'\'')?;
        let value_and_rest = after.get(1..).unwrap_or_default();
        let (value, remainder) = match memchr::memchr(quote, value_and_rest) {
            Some(i) => (
                value_and_rest.get(..i).unwrap_or_default(),
                value_and_rest.get(i + 1..).unwrap_or_default(),
            ),
            None => (value_and_rest, &[][..]),
        };
        rest = remainder;
        Some((key, value))
    })
}

/// What calamine's reference parser makes of a cell or row reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reference {
    /// Letters then digits: 1-based row, column (0 when there are no letters).
    Fine(u32, u32),
    /// Something calamine reports as an error itself.
    Malformed,
    /// Too many letters or digits: calamine's arithmetic would overflow.
    Overflows,
}

/// "A1" → Fine(1, 1), "XFD1048576" → Fine(1048576, 16384). More than 3 letters or 7 digits
/// (Excel has 3 and 7) overflows calamine's u32 arithmetic long before it fails.
fn reference(text: &[u8]) -> Reference {
    let letters = text.iter().take_while(|b| b.is_ascii_alphabetic()).count();
    let after_letters = text.get(letters..).unwrap_or_default();
    let digits = after_letters
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    if letters > 3 || digits > 7 {
        return Reference::Overflows;
    }
    if digits == 0 || after_letters.len() != digits {
        return Reference::Malformed;
    }
    let column = text.iter().take(letters).fold(0u32, |n, b| {
        n * 26 + u32::from(b.to_ascii_uppercase() - b'A' + 1)
    });
    let row = after_letters
        .iter()
        .fold(0u32, |n, b| n * 10 + u32::from(b - b'0'));
    if row == 0 {
        return Reference::Malformed;
    }
    Reference::Fine(row, column)
}

/// A `<dimension ref>` calamine can take: no part overflows, and of two well-formed corners
/// the first is not below or right of the second.
fn safe_range(text: &[u8]) -> bool {
    let parts: Vec<Reference> = text.split(|b| *b == b':').map(reference).collect();
    if parts.contains(&Reference::Overflows) {
        return false;
    }
    match parts.as_slice() {
        [Reference::Fine(r1, c1), Reference::Fine(r2, c2)] => r1 <= r2 && c1 <= c2,
        _ => true,
    }
}

/// The first `HEAD_BYTES` of an entry, unpacked.
fn read_head(
    archive: &mut ZipArchive<Cursor<&[u8]>>,
    index: usize,
) -> Result<Vec<u8>, ImportError> {
    let entry = archive
        .by_index(index)
        .map_err(|_| damaged("a part of it cannot be unpacked"))?;
    let mut head = Vec::new();
    entry
        .take(HEAD_BYTES)
        .read_to_end(&mut head)
        .map_err(|_| damaged("a part of it cannot be unpacked"))?;
    Ok(head)
}

/// The first element of the shared strings part, `<sst count=".." uniqueCount="..">`, must
/// come early and declare no more strings than the limit.
fn check_shared_strings(head: &[u8], limits: &Limits) -> Result<(), ImportError> {
    let Some(sst) = first_element(head, |name| name == "sst") else {
        return Err(damaged("its list of text values is not valid"));
    };
    for attribute in sst.attributes().with_checks(false) {
        let attribute = attribute.map_err(|_| damaged("its list of text values is not valid"))?;
        let key = attribute.key.local_name();
        if key.as_ref() != "count" && key.as_ref() != "uniqueCount" {
            continue;
        }
        let count = declared_count(&attribute.value)
            .ok_or_else(|| damaged("its list of text values is not valid"))?;
        if count > limits.max_shared_strings {
            return Err(ImportError::XlsxTooManyStrings {
                count,
                max: limits.max_shared_strings,
            });
        }
    }
    Ok(())
}

/// A count attribute: digits, perhaps with a sign or spaces around; saturates at u64::MAX.
fn declared_count(value: &str) -> Option<u64> {
    let text = value.trim();
    let digits = text.strip_prefix('+').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(digits.bytes().fold(0u64, |n, d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    }))
}

/// The first start (or empty) element whose local name `wanted` accepts, in the head of a
/// part; `None` if the head ends first.
fn first_element(head: &[u8], wanted: impl Fn(&str) -> bool) -> Option<BytesStart<'static>> {
    let mut reader = quick_xml::Reader::from_reader(head);
    // As calamine reads it.
    reader.config_mut().check_end_names = false;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e) | Event::Empty(e)) if wanted(e.local_name().as_ref()) => {
                return Some(e.into_owned());
            }
            Ok(Event::Eof) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}
