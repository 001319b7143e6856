//! The list of an uploaded file, as the officer works on it: pure data and rules, so it is
//! unit-tested natively and shared by the page, its parsing worker and the draft store.
//!
//! Removed rows stay in the vector as tombstones: a row's position never changes, so the
//! draft store can save the chunk an edit touched instead of the whole list.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::domain::batch::{email_key, in_file_duplicates, row_problems};
use crate::domain::{Email, FieldError, RawAccount, UserKind};
use crate::import;

/// (Shared with the rest of the app; here too for the list's own messages.)
pub use crate::format::plural;

/// Rows per stored chunk and per message from the parsing worker.
pub const CHUNK_ROWS: usize = 2_000;
/// Rows per pre-check call: a big file is checked in a call per browser task. Making a call's
/// request (its rows copied and written as JSON) and taking its answer are each a task that
/// grows with this: at 5,000 rows one took 42 to 64 ms in Chromium on two cores, over the
/// 50 ms of a long task.
pub const PRECHECK_ROWS: usize = 2_500;
/// Stored chunks serialised per browser task when many rows changed at once.
pub const SAVE_CHUNKS: usize = 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RowState {
    /// Not yet invited: goes with the next Submit if it has no problems.
    Ready,
    Invited,
    Removed,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DraftRow {
    /// The row number in the officer's spreadsheet, which never changes: the row's id
    /// ([`DraftRow::id`]) is made from it.
    pub line: usize,
    pub raw: RawAccount,
    pub state: RowState,
    /// The Create account rules, checked in the browser.
    pub problems: Vec<FieldError>,
    /// Clashes with other rows of the file.
    pub duplicates: Vec<FieldError>,
    /// What the server said (pre-check or submit), with that request's Trace ID.
    pub server_problems: Vec<FieldError>,
    pub trace_id: Option<String>,
    pub invitation_id: Option<String>,
}

impl DraftRow {
    pub fn new(line: usize, raw: RawAccount) -> DraftRow {
        DraftRow {
            line,
            problems: row_problems(&raw),
            raw,
            state: RowState::Ready,
            duplicates: Vec::new(),
            server_problems: Vec::new(),
            trace_id: None,
            invitation_id: None,
        }
    }

    /// Stable across edits and resubmits: the batch's idempotency is keyed on it. Made from
    /// the row number when asked for (the server's calls and the grid's keys), not kept with
    /// each of a file's 100,000 rows. (Lists stored by earlier versions kept it: it was this.)
    pub fn id(&self) -> String {
        format!("r{}", self.line)
    }

    pub fn is_active(&self) -> bool {
        self.state != RowState::Removed
    }

    pub fn needs_attention(&self) -> bool {
        self.state == RowState::Ready && self.all_problems().next().is_some()
    }

    /// Ready, with nothing known against it: goes with the next Submit.
    pub fn is_submittable(&self) -> bool {
        self.state == RowState::Ready && self.all_problems().next().is_none()
    }

    pub fn all_problems(&self) -> impl Iterator<Item = &FieldError> {
        self.problems
            .iter()
            .chain(&self.duplicates)
            .chain(&self.server_problems)
    }

    /// Public officer or vendor, once the address is valid.
    pub fn kind(&self) -> Option<UserKind> {
        Email::parse(&self.raw.email).ok().map(|e| e.kind())
    }

    /// New values from View details: checked again, and what the server said before no
    /// longer applies.
    pub fn edit(&mut self, raw: RawAccount) {
        self.problems = row_problems(&raw);
        self.raw = raw;
        self.server_problems.clear();
        self.trace_id = None;
    }
}

/// The first lines of the stored draft (and of the worker's answer).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DraftMeta {
    /// The batch's idempotency key, made in the browser when the file was uploaded.
    pub key: String,
    pub file_name: String,
    pub format: String,
    pub notices: Vec<String>,
    pub rows: usize,
}

impl DraftMeta {
    pub fn chunks(&self) -> usize {
        self.rows.div_ceil(CHUNK_ROWS)
    }
}

/// What the parsing worker answers first: either an error the officer can act on, or the
/// meta line with the list's counts, followed by the rows in chunks of [`CHUNK_ROWS`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum UploadHead {
    Refused {
        message: String,
    },
    /// The officer must say which sheet, or which column is which, before the file is read
    /// (nothing is stored; the page asks the worker again with the answer).
    Ask {
        question: import::Question,
    },
    Parsed {
        meta: DraftMeta,
        /// Known once every row is checked, before the rows reach the page: the page shows
        /// them with the first chunk while the rest streams in.
        counts: Counts,
    },
}

/// A parsed and checked file, handed over a part at a time: the head (UTF-8 JSON of
/// [`UploadHead`]), then each chunk of rows (in the packed form, [`super::packed`]), encoded
/// when asked for, so the worker can send the head and the first rows before it encodes the
/// rest. Feature `parser`: the worker's bundle has it, the page's does not.
#[cfg(feature = "parser")]
pub struct PreparedUpload {
    head: UploadHead,
    rows: Vec<DraftRow>,
}

#[cfg(feature = "parser")]
impl PreparedUpload {
    /// Parses a file and checks every row: the whole of the worker's work but the encoding.
    /// `choice` is the officer's answer to an earlier question about this file; `scan`, where
    /// an xlsx's cell references are scanned (`Elsewhere`: see [`import::ReferenceScan`]).
    pub fn new(
        bytes: &[u8],
        file_name: &str,
        key: &str,
        choice: &import::Choice,
        scan: import::ReferenceScan,
    ) -> PreparedUpload {
        let limits = import::Limits::default();
        let reading = import::read_with(bytes, file_name, &limits, choice, scan);
        Self::checked(reading, file_name, key)
    }

    /// What reading a file came to (`import::read_with`, or `import::Feed::finish`), its rows
    /// checked.
    pub fn checked(
        reading: Result<import::Reading, import::ImportError>,
        file_name: &str,
        key: &str,
    ) -> PreparedUpload {
        let sheet = match reading {
            Ok(import::Reading::Read(sheet)) => sheet,
            Ok(import::Reading::Ask(question)) => {
                return PreparedUpload {
                    head: UploadHead::Ask { question },
                    rows: Vec::new(),
                }
            }
            Err(e) => return Self::refused(&e),
        };
        Self::from_sheet(sheet, file_name, key, |_| {})
    }

    /// A file refused with `error`'s message.
    pub fn refused(error: &import::ImportError) -> PreparedUpload {
        PreparedUpload {
            head: UploadHead::Refused {
                message: error.to_string(),
            },
            rows: Vec::new(),
        }
    }

    /// A parsed file's rows checked: the rules (then `lap(1)`), the clashes within the file
    /// (then `lap(2)`).
    fn from_sheet(
        sheet: import::Sheet,
        file_name: &str,
        key: &str,
        mut lap: impl FnMut(usize),
    ) -> PreparedUpload {
        let mut rows: Vec<DraftRow> = sheet
            .rows
            .into_iter()
            .map(|r| DraftRow::new(r.line, r.raw))
            .collect();
        lap(1);
        recheck_duplicates(&mut rows);
        lap(2);
        let meta = DraftMeta {
            key: key.to_string(),
            file_name: file_name.to_string(),
            format: sheet.format,
            notices: sheet.notices,
            rows: rows.len(),
        };
        PreparedUpload {
            head: UploadHead::Parsed {
                meta,
                counts: counts(&rows),
            },
            rows,
        }
    }

    pub fn head(&self) -> Vec<u8> {
        serde_json::to_vec(&self.head).unwrap_or_default()
    }

    /// The head, then every chunk.
    pub fn parts(&self) -> Vec<Vec<u8>> {
        std::iter::once(self.head())
            .chain((0..self.chunks()).map(|i| self.chunk(i)))
            .collect()
    }

    /// How many chunks of rows follow the head (none for a refused file).
    pub fn chunks(&self) -> usize {
        self.rows.len().div_ceil(CHUNK_ROWS)
    }

    /// Chunk `i` (empty past the last).
    pub fn chunk(&self, i: usize) -> Vec<u8> {
        if i >= self.chunks() {
            return Vec::new();
        }
        self.rows_packed(i * CHUNK_ROWS, (i + 1) * CHUNK_ROWS)
    }

    /// Rows `start..end` (cut to the list) in the packed form: the worker sends the first
    /// screenful on its own, before the rest of the first chunk.
    pub fn rows_packed(&self, start: usize, end: usize) -> Vec<u8> {
        let end = end.min(self.rows.len());
        let start = start.min(end);
        super::packed::encode(&self.rows[start..end])
    }
}

/// The worker's answer in one go: the head, then every chunk (the parse benchmark and tests).
#[cfg(feature = "parser")]
pub fn prepare_upload(bytes: &[u8], file_name: &str, key: &str) -> Vec<Vec<u8>> {
    PreparedUpload::new(
        bytes,
        file_name,
        key,
        &import::Choice::default(),
        import::ReferenceScan::Here,
    )
    .parts()
}

/// [`prepare_upload`], the file fed in parts of `part` bytes (`import::Feed`, reading from
/// its first part on), as the worker reads any file but a workbook that another worker checks
/// (its warm-up, and tests).
#[cfg(feature = "parser")]
pub fn prepare_fed_upload(bytes: &[u8], file_name: &str, key: &str, part: usize) -> Vec<Vec<u8>> {
    let choice = import::Choice::default();
    let mut feed = import::Feed::with_start(file_name, bytes.len(), choice, 0);
    for piece in bytes.chunks(part.max(1)) {
        feed.push(piece);
    }
    PreparedUpload::checked(feed.finish(), file_name, key).parts()
}

/// The worker's steps for a file, each timed with `now` (milliseconds): the parse, the rules
/// (each row into a [`DraftRow`]), the clashes within the file, the counts and the head, and
/// the packing of every chunk; `None` if the file is refused. For `make bench`, which runs it
/// in the browser (the worker's `bench_stages`, in the parse section).
#[cfg(feature = "parser")]
pub fn timed_stages(bytes: &[u8], file_name: &str, now: impl Fn() -> f64) -> Option<[f64; 5]> {
    let mut times = [0.0; 5];
    let mut t = now();
    let mut lap = |i: usize| {
        let at = now();
        times[i] = at - t;
        t = at;
    };
    let sheet = import::parse(bytes, file_name, &import::Limits::default()).ok()?;
    lap(0);
    let upload = PreparedUpload::from_sheet(sheet, file_name, "bench", &mut lap);
    std::hint::black_box(upload.head());
    lap(3);
    for i in 0..upload.chunks() {
        std::hint::black_box(upload.chunk(i));
    }
    lap(4);
    Some(times)
}

/// Recomputes the clashes within the file (ignoring removed and already invited rows) and
/// returns the positions of rows whose clashes changed.
pub fn recheck_duplicates(rows: &mut [DraftRow]) -> BTreeSet<usize> {
    let live: Vec<usize> = (0..rows.len())
        .filter(|&i| rows[i].state == RowState::Ready)
        .collect();
    let found = in_file_duplicates(live.iter().map(|&i| (rows[i].line, &rows[i].raw)));
    let mut changed = BTreeSet::new();
    for (i, dups) in live.iter().zip(found) {
        if rows[*i].duplicates != dups {
            rows[*i].duplicates = dups;
            changed.insert(*i);
        }
    }
    for (i, row) in rows.iter_mut().enumerate() {
        if row.state != RowState::Ready && !row.duplicates.is_empty() {
            row.duplicates.clear();
            changed.insert(i);
        }
    }
    changed
}

/// What merging a corrected file into the list did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Merged {
    /// Positions of the list's rows that the file's rows replaced (matched by address).
    pub replaced: BTreeSet<usize>,
    /// Rows of the file with an address the list did not have, added at its end.
    pub added: usize,
    /// Rows of the file whose address the list has already invited: left out.
    pub invited: usize,
}

/// Merges a corrected file's rows into the list: a row whose address (compared as the server
/// does) is a row of the list waiting to be submitted replaces that row's values (the row
/// keeps its place, number and id, so a submit under the list's key stays idempotent); a row
/// whose address was already invited from this list is left out; any other row is added at
/// the end, numbered after the list's last row. The clashes within the list are checked again.
pub fn merge(rows: &mut Vec<DraftRow>, incoming: Vec<DraftRow>) -> Merged {
    let targets = merge_plan(rows, &incoming);
    let mut merged = Merged::default();
    let mut next_line = rows.iter().map(|r| r.line).max().unwrap_or(1) + 1;
    for (row, target) in incoming.into_iter().zip(targets) {
        match target {
            Target::Replace(p) => {
                rows[p].edit(row.raw);
                merged.replaced.insert(p);
            }
            Target::Invited => merged.invited += 1,
            Target::Add => {
                rows.push(DraftRow::new(next_line, row.raw));
                next_line += 1;
                merged.added += 1;
            }
        }
    }
    recheck_duplicates(rows);
    merged
}

/// What [`merge`] would do, without doing it (for the officer to choose merge or replace).
pub fn merge_preview(rows: &[DraftRow], incoming: &[DraftRow]) -> Merged {
    let mut merged = Merged::default();
    for target in merge_plan(rows, incoming) {
        match target {
            Target::Replace(p) => {
                merged.replaced.insert(p);
            }
            Target::Invited => merged.invited += 1,
            Target::Add => merged.added += 1,
        }
    }
    merged
}

/// Where each of a corrected file's rows goes in a merge.
enum Target {
    Replace(usize),
    Invited,
    Add,
}

fn merge_plan(rows: &[DraftRow], incoming: &[DraftRow]) -> Vec<Target> {
    let mut waiting: BTreeMap<String, usize> = BTreeMap::new();
    let mut invited: BTreeSet<String> = BTreeSet::new();
    for (p, row) in rows.iter().enumerate() {
        let Some(key) = email_key(&row.raw.email) else {
            continue;
        };
        match row.state {
            RowState::Ready => {
                waiting.entry(key).or_insert(p);
            }
            RowState::Invited => {
                invited.insert(key);
            }
            RowState::Removed => {}
        }
    }
    let mut taken: BTreeSet<usize> = BTreeSet::new();
    incoming
        .iter()
        .map(|row| {
            let key = email_key(&row.raw.email);
            match key.as_ref().and_then(|k| waiting.get(k)) {
                Some(&p) if taken.insert(p) => Target::Replace(p),
                _ if key.as_ref().is_some_and(|k| invited.contains(k)) => Target::Invited,
                _ => Target::Add,
            }
        })
        .collect()
}

/// The chunks holding these row positions (what the draft store must save again).
pub fn chunks_of(positions: impl IntoIterator<Item = usize>) -> BTreeSet<usize> {
    positions.into_iter().map(|i| i / CHUNK_ROWS).collect()
}

/// How many rows the journal holds at most: a handful of edits, a submit's chunk, never the
/// whole of a big list (browser storage is small and written on every change).
pub const JOURNAL_ROWS: usize = 5_000;

/// The changes to the kept list that IndexedDB may not have yet. IndexedDB writes finish
/// later, and a refresh straight after an edit, a submit or Reset would drop them; the journal
/// is written at once (to the browser's local storage) and read back over the stored list.
/// It holds, for each row in it, the row's latest value, never an older one.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Journal {
    /// The list's key ([`DraftMeta::key`]).
    pub key: String,
    /// Reset: the list is gone, whatever IndexedDB still holds.
    pub cleared: bool,
    /// Row position to the row as it is now.
    pub rows: BTreeMap<usize, DraftRow>,
}

impl Journal {
    /// The list `key` was reset.
    pub fn cleared(key: &str) -> Journal {
        Journal {
            key: key.to_string(),
            cleared: true,
            rows: BTreeMap::new(),
        }
    }

    /// Notes the current value of `rows` at `positions` of list `key` (a journal of another
    /// list starts over). A row that finds no room leaves the journal, so that no older value
    /// of it stays behind.
    pub fn note(&mut self, key: &str, rows: &[DraftRow], positions: &BTreeSet<usize>) {
        if self.key != key || self.cleared {
            *self = Journal {
                key: key.to_string(),
                ..Journal::default()
            };
        }
        for &p in positions {
            match rows.get(p) {
                Some(row) if self.rows.len() < JOURNAL_ROWS || self.rows.contains_key(&p) => {
                    self.rows.insert(p, row.clone());
                }
                _ => {
                    self.rows.remove(&p);
                }
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        !self.cleared && self.rows.is_empty()
    }

    /// Brings a list read back from IndexedDB up to date: `None` when the officer reset it,
    /// else the positions of the rows the journal holds for it (to store them again).
    pub fn restore(&self, meta: &DraftMeta, rows: &mut [DraftRow]) -> Option<BTreeSet<usize>> {
        if self.key != meta.key {
            return Some(BTreeSet::new());
        }
        if self.cleared {
            return None;
        }
        let mut held = BTreeSet::new();
        for (&p, row) in &self.rows {
            if let Some(slot) = rows.get_mut(p) {
                slot.clone_from(row);
                held.insert(p);
            }
        }
        Some(held)
    }
}

/// Counts for the heading and the live announcement.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub users: usize,
    pub attention: usize,
    pub invited: usize,
    pub ready: usize,
}

pub fn counts(rows: &[DraftRow]) -> Counts {
    let mut c = Counts::default();
    for row in rows.iter().filter(|r| r.is_active()) {
        c.users += 1;
        if row.state == RowState::Invited {
            c.invited += 1;
        } else if row.needs_attention() {
            c.attention += 1;
        } else {
            c.ready += 1;
        }
    }
    c
}

/// "52 users, 3 need attention", in plain words.
pub fn describe(c: Counts) -> String {
    let users = plural(c.users, "user", "users");
    let mut parts = vec![users];
    if c.invited > 0 {
        parts.push(format!("{} invited", group(c.invited)));
    }
    if c.attention > 0 {
        parts.push(format!(
            "{} {}",
            group(c.attention),
            if c.attention == 1 {
                "needs attention"
            } else {
                "need attention"
            }
        ));
    }
    parts.join(", ")
}

/// 100000 → "100,000".
pub fn group(n: usize) -> String {
    crate::format::thousands(n as u64)
}

/// The form's label for a field name, for messages shown away from the form.
/// The header of the download's column of problems.
pub const ERRORS_HEADER: &str = "Errors";

/// The rows that need attention, for the officer to fix in a spreadsheet and upload again:
/// the template's headers and an Errors column, then each row as it is now with what is
/// wrong with it.
pub fn attention_table(rows: &[DraftRow]) -> Vec<Vec<String>> {
    let header = import::COLUMNS
        .iter()
        .map(|c| c.header.to_string())
        .chain(std::iter::once(ERRORS_HEADER.to_string()))
        .collect();
    std::iter::once(header)
        .chain(
            rows.iter()
                .filter(|r| r.is_active() && r.needs_attention())
                .map(|row| {
                    let errors = row
                        .all_problems()
                        .map(|p| format!("{}: {}", field_label(&p.field), p.message))
                        .collect::<Vec<_>>()
                        .join("; ");
                    row.raw
                        .values()
                        .iter()
                        .map(|v| v.to_string())
                        .chain(std::iter::once(errors))
                        .collect()
                }),
        )
        .collect()
}

/// A table as CSV the way Excel reads it: UTF-8 with a byte-order mark, CRLF line ends,
/// formula-like cells defused.
pub fn to_csv(table: &[Vec<String>]) -> String {
    let mut out = String::from("\u{feff}");
    for row in table {
        let line: Vec<String> = row
            .iter()
            .map(|c| crate::format::csv_field(&crate::format::defuse(c)).into_owned())
            .collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

pub fn field_label(field: &str) -> &'static str {
    import::COLUMNS
        .iter()
        .find(|c| c.field == field)
        .map(|c| c.header)
        .unwrap_or("Row")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::packed;

    fn officer(line: usize, email: &str) -> DraftRow {
        DraftRow::new(
            line,
            RawAccount {
                email: email.into(),
                first_name: "Ann".into(),
                last_name: "Tan".into(),
                contact_number: "91234567".into(),
                organisation: "GovTech".into(),
                seed_required: "No".into(),
                reason: "Builds the portal".into(),
                ..RawAccount::default()
            },
        )
    }

    #[cfg(feature = "parser")]
    #[test]
    fn the_rows_that_need_attention_download_and_read_back_as_they_are() {
        let mut bad = officer(3, "not an address");
        bad.raw.contact_number = "+65 =1".into();
        bad.raw.reason = "Needs, \"quotes\"\nand lines".into();
        bad.edit(bad.raw.clone());
        let rows = vec![officer(2, "ann@tech.gov.sg"), bad.clone()];
        let table = attention_table(&rows);
        assert_eq!(
            table.len(),
            2,
            "the header and the one row that needs attention"
        );
        assert_eq!(table[0].last().map(String::as_str), Some(ERRORS_HEADER));
        assert!(
            table[1][9].starts_with("Email address: "),
            "{}",
            table[1][9]
        );
        let csv = to_csv(&table);
        let sheet = import::parse(csv.as_bytes(), "fix.csv", &import::Limits::default())
            .expect("our own download reads back");
        assert_eq!(sheet.rows.len(), 1);
        assert_eq!(sheet.rows[0].raw, bad.raw);
        assert_eq!(
            sheet.notices,
            ["Ignored columns not in the template: Errors"]
        );
    }

    #[test]
    fn a_corrected_file_merges_by_address() {
        let mut bad = officer(3, "bob@tech.gov.sg");
        bad.raw.contact_number = "12".into();
        bad.edit(bad.raw.clone());
        let mut invited = officer(4, "cat@tech.gov.sg");
        invited.state = RowState::Invited;
        let mut rows = vec![officer(2, "ann@tech.gov.sg"), bad, invited];
        let bob_id = rows[1].id();
        assert!(rows[1].needs_attention());
        let mut fixed = officer(2, "BOB@tech.gov.sg");
        fixed.raw.contact_number = "91234567".into();
        let incoming = vec![
            fixed,
            officer(3, "cat@tech.gov.sg"),
            officer(4, "dan@tech.gov.sg"),
            officer(5, "dan@tech.gov.sg"),
        ];
        let preview = merge_preview(&rows, &incoming);
        let merged = merge(&mut rows, incoming);
        assert_eq!(merged, preview);
        assert_eq!(merged.replaced, BTreeSet::from([1]));
        assert_eq!((merged.added, merged.invited), (2, 1));
        assert_eq!(rows.len(), 5);
        // Bob's row keeps its place, number and id, and is fixed.
        assert_eq!((rows[1].line, rows[1].id()), (3, bob_id));
        assert!(rows[1].is_submittable(), "{:?}", rows[1].problems);
        // The new rows are numbered after the list's last, and the second Dan clashes.
        assert_eq!((rows[3].line, rows[4].line), (5, 6));
        assert!(rows[4].needs_attention());
    }

    #[test]
    fn a_clean_row_is_submittable_and_a_duplicate_needs_attention_until_the_first_goes() {
        let mut rows = vec![officer(2, "ann@tech.gov.sg"), officer(3, "ANN@tech.gov.sg")];
        assert!(rows[0].is_submittable(), "{:?}", rows[0].problems);
        let changed = recheck_duplicates(&mut rows);
        assert_eq!(changed.into_iter().collect::<Vec<_>>(), vec![1]);
        assert!(rows[1].needs_attention());
        rows[0].state = RowState::Removed;
        recheck_duplicates(&mut rows);
        assert!(rows[1].is_submittable());
    }

    #[test]
    fn counts_and_their_description() {
        let mut rows = vec![officer(2, "a@tech.gov.sg"), officer(3, "not an address")];
        rows.push(officer(4, "c@tech.gov.sg"));
        rows[2].state = RowState::Invited;
        let c = counts(&rows);
        assert_eq!((c.users, c.attention, c.invited, c.ready), (3, 1, 1, 1));
        assert_eq!(describe(c), "3 users, 1 invited, 1 needs attention");
        assert_eq!(group(100_000), "100,000");
        assert_eq!(group(52), "52");
    }

    #[test]
    fn editing_a_row_clears_what_the_server_said() {
        let mut row = officer(2, "ann@tech.gov.sg");
        row.server_problems
            .push(FieldError::new("email", "already has an account"));
        row.trace_id = Some("abc".into());
        assert!(row.needs_attention());
        let raw = RawAccount {
            email: "ann.tan@tech.gov.sg".into(),
            ..row.raw.clone()
        };
        row.edit(raw);
        assert!(row.is_submittable());
        assert_eq!(row.trace_id, None);
    }

    #[test]
    fn chunks_group_positions() {
        let set = chunks_of([0, 1, CHUNK_ROWS, CHUNK_ROWS * 3 + 5]);
        assert_eq!(set.into_iter().collect::<Vec<_>>(), vec![0, 1, 3]);
    }

    fn meta(key: &str, rows: usize) -> DraftMeta {
        DraftMeta {
            key: key.into(),
            file_name: "team.csv".into(),
            format: "csv".into(),
            notices: Vec::new(),
            rows,
        }
    }

    #[test]
    fn the_journal_brings_a_stored_list_up_to_date_and_forgets_what_a_reset_removed() {
        let stored = vec![officer(2, "ann@tech.gov.sg"), officer(3, "not an address")];
        let mut now = stored.clone();
        let fixed = RawAccount {
            email: "cat@tech.gov.sg".into(),
            ..now[1].raw.clone()
        };
        now[1].edit(fixed);
        let mut journal = Journal::default();
        journal.note("k1", &now, &BTreeSet::from([1]));
        // What a refresh reads back: the stored list, and the journal written at the edit.
        let journal: Journal =
            serde_json::from_str(&serde_json::to_string(&journal).unwrap()).unwrap();
        let mut restored = stored.clone();
        let held = journal.restore(&meta("k1", 2), &mut restored);
        assert_eq!(held, Some(BTreeSet::from([1])));
        assert_eq!(restored, now);

        // A journal of another list changes nothing; a Reset of this one removes the list.
        let mut other = stored.clone();
        assert_eq!(
            journal.restore(&meta("k2", 2), &mut other),
            Some(BTreeSet::new())
        );
        assert_eq!(other, stored);
        assert_eq!(
            Journal::cleared("k1").restore(&meta("k1", 2), &mut other),
            None
        );
        assert_eq!(
            Journal::cleared("k0").restore(&meta("k1", 2), &mut other),
            Some(BTreeSet::new())
        );

        // A row past the row limit leaves the journal rather than keep an old value.
        let many: Vec<DraftRow> = (0..JOURNAL_ROWS + 2)
            .map(|i| officer(i + 2, &format!("p{i}@tech.gov.sg")))
            .collect();
        let mut journal = Journal::default();
        journal.note("k1", &many, &BTreeSet::from([JOURNAL_ROWS + 1]));
        journal.note("k1", &many, &(0..JOURNAL_ROWS).collect());
        assert_eq!(journal.rows.len(), JOURNAL_ROWS);
        assert!(journal.rows.contains_key(&(JOURNAL_ROWS + 1)));
        assert!(!journal.rows.contains_key(&(JOURNAL_ROWS - 1)));
        journal.note("k1", &many, &BTreeSet::from([JOURNAL_ROWS - 2]));
        assert!(
            journal.rows.contains_key(&(JOURNAL_ROWS - 2)),
            "a row already held is updated"
        );
        // Another list starts a fresh journal.
        journal.note("k2", &many, &BTreeSet::from([0]));
        assert_eq!((journal.key.as_str(), journal.rows.len()), ("k2", 1));
        assert!(!journal.is_empty() && Journal::default().is_empty());
    }

    #[cfg(feature = "parser")]
    #[test]
    fn the_head_carries_the_whole_lists_counts_and_the_chunks_carry_every_row_in_order() {
        use crate::import::COLUMNS;
        let header: Vec<&str> = COLUMNS.iter().map(|c| c.header).collect();
        let mut csv = header.join(",") + "\n";
        let n = CHUNK_ROWS + 7;
        for i in 0..n {
            // Every tenth row has no first name; rows 3 and 4 share an address.
            let first = if i % 10 == 9 { "" } else { "Ann" };
            let email = if i == 4 { 3 } else { i };
            csv += &format!(
                "user{email}@tech.gov.sg,,{first},Tan,91234567,GovTech,,No,Builds the portal\n"
            );
        }
        let upload = PreparedUpload::new(
            csv.as_bytes(),
            "users.csv",
            "k",
            &import::Choice::default(),
            import::ReferenceScan::Here,
        );
        assert_eq!(upload.chunks(), 2);
        let UploadHead::Parsed { meta, counts: told } =
            serde_json::from_slice(&upload.head()).unwrap()
        else {
            panic!("the file was refused");
        };
        let rows: Vec<DraftRow> = (0..upload.chunks())
            .flat_map(|i| packed::decode(&upload.chunk(i)).unwrap())
            .collect();
        assert_eq!((meta.rows, rows.len()), (n, n));
        assert!(rows.windows(2).all(|w| w[0].line < w[1].line));
        assert_eq!(told, counts(&rows));
        assert_eq!(
            told.attention,
            n / 10 + 1,
            "the blank first names and the later of the clash"
        );
        assert!(upload.chunk(2).is_empty());
        // Fed in parts as the worker reads it (a 140 KB file: read as it came), the same answer.
        assert!(csv.len() > 100_000);
        assert_eq!(
            prepare_fed_upload(csv.as_bytes(), "users.csv", "k", 3_000),
            upload.parts()
        );
        // A first screenful and the rest of the first chunk are the first chunk.
        let first = packed::decode(&upload.rows_packed(0, 100)).unwrap();
        let rest = packed::decode(&upload.rows_packed(100, CHUNK_ROWS)).unwrap();
        assert_eq!([first, rest].concat(), rows[..CHUNK_ROWS]);
        assert_eq!(
            packed::decode(&upload.rows_packed(n + 5, n + 9)),
            Some(Vec::new())
        );
        assert_eq!(prepare_upload(csv.as_bytes(), "users.csv", "k").len(), 3);
    }

    #[test]
    fn a_refused_file_gives_one_head_with_the_message() {
        let out = prepare_upload(b"", "users.csv", "k");
        assert_eq!(out.len(), 1);
        let head: UploadHead = serde_json::from_slice(&out[0]).unwrap();
        assert!(matches!(head, UploadHead::Refused { .. }));
    }
}
