//! Bytes → rows for batch upload files (CSV and xlsx). Pure Rust with no I/O and no feature
//! gates: unit-tested and fuzzed natively, and run unchanged in the browser (in a worker).
//!
//! [`parse`] finds the format (from the name's extension and the bytes), reads the cells as the
//! user sees them in their spreadsheet, finds the header row, and hands back one
//! [`ImportedRow`] per user with the row number the user sees. It does not judge the values:
//! the domain rules do that later, the same way for a file and for the Create account form.
//!
//! Nothing here may panic or allocate without bound on any input: sizes are checked before
//! anything is decoded, an xlsx's zip directory is checked before calamine opens it, and
//! worksheets are read with calamine's streaming reader, one cell at a time.
//!
//! How the parser's code is cut into functions matters in the browser as much as what it
//! does. The browser's wasm engine runs a function first as quickly compiled baseline code,
//! compiles it again, optimised, on a background thread once it has run a while, and uses the
//! optimised code from the next call on: a call already running stays baseline. So the work
//! of a row (or a cell, or a chunk) is a call of its own (`text::read_row`, `xlsx::next_cell`,
//! `xlsx::scan_tags`, ...), and what runs once a file or a table (`open`, `text::parse`,
//! `text::read`, `xlsx::parse`, `xlsx::read_sheet`, `Assembler::end`, ...) is many small
//! functions, not one whole: each `#[inline(never)]`, and the parser's wasm-opt keeps a
//! function with one caller apart unless it is small (scripts/build.sh). Before that bound
//! (wasm-opt inlines every function that has one caller, whatever its size, `#[inline(never)]`
//! or not), `open` was a function of 73,307 bytes: a file chosen the moment the page was
//! interactive ran its rows through its baseline code, while the browser spent 100-365 ms of a
//! core compiling it optimised, of no use to that file.
//!
//! May import `domain` (its limits and column names) and `format`; nothing that does I/O.

mod columns;
#[cfg(feature = "parser")]
mod feed;
#[cfg(feature = "parser")]
mod mapping;
#[cfg(feature = "parser")]
mod records;
#[cfg(feature = "parser")]
mod table;
#[cfg(feature = "parser")]
mod text;
#[cfg(feature = "parser")]
mod write;
#[cfg(feature = "parser")]
mod xlsx;

#[cfg(all(test, feature = "parser"))]
mod fixtures;
#[cfg(all(test, feature = "parser"))]
mod testkit;
#[cfg(all(test, feature = "parser"))]
mod tests;

pub use columns::{Column, COLUMNS, INSTRUCTIONS_SHEET};
#[cfg(feature = "parser")]
pub use feed::Feed;
#[cfg(feature = "parser")]
pub use write::xlsx as write_xlsx;

use serde::{Deserialize, Serialize};

use crate::domain::RawAccount;
use crate::format::thousands;

/// Limits the browser applies; `Default` = 40 MiB (100,000 realistic rows are about 20 MB as
/// UTF-8 CSV, twice that as UTF-16 "Unicode text"), 100,000 data rows, and limits on what is
/// inside an xlsx (its zip archive).
#[derive(Debug, Clone)]
pub struct Limits {
    /// The largest file accepted, in bytes.
    pub max_bytes: usize,
    /// The most users (non-blank data rows) in one file.
    pub max_rows: usize,
    /// The most entries in an xlsx's zip archive (a workbook has a dozen or so).
    pub max_entries: usize,
    /// The most bytes an xlsx may unpack to, for any one entry and for all together.
    pub max_uncompressed_bytes: u64,
    /// The highest compression ratio (unpacked size / packed size) of an entry larger than
    /// [`Limits::RATIO_EXEMPT_BYTES`]. Worksheet XML compresses about 10 to 1, rarely past 100.
    pub max_ratio: u64,
    /// The most shared strings an xlsx may declare (calamine reserves memory for that many).
    pub max_shared_strings: u64,
}

impl Limits {
    /// Entries unpacking to no more than this are not held to `max_ratio`: small parts of
    /// repetitive XML can be compressed very well, and cannot do harm.
    pub const RATIO_EXEMPT_BYTES: u64 = 1 << 20;
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 40 * 1024 * 1024,
            max_rows: crate::domain::limits::MAX_BATCH_ROWS,
            max_entries: 10_000,
            max_uncompressed_bytes: 200 * 1024 * 1024,
            max_ratio: 200,
            max_shared_strings: 2_000_000,
        }
    }
}

/// A file's users, read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sheet {
    /// What was read, for the user: "CSV, UTF-8 with BOM, comma-separated" or
    /// "Excel workbook (sheet “Users”)".
    pub format: String,
    /// One per non-blank row below the header row, in the file's order.
    pub rows: Vec<ImportedRow>,
    /// What the reader did that the user may want to know: ignored columns, skipped blank
    /// rows, the header row found below title rows, the sheet chosen.
    pub notices: Vec<String>,
}

/// What the officer chose for a file the reader asked about ([`Question`]); the default
/// chooses nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    /// The worksheet that holds the users (a workbook with more than one sheet with data).
    pub sheet: Option<String>,
    /// Which column of the file is which template field.
    pub mapping: Option<Mapping>,
}

/// The officer's match of a file's columns to the template's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mapping {
    /// The header row's number (the rows above it are title rows).
    pub header_line: usize,
    /// For each of [`COLUMNS`], in order, the file's column (0 = A) that fills it.
    pub columns: Vec<Option<usize>>,
}

/// What reading a file came to when the reader may ask ([`read`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Reading {
    Read(Sheet),
    Ask(Question),
}

/// What the officer must say before a file can be read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Question {
    /// A workbook has more than one sheet with data: which one holds the users?
    Sheet {
        sheets: Vec<SheetSummary>,
        /// The index in `sheets` of the one whose header matches the template best.
        suggested: usize,
    },
    /// The header row does not match the template: which column is which?
    Columns(ColumnQuestion),
}

/// A worksheet, as the sheet question shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SheetSummary {
    pub name: String,
    /// How many template columns its best header row matches.
    pub matched: usize,
    /// Its non-blank rows among the first few read (`more`: there are others below).
    pub rows: usize,
    pub more: bool,
}

/// The header row of a file whose headers do not all match the template's, for the officer
/// to say which column is which.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnQuestion {
    /// The worksheet it is about (none for a CSV).
    pub sheet: Option<String>,
    pub header_line: usize,
    /// The file's columns with a header or a value in the first rows, left to right.
    pub columns: Vec<FileColumn>,
    /// For each of [`COLUMNS`], in order, the file's column (0 = A) that looks like it: by
    /// header (the template's names and aliases, then similar words) or by its values.
    pub guess: Vec<Option<usize>>,
    /// The header cells, normalised: the officer's answer is remembered under it and offered
    /// for the next file with the same headers.
    pub signature: String,
    /// The "header" row looks like a user (it holds an email address): the file may have no
    /// header row, and the officer is offered to read that row as a user too.
    #[serde(default)]
    pub headerless: bool,
}

impl ColumnQuestion {
    /// The template headers of required fields that the guess leaves without a column.
    pub fn unfilled_required(&self) -> Vec<String> {
        unfilled_required(&self.guess)
    }
}

/// The template headers of required fields that `columns` (one per [`COLUMNS`]) leaves
/// without a column, in the template's order.
pub fn unfilled_required(columns: &[Option<usize>]) -> Vec<String> {
    COLUMNS
        .iter()
        .enumerate()
        .filter(|(i, c)| c.required && columns.get(*i).copied().flatten().is_none())
        .map(|(_, c)| c.header.to_string())
        .collect()
}

/// What keeps an officer's match of columns from being used: required fields without a
/// column, a column chosen for two fields. Each is a sentence for the officer.
pub fn mapping_problems(columns: &[Option<usize>], file: &[FileColumn]) -> Vec<String> {
    let mut problems = Vec::new();
    let missing = unfilled_required(columns);
    if !missing.is_empty() {
        problems.push(format!(
            "Choose a column for: {}. Each is required.",
            missing.join(", ")
        ));
    }
    for f in file {
        let fields: Vec<&str> = columns
            .iter()
            .zip(COLUMNS.iter())
            .filter(|(c, _)| **c == Some(f.index))
            .map(|(_, t)| t.header)
            .collect();
        if fields.len() > 1 {
            problems.push(format!(
                "{} is chosen for {}: choose one column for each field.",
                f.label(),
                fields.join(" and ")
            ));
        }
    }
    problems
}

/// One column of a file, for the column question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileColumn {
    /// 0 = A.
    pub index: usize,
    /// Its header cell as written (may be empty).
    pub header: String,
    /// Its values in the first rows below the header (blank ones as empty text).
    pub samples: Vec<String>,
}

impl FileColumn {
    /// "Work email (column A)", or "Column C" for a column without a header.
    pub fn label(&self) -> String {
        let letter = column_letter(self.index);
        if self.header.is_empty() {
            format!("Column {letter}")
        } else {
            format!("{} (column {letter})", self.header)
        }
    }
}

/// 0 → "A", 25 → "Z", 26 → "AA".
pub fn column_letter(index: usize) -> String {
    let mut n = index as u64 + 1;
    let mut letters = Vec::new();
    while n > 0 {
        let rem = ((n - 1) % 26) as u8;
        letters.push(char::from(b'A' + rem));
        n = (n - 1) / 26;
    }
    letters.iter().rev().collect()
}

/// One row of the file: a user's details as written, trimmed, not yet checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportedRow {
    /// The row number the user sees in their spreadsheet: the header is row 1 (or later if
    /// there are title rows above it), the first data row usually 2.
    pub line: usize,
    pub raw: RawAccount,
}

/// Why a file cannot be read. `Display` is a complete sentence for the user: what is wrong
/// and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum ImportError {
    #[error("The file is {}; the limit is {}. Split it into smaller files.", megabytes(*bytes), megabytes(*max_bytes))]
    TooLarge { bytes: u64, max_bytes: u64 },

    #[error("The file is empty. Download the template, add one user per row below the header row, and upload it again.")]
    Empty,

    #[error("This file is {description}, which cannot be read here. Open it in your spreadsheet program, save it as .xlsx or .csv, and upload that file.")]
    UnsupportedFormat {
        /// "an Excel 97–2003 workbook (.xls)", "a Numbers spreadsheet", ...
        description: String,
    },

    #[error("This workbook is protected with a password, so it cannot be read. Open it in Excel, remove the password (File › Info › Protect Workbook), save it, and upload it again.")]
    PasswordProtected,

    #[error("This file is not a CSV or text file: it holds binary data. Open it in your spreadsheet program, save it as .xlsx or CSV UTF-8, and upload that file.")]
    NotText,

    #[error("This .xlsx file is damaged or not really an Excel workbook ({reason}). Open it in Excel and save it again, or save it as CSV.")]
    DamagedXlsx {
        /// Why, in a few plain words: "it is not a valid zip archive".
        reason: String,
    },

    #[error("This .xlsx file unpacks to more than {} (one part alone is {}), which is more than any batch of users needs. Open it in Excel, delete what is not needed (pictures, other sheets), and save it again, or save it as CSV.", megabytes(*max_bytes), megabytes(*bytes))]
    XlsxTooBig { bytes: u64, max_bytes: u64 },

    #[error("This .xlsx file unpacks to more than {} in all, which is more than any batch of users needs. Open it in Excel, delete what is not needed (pictures, other sheets), and save it again, or save it as CSV.", megabytes(*max_bytes))]
    XlsxTooBigInAll { max_bytes: u64 },

    #[error("This .xlsx file cannot be read safely: a part of it is compressed {} to 1 (the limit is {} to 1), as in a “zip bomb”. Open it in Excel and save it again, or save it as CSV.", thousands(*ratio), thousands(*max_ratio))]
    XlsxCompressedTooMuch { ratio: u64, max_ratio: u64 },

    #[error("This .xlsx file has {} parts inside; the limit is {}. Open it in Excel, delete what is not needed, and save it again, or save it as CSV.", thousands(*entries as u64), thousands(*max_entries as u64))]
    XlsxTooManyParts { entries: usize, max_entries: usize },

    #[error("This .xlsx file declares {} different text values; the limit is {}. Split it into smaller files, or save it as CSV.", thousands(*count), thousands(*max))]
    XlsxTooManyStrings { count: u64, max: u64 },

    #[error("This workbook has no worksheet with cells to read. Put the users on the first sheet, below the template's header row, and upload it again.")]
    NoWorksheet,

    #[error("This workbook has no sheet “{name}” any more. Choose the file again.")]
    NoSuchSheet { name: String },

    #[error("The file has no column for: {}. Add {} (download the template to see the headers).", columns.join(", "), if columns.len() == 1 { "it" } else { "them" })]
    MissingColumns {
        /// The template headers of the missing required columns, in the template's order.
        columns: Vec<String>,
    },

    #[error("The file has no users below the header row. Add one user per row below the header row and upload it again.")]
    NoUsers,

    #[error("The file has data in row {}; the limit is {} users per file. Remove the extra rows or split the file.", thousands(*row as u64), thousands(*max_rows as u64))]
    TooManyRows { row: usize, max_rows: usize },
}

/// Reads a batch upload file (feature `parser`): detects the format from `file_name`'s extension and from the
/// bytes (an xlsx is a zip archive, whatever its name), reads the cells, finds the header row
/// and returns the users' rows. It never asks: a file missing a required column is refused,
/// and of a workbook's sheets the first with an email column is read.
#[cfg(feature = "parser")]
pub fn parse(bytes: &[u8], file_name: &str, limits: &Limits) -> Result<Sheet, ImportError> {
    match open(bytes, file_name, limits, None, ReferenceScan::Here)? {
        Reading::Read(sheet) => Ok(sheet),
        // Never asked without a choice to make.
        Reading::Ask(_) => Err(ImportError::NoWorksheet),
    }
}

/// Reads a batch upload file as [`parse`] does, but asks the officer ([`Question`]) where
/// the file leaves it open: a workbook with more than one sheet with data (unless `choice`
/// names one), or headers that do not all match the template (unless `choice` maps them).
/// Asking reads only the first rows; a file whose headers all match is read at once.
#[cfg(feature = "parser")]
pub fn read(
    bytes: &[u8],
    file_name: &str,
    limits: &Limits,
    choice: &Choice,
) -> Result<Reading, ImportError> {
    open(bytes, file_name, limits, Some(choice), ReferenceScan::Here)
}

/// [`read`], with an xlsx's cell references scanned here or by another worker (`scan`: see
/// [`ReferenceScan`]).
#[cfg(feature = "parser")]
pub fn read_with(
    bytes: &[u8],
    file_name: &str,
    limits: &Limits,
    choice: &Choice,
    scan: ReferenceScan,
) -> Result<Reading, ImportError> {
    open(bytes, file_name, limits, Some(choice), scan)
}

/// Where an xlsx's parts are scanned for cell references that calamine's arithmetic cannot
/// take (`xlsx::check_references`: a tenth to a third of the time a large workbook takes to
/// read). The checks of the archive's directory are made in both cases.
#[cfg(feature = "parser")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferenceScan {
    /// Before calamine reads the workbook.
    Here,
    /// By another worker at the same time, with [`scan_references`] on the same bytes: what
    /// was read must not be used until that scan has passed them, and if it refuses the file,
    /// its refusal is the answer (the one [`read`] would have given scanning here). An
    /// overflowing reference makes calamine place cells wrongly or panic, never read out of
    /// bounds: its arithmetic wraps in a release build, and Rust checks every index.
    Elsewhere,
}

/// The scan that [`ReferenceScan::Elsewhere`] leaves to another worker: for an xlsx, every
/// check of its archive (`xlsx::check_archive`, cell references included), with the refusal
/// [`read`] gives when one fails; `Ok` for any other file, and for one that [`read`] refuses
/// before it looks inside.
#[cfg(feature = "parser")]
pub fn scan_references(bytes: &[u8], file_name: &str, limits: &Limits) -> Result<(), ImportError> {
    match format_of(bytes, file_name, limits) {
        Ok(Format::Xlsx) => xlsx::check_archive(bytes, limits, ReferenceScan::Here),
        _ => Ok(()),
    }
}

/// What a file is ([`detect`]), once it is known to be neither too large nor empty.
#[cfg(feature = "parser")]
fn format_of(bytes: &[u8], file_name: &str, limits: &Limits) -> Result<Format, ImportError> {
    if bytes.len() > limits.max_bytes {
        return Err(ImportError::TooLarge {
            bytes: bytes.len() as u64,
            max_bytes: limits.max_bytes as u64,
        });
    }
    if bytes.is_empty() {
        return Err(ImportError::Empty);
    }
    Ok(detect(bytes, file_name))
}

/// Reads the file as its format says. Small, as everything run once a file (see the module's
/// documentation).
#[cfg(feature = "parser")]
fn open(
    bytes: &[u8],
    file_name: &str,
    limits: &Limits,
    choice: Option<&Choice>,
    scan: ReferenceScan,
) -> Result<Reading, ImportError> {
    match format_of(bytes, file_name, limits)? {
        Format::Xlsx => xlsx::parse(bytes, limits, choice, scan),
        Format::Text(kind) => text::parse(bytes, kind, limits, mode(choice)),
        Format::Ole => Err(if contains_utf16(bytes, "EncryptedPackage") {
            ImportError::PasswordProtected
        } else {
            ImportError::UnsupportedFormat {
                description: "an Excel 97–2003 workbook (.xls)".into(),
            }
        }),
        Format::Unsupported(description) => Err(ImportError::UnsupportedFormat { description }),
    }
}

/// How the columns are found: by the headers alone, asking, or as the officer said.
#[cfg(feature = "parser")]
fn mode(choice: Option<&Choice>) -> table::Mode {
    match choice {
        None => table::Mode::Headers,
        Some(Choice {
            mapping: Some(mapping),
            ..
        }) => table::Mode::Mapped(mapping.clone()),
        Some(_) => table::Mode::Ask,
    }
}

/// What a file is, from its name and its first bytes.
#[cfg(feature = "parser")]
#[derive(Debug, Clone, PartialEq, Eq)]
enum Format {
    /// A zip archive: read as an Office Open XML workbook.
    Xlsx,
    /// Delimited text; the kind names it in `Sheet::format` ("CSV" or "Text").
    Text(&'static str),
    /// An OLE compound file: an Excel 97–2003 workbook, or an encrypted xlsx.
    Ole,
    Unsupported(String),
}

#[cfg(feature = "parser")]
const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
/// An empty zip archive (only the end of central directory record).
#[cfg(feature = "parser")]
const ZIP_EMPTY_MAGIC: &[u8] = b"PK\x05\x06";
#[cfg(feature = "parser")]
const OLE_MAGIC: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";

#[cfg(feature = "parser")]
fn detect(bytes: &[u8], file_name: &str) -> Format {
    let extension = file_name
        .rsplit_once('.')
        .map(|(_, ext)| ext.trim().to_ascii_lowercase())
        .unwrap_or_default();
    // Formats that are zip archives too, but not workbooks we can read.
    match extension.as_str() {
        "numbers" => return Format::Unsupported("a Numbers spreadsheet".into()),
        "ods" => return Format::Unsupported("an OpenDocument spreadsheet (.ods)".into()),
        "xlsb" => return Format::Unsupported("an Excel binary workbook (.xlsb)".into()),
        _ => {}
    }
    if bytes.starts_with(ZIP_MAGIC) || bytes.starts_with(ZIP_EMPTY_MAGIC) {
        return Format::Xlsx;
    }
    if bytes.starts_with(OLE_MAGIC) {
        return Format::Ole;
    }
    match extension.as_str() {
        // Not a zip archive: the xlsx reader says it is damaged.
        "xlsx" | "xlsm" | "xltx" | "xltm" => Format::Xlsx,
        "csv" => Format::Text("CSV"),
        "txt" | "tsv" | "tab" | "" => Format::Text("Text"),
        "xls" => Format::Unsupported("an Excel 97–2003 workbook (.xls)".into()),
        other if other.len() <= 10 && other.chars().all(|c| c.is_ascii_alphanumeric()) => {
            Format::Unsupported(format!("a .{other} file"))
        }
        _ => Format::Text("Text"),
    }
}

/// Whether `bytes` hold `needle` in UTF-16 LE (how OLE directory entries name streams).
#[cfg(feature = "parser")]
fn contains_utf16(bytes: &[u8], needle: &str) -> bool {
    let pattern: Vec<u8> = needle.encode_utf16().flat_map(u16::to_le_bytes).collect();
    bytes
        .windows(pattern.len())
        .any(|w| w == pattern.as_slice())
}

/// 14_889_779 → "14.2 MB", 10_485_760 → "10 MB": mebibytes, as file managers show them,
/// rounded up to a tenth so that a file just over the limit never reads as the limit.
fn megabytes(bytes: u64) -> String {
    let tenths = bytes.saturating_mul(10).div_ceil(1024 * 1024);
    if tenths.is_multiple_of(10) {
        format!("{} MB", thousands(tenths / 10))
    } else {
        format!("{}.{} MB", thousands(tenths / 10), tenths % 10)
    }
}
