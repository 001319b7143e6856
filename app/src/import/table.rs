//! From rows of cells to users, the same for CSV and xlsx: find the header row, match its
//! cells to the template's columns, and turn each data row into a `RawAccount`.
//!
//! Rows are pushed one at a time (an xlsx is streamed), so only the header search window and
//! the matched columns of the users' rows are ever kept.

use std::borrow::Cow;
use std::sync::OnceLock;

use super::{ColumnQuestion, ImportError, ImportedRow, Mapping, COLUMNS};
use crate::domain::RawAccount;

/// The header row is looked for among this many first non-blank rows (title rows may sit
/// above it).
pub(crate) const HEADER_WINDOW: usize = 10;

/// Header cells beyond this column are not looked at (the template has 9 columns; this
/// bounds what the header search keeps of a hostile row).
pub(crate) const MAX_HEADER_COLUMNS: usize = 1024;

/// One row as read: its row number (1-based, as the user sees it), its non-empty cells
/// (0-based column, trimmed text) among the columns the assembler keeps, and whether it has a
/// value in a column that was not kept. The text may be borrowed from the file: it is copied
/// once, into the user's `RawAccount`. A reader fills one `Row` and reuses it (and its
/// vector) for every row.
#[derive(Debug, Clone, Default)]
pub(crate) struct Row<'a> {
    pub line: usize,
    pub cells: Vec<(usize, Cow<'a, str>)>,
    pub other_data: bool,
}

impl Row<'_> {
    fn has_data(&self) -> bool {
        self.other_data || !self.cells.is_empty()
    }

    /// Empties the row for the next one, keeping its vector.
    pub(crate) fn clear(&mut self) {
        self.cells.clear();
        self.other_data = false;
    }

    /// A copy that owns its text (for the header search window).
    fn to_owned_row(&self) -> Row<'static> {
        Row {
            line: self.line,
            cells: self
                .cells
                .iter()
                .map(|(c, t)| (*c, Cow::Owned(t.to_string())))
                .collect(),
            other_data: self.other_data,
        }
    }
}

/// What came out of a file: its users, and notices for the user.
#[derive(Debug, Default)]
pub(crate) struct Table {
    pub rows: Vec<ImportedRow>,
    pub notices: Vec<String>,
}

/// The header row, matched to the template.
#[derive(Debug, Clone)]
pub(crate) struct Header {
    /// The row number of the header.
    pub line: usize,
    /// For each of `COLUMNS`, the column of the file that fills it.
    pub fields: [Option<usize>; COLUMNS.len()],
    pub notices: Vec<String>,
    /// The other way round: for each column of the file up to the last one matched, the index
    /// in `COLUMNS` of the field it fills.
    field_of: Vec<Option<usize>>,
}

impl Header {
    /// How many of the template's columns were found.
    fn score(&self) -> usize {
        self.fields.iter().filter(|f| f.is_some()).count()
    }

    fn keeps(&self, column: usize) -> bool {
        self.field(column).is_some()
    }

    /// The index in `COLUMNS` of the field that `column` fills.
    fn field(&self, column: usize) -> Option<usize> {
        self.field_of.get(column).copied().flatten()
    }

    /// Whether the file has a column for `field`.
    pub(crate) fn has(&self, field: &str) -> bool {
        COLUMNS
            .iter()
            .zip(self.fields.iter())
            .any(|(c, f)| c.field == field && f.is_some())
    }

    /// The template headers of the required columns the file lacks.
    fn missing(&self) -> Vec<String> {
        COLUMNS
            .iter()
            .zip(self.fields.iter())
            .filter(|(c, f)| c.required && f.is_none())
            .map(|(c, _)| c.header.to_string())
            .collect()
    }

    /// The header the officer chose: `columns[i]` is the file's column for `COLUMNS[i]`. A
    /// column chosen for two fields fills the first of them.
    pub(crate) fn from_mapping(line: usize, columns: &[Option<usize>]) -> Header {
        let mut fields = [None; COLUMNS.len()];
        let mut taken: Vec<usize> = Vec::new();
        for (slot, column) in fields.iter_mut().zip(columns.iter()) {
            if let Some(c) = column.filter(|c| *c < MAX_HEADER_COLUMNS && !taken.contains(c)) {
                taken.push(c);
                *slot = Some(c);
            }
        }
        Header::with_fields(line, fields, Vec::new())
    }

    fn with_fields(
        line: usize,
        fields: [Option<usize>; COLUMNS.len()],
        notices: Vec<String>,
    ) -> Header {
        let width = fields.iter().flatten().max().map_or(0, |c| c + 1);
        let mut field_of = vec![None; width];
        for (field, column) in fields.iter().enumerate() {
            if let Some(slot) = column.and_then(|c| field_of.get_mut(c)) {
                *slot = Some(field);
            }
        }
        Header {
            line,
            fields,
            notices,
            field_of,
        }
    }

    /// Whether the officer should say which column is which: a header cell is not the
    /// template's while a template field has no column (a file whose every header matches, or
    /// whose unknown columns could fill nothing, is read as it is).
    fn needs_mapping(&self, cells: &[(usize, Cow<'_, str>)]) -> bool {
        let unfilled = self.fields.iter().any(Option::is_none);
        unfilled
            && cells.iter().any(|(column, text)| {
                !normalise(text).is_empty() && !self.fields.contains(&Some(*column))
            })
    }

    /// Matches a row's cells against the template's headers and aliases.
    pub(crate) fn match_row(line: usize, cells: &[(usize, Cow<'_, str>)]) -> Header {
        let mut fields = [None; COLUMNS.len()];
        let mut unknown: Vec<&str> = Vec::new();
        let mut duplicates: Vec<(usize, usize, usize)> = Vec::new();
        for (column, text) in cells {
            let key = normalise(text);
            if key.is_empty() {
                continue;
            }
            match column_of(&key) {
                Some(field) => match fields[field] {
                    None => fields[field] = Some(*column),
                    Some(first) => duplicates.push((field, first, *column)),
                },
                None => {
                    if !unknown.contains(&text.as_ref()) {
                        unknown.push(text);
                    }
                }
            }
        }
        let mut notices = Vec::new();
        if !unknown.is_empty() {
            notices.push(format!(
                "Ignored columns not in the template: {}",
                list_some(&unknown, 10)
            ));
        }
        for (field, first, other) in duplicates {
            notices.push(format!(
                "The file has more than one column for {} (columns {} and {}); used column {}",
                COLUMNS[field].header,
                column_letter(first),
                column_letter(other),
                column_letter(first),
            ));
        }
        Header::with_fields(line, fields, notices)
    }
}

/// The template column (its index in `COLUMNS`) whose header or alias is `key` (normalised).
fn column_of(key: &str) -> Option<usize> {
    static KEYS: OnceLock<Vec<(String, usize)>> = OnceLock::new();
    let keys = KEYS.get_or_init(|| {
        COLUMNS
            .iter()
            .enumerate()
            .flat_map(|(i, c)| {
                std::iter::once(c.header)
                    .chain(c.aliases.iter().copied())
                    .map(move |name| (normalise(name), i))
            })
            .collect()
    });
    keys.iter().find(|(k, _)| k == key).map(|(_, i)| *i)
}

/// "E-mail Address " → "emailaddress": lower case, letters and digits only.
pub(crate) fn normalise(header: &str) -> String {
    header
        .chars()
        .flat_map(char::to_lowercase)
        .filter(|c| c.is_alphanumeric())
        .collect()
}

pub(crate) use super::column_letter;

/// "a, b, c and 4 more".
fn list_some(items: &[&str], max: usize) -> String {
    if items.len() <= max {
        items.join(", ")
    } else {
        format!("{} and {} more", items[..max].join(", "), items.len() - max)
    }
}

/// How the assembler finds the columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Mode {
    /// By the headers alone; a file missing a required column is refused.
    Headers,
    /// By the headers, but when they do not all match ([`Header::needs_mapping`]), stop and
    /// ask the officer: the header row, each column's header and first values, and a guess.
    Ask,
    /// As the officer said (after being asked).
    Mapped(Mapping),
}

/// What a file's rows came to: its users, or a question for the officer.
#[derive(Debug)]
pub(crate) enum Ended {
    Table(Table),
    Ask(ColumnQuestion),
}

/// Takes rows in the file's order and makes the users' rows.
pub(crate) struct Assembler {
    max_rows: usize,
    mode: Mode,
    state: State,
}

enum State {
    /// Looking for the header among the first non-blank rows.
    Searching(Vec<Row<'static>>),
    Reading(Box<Reading>),
    /// The officer must say which column is which ([`Mode::Ask`]); the rest of the file is
    /// not read.
    Asking(Box<ColumnQuestion>),
}

struct Reading {
    header: Header,
    /// The first non-blank row (rows above the header are title rows).
    first_line: usize,
    rows: Vec<ImportedRow>,
    /// Blank rows between users.
    blank: usize,
    blank_lines: Vec<usize>,
    /// Blank rows since the last user: counted only if a user follows.
    pending_blank: usize,
    pending_lines: Vec<usize>,
    /// The last row seen: rows missing between two rows are blank too (a CSV's empty lines,
    /// an xlsx's rows without cells).
    last_line: usize,
}

/// How many blank rows' numbers the notice lists.
const BLANK_LINES_LISTED: usize = 5;

impl Assembler {
    pub(crate) fn with_mode(max_rows: usize, mode: Mode) -> Self {
        let state = match &mode {
            // The header row is known: rows down to it are title rows.
            Mode::Mapped(mapping) => State::Reading(Box::new(Reading::below(
                Header::from_mapping(mapping.header_line, &mapping.columns),
            ))),
            Mode::Headers | Mode::Ask => State::Searching(Vec::new()),
        };
        Assembler {
            max_rows,
            mode,
            state,
        }
    }

    /// Whether the officer must be asked first: nothing more of the file is needed.
    pub(crate) fn is_asking(&self) -> bool {
        matches!(self.state, State::Asking(_))
    }

    /// Whether cells of `column` are wanted: every column while looking for the header (up to
    /// `MAX_HEADER_COLUMNS`), then only the matched ones.
    pub(crate) fn keeps(&self, column: usize) -> bool {
        match &self.state {
            State::Searching(_) => column < MAX_HEADER_COLUMNS,
            State::Reading(r) => r.header.keeps(column),
            State::Asking(_) => false,
        }
    }

    /// The header, once found.
    pub(crate) fn header(&self) -> Option<&Header> {
        match &self.state {
            State::Searching(_) | State::Asking(_) => None,
            State::Reading(r) => Some(&r.header),
        }
    }

    /// The last row that may hold data: the header row, `max_rows` users, and as many blank
    /// rows again. A value further down is refused as soon as it is seen, whatever its
    /// column: it is either a stray cell or more users than allowed.
    fn last_row(max_rows: usize, header_line: usize) -> usize {
        header_line
            .saturating_add(max_rows)
            .saturating_add(max_rows)
    }

    /// Refuses a value in row `line` if it is beyond the rows that may hold data. Cheap, for
    /// every cell of a streamed sheet; does nothing until the header is found (the search
    /// window holds only a few rows).
    pub(crate) fn check_row_number(&self, line: usize) -> Result<(), ImportError> {
        match &self.state {
            State::Reading(r) if line > Self::last_row(self.max_rows, r.header.line) => {
                Err(ImportError::TooManyRows {
                    row: line,
                    max_rows: self.max_rows,
                })
            }
            _ => Ok(()),
        }
    }

    /// Takes the next row. Its cells may be taken (left empty); `row.clear()` readies it for
    /// the next one.
    pub(crate) fn push(&mut self, row: &mut Row<'_>) -> Result<(), ImportError> {
        match &mut self.state {
            State::Searching(window) => {
                if !row.has_data() {
                    return Ok(());
                }
                window.push(row.to_owned_row());
                if window.len() >= HEADER_WINDOW {
                    self.resolve_header()?;
                }
                Ok(())
            }
            State::Reading(r) if row.line <= r.header.line => {
                // Above a header the officer chose: a title row.
                if row.has_data() {
                    r.first_line = r.first_line.min(row.line);
                }
                Ok(())
            }
            State::Reading(_) => self.push_data(row),
            State::Asking(_) => Ok(()),
        }
    }

    /// Chooses the header among the rows seen so far and replays the rows below it.
    fn resolve_header(&mut self) -> Result<(), ImportError> {
        let State::Searching(window) = &mut self.state else {
            return Ok(());
        };
        let window = std::mem::take(window);
        let Some(first) = window.first() else {
            return Ok(());
        };
        let first_line = first.line;
        let mut best: Option<(usize, Header)> = None;
        for (i, row) in window.iter().enumerate() {
            let header = Header::match_row(row.line, &row.cells);
            if best
                .as_ref()
                .is_none_or(|(_, b)| header.score() > b.score())
            {
                best = Some((i, header));
            }
        }
        let Some((index, header)) = best else {
            return Ok(());
        };
        if self.mode == Mode::Ask && header.needs_mapping(&window[index].cells) {
            let question =
                super::mapping::question(&header, &window[index].cells, &window[index + 1..]);
            self.state = State::Asking(Box::new(question));
            return Ok(());
        }
        let mut reading = Reading::below(header);
        reading.first_line = first_line;
        self.state = State::Reading(Box::new(reading));
        for mut row in window.into_iter().skip(index + 1) {
            // The window kept every column; keep only the matched ones now.
            let Some(header) = self.header() else { break };
            let before = row.cells.len();
            row.cells.retain(|(c, _)| header.keeps(*c));
            row.other_data |= row.cells.len() < before;
            self.push_data(&mut row)?;
        }
        Ok(())
    }

    #[inline(never)]
    fn push_data(&mut self, row: &mut Row<'_>) -> Result<(), ImportError> {
        let max_rows = self.max_rows;
        let State::Reading(r) = &mut self.state else {
            return Ok(());
        };
        if row.has_data() && row.line > Self::last_row(max_rows, r.header.line) {
            return Err(ImportError::TooManyRows {
                row: row.line,
                max_rows,
            });
        }
        if row.line > r.last_line.saturating_add(1) {
            let gap = row.line - r.last_line - 1;
            r.pending_blank = r.pending_blank.saturating_add(gap);
            let room = BLANK_LINES_LISTED.saturating_sub(r.pending_lines.len());
            r.pending_lines
                .extend((r.last_line + 1..row.line).take(room));
        }
        r.last_line = r.last_line.max(row.line);
        let mut raw = RawAccount::default();
        let mut any = false;
        for (column, text) in row.cells.iter_mut() {
            let Some(field) = r.header.field(*column) else {
                continue;
            };
            if text.is_empty() {
                continue;
            }
            any = true;
            if let Some(slot) = field_mut(&mut raw, field) {
                // Each column fills one field, and each field has one column.
                *slot = std::mem::take(text).into_owned();
            }
        }
        if !any {
            r.pending_blank += 1;
            if r.pending_lines.len() < BLANK_LINES_LISTED {
                r.pending_lines.push(row.line);
            }
            return Ok(());
        }
        if r.rows.len() >= max_rows {
            return Err(ImportError::TooManyRows {
                row: row.line,
                max_rows,
            });
        }
        r.blank = r.blank.saturating_add(r.pending_blank);
        for line in r.pending_lines.drain(..) {
            if r.blank_lines.len() < BLANK_LINES_LISTED {
                r.blank_lines.push(line);
            }
        }
        r.pending_blank = 0;
        r.rows.push(ImportedRow {
            line: row.line,
            raw,
        });
        Ok(())
    }

    /// The header found, if the window already holds it, for choosing a sheet.
    pub(crate) fn settle_header(&mut self) -> Result<Option<&Header>, ImportError> {
        if matches!(self.state, State::Searching(_)) {
            self.resolve_header()?;
        }
        Ok(self.header())
    }

    /// Whether the header search has ended (the window is full).
    pub(crate) fn header_found(&self) -> bool {
        matches!(self.state, State::Reading(_))
    }

    /// The users' rows, or why there are none ([`Mode::Headers`]: never a question).
    pub(crate) fn finish(self) -> Result<Table, ImportError> {
        match self.end()? {
            Ended::Table(table) => Ok(table),
            Ended::Ask(question) => Err(ImportError::MissingColumns {
                columns: question.unfilled_required(),
            }),
        }
    }

    /// The users' rows, a question for the officer, or why there are none. A function of its
    /// own, run once a table (see the `import` module's documentation).
    #[inline(never)]
    pub(crate) fn end(mut self) -> Result<Ended, ImportError> {
        self.resolve_header()?;
        let r = match self.state {
            State::Searching(_) => return Err(ImportError::Empty),
            State::Asking(question) => return Ok(Ended::Ask(*question)),
            State::Reading(r) => *r,
        };
        let missing = r.header.missing();
        if !missing.is_empty() {
            return Err(ImportError::MissingColumns { columns: missing });
        }
        if r.rows.is_empty() {
            return Err(ImportError::NoUsers);
        }
        let mut notices = Vec::new();
        if r.header.line != r.first_line {
            notices.push(format!(
                "Used row {} as the header row; ignored the rows above it",
                r.header.line
            ));
        }
        notices.extend(r.header.notices);
        if r.blank > 0 {
            let mut lines: Vec<String> = r.blank_lines.iter().map(|l| l.to_string()).collect();
            if r.blank > lines.len() {
                lines.push("…".into());
            }
            notices.push(format!(
                "Skipped {} blank row{} (row{} {})",
                r.blank,
                if r.blank == 1 { "" } else { "s" },
                if r.blank == 1 { "" } else { "s" },
                join_and(&lines),
            ));
        }
        Ok(Ended::Table(Table {
            rows: r.rows,
            notices,
        }))
    }
}

impl Reading {
    /// Reading the rows below `header`.
    fn below(header: Header) -> Reading {
        Reading {
            first_line: header.line,
            last_line: header.line,
            header,
            rows: Vec::new(),
            blank: 0,
            blank_lines: Vec::new(),
            pending_blank: 0,
            pending_lines: Vec::new(),
        }
    }
}

/// "5", "5 and 9", "5, 9 and 12", "5, 9, 12, 13, 14, …".
fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] if last != "…" => format!("{} and {last}", rest.join(", ")),
        all => all.join(", "),
    }
}

/// The `RawAccount` field of `COLUMNS[field]` (by index: this runs for every cell; the test
/// `each_column_fills_its_own_field` checks the order against `COLUMNS`).
pub(super) fn field_mut(raw: &mut RawAccount, field: usize) -> Option<&mut String> {
    Some(match field {
        0 => &mut raw.email,
        1 => &mut raw.username,
        2 => &mut raw.first_name,
        3 => &mut raw.last_name,
        4 => &mut raw.contact_number,
        5 => &mut raw.organisation,
        6 => &mut raw.department,
        7 => &mut raw.seed_required,
        8 => &mut raw.reason,
        _ => return None,
    })
}
