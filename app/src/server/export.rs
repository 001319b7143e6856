//! Invite user status as a file: the list with the page's search and filter (every page of
//! it), as CSV or as an Excel workbook.
//!
//! A spreadsheet treats a CSV cell that begins with `=`, `+`, `-` or `@` (or a tab or CR,
//! which some strip first) as a formula, so such cells are written with a leading `'`
//! (OWASP's advice): a reason typed as `=HYPERLINK(...)` shows as text instead of running.
//! What is stored stays as typed. In the workbook every cell is a text cell, which Excel never
//! evaluates, so no cell needs changing there.

use rust_xlsxwriter::{Format, Workbook, XlsxError};

use crate::format::sg_iso_date_time;
use crate::wire::StatusRow;

/// The exports being made, by officer: at most one each at a time (an export can hold up to
/// [`MAX_BATCH_ROWS`](crate::domain::limits::MAX_BATCH_ROWS) rows in memory while it is made).
#[derive(Debug, Default)]
pub struct ExportsInFlight(std::sync::Mutex<std::collections::HashSet<String>>);

/// An officer's export in progress; dropping it (the export done, failed or abandoned) lets
/// them start another.
#[derive(Debug)]
pub struct ExportTicket {
    set: std::sync::Arc<ExportsInFlight>,
    officer: String,
}

impl ExportsInFlight {
    /// The officer's ticket, unless an export of theirs is already being made.
    pub fn start(self: &std::sync::Arc<Self>, officer: &str) -> Option<ExportTicket> {
        let mut busy = self.0.lock().unwrap_or_else(|p| p.into_inner());
        busy.insert(officer.to_string()).then(|| ExportTicket {
            set: self.clone(),
            officer: officer.to_string(),
        })
    }
}

impl Drop for ExportTicket {
    fn drop(&mut self) {
        let mut busy = self.set.0.lock().unwrap_or_else(|p| p.into_inner());
        busy.remove(&self.officer);
    }
}

/// What an officer who asks for a second export at once is told.
pub const EXPORT_BUSY: &str =
    "Your previous export is still being prepared. Wait for its download to start, then try again.";

pub const CSV_CONTENT_TYPE: &str = "text/csv; charset=utf-8";
pub const XLSX_CONTENT_TYPE: &str =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

const HEADERS: [&str; 12] = [
    "Email address",
    "First name",
    "Last name",
    "Officer or vendor",
    "Invitation type",
    "Invited by",
    "Invited on (SGT)",
    "Link expires (SGT)",
    "TechPass account status",
    "SEED licence status",
    "Email delivery",
    "Invitation ID",
];

fn cells(row: &StatusRow) -> [String; 12] {
    [
        row.email.clone(),
        row.first_name.clone().unwrap_or_default(),
        row.last_name.clone().unwrap_or_default(),
        row.kind_label().to_string(),
        row.type_label().to_string(),
        row.invited_by.clone(),
        sg_iso_date_time(row.invited_on),
        sg_iso_date_time(row.expires_at),
        row.account.label().to_string(),
        row.seed.label().to_string(),
        row.delivery.label().to_string(),
        row.id.clone(),
    ]
}

pub use crate::format::defuse;

/// "Invite user status.csv" as Excel reads it: UTF-8 with a byte-order mark, CRLF line ends.
pub fn to_csv(rows: &[StatusRow]) -> Result<Vec<u8>, csv::Error> {
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(b"\xEF\xBB\xBF".to_vec());
    out.write_record(HEADERS)?;
    for row in rows {
        out.write_record(cells(row).iter().map(|c| defuse(c).into_owned()))?;
    }
    out.into_inner().map_err(|e| e.into_error().into())
}

/// The same list as a workbook: a bold, frozen header row, every cell text.
pub fn to_xlsx(rows: &[StatusRow]) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("Invite user status")?;
    let bold = Format::new().set_bold();
    for (c, header) in (0u16..).zip(HEADERS) {
        sheet.write_string_with_format(0, c, header, &bold)?;
        sheet.set_column_width(c, if c == 0 || c == 5 { 32 } else { 18 })?;
    }
    sheet.set_freeze_panes(1, 0)?;
    for (r, row) in (1u32..).zip(rows) {
        for (c, cell) in (0u16..).zip(cells(row)) {
            sheet.write_string(r, c, cell)?;
        }
    }
    book.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AccountState, Delivery, SeedState};

    fn row(reason_like: &str) -> StatusRow {
        StatusRow {
            id: "id-1".into(),
            email: "a@agency.gov.sg".into(),
            first_name: Some(reason_like.into()),
            last_name: Some("Tan, \"Jr\"".into()),
            kind: "officer".into(),
            invitation_type: "email".into(),
            invited_by: "boss@agency.gov.sg".into(),
            invited_on: 1_795_309_500_000,
            expires_at: 1_796_519_100_000,
            account: AccountState::Invited,
            seed: SeedState::Pending,
            delivery: Delivery::Sent,
            problem: None,
        }
    }

    #[test]
    fn formula_cells_are_defused_and_others_kept() {
        for bad in ["=1+1", "+65 9123", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(defuse(bad), format!("'{bad}"));
        }
        for fine in ["Tan", "65 9123", "a=b", " =x", ""] {
            assert_eq!(defuse(fine), fine);
        }
    }

    #[test]
    fn csv_reads_back_with_the_csv_crate() {
        let bytes = to_csv(&[row("=HYPERLINK(\"http://x\")")]).unwrap();
        assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
        let mut reader = csv::Reader::from_reader(&bytes[3..]);
        assert_eq!(
            reader.headers().unwrap().iter().collect::<Vec<_>>(),
            HEADERS
        );
        let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(records.len(), 1);
        assert_eq!(&records[0][1], "'=HYPERLINK(\"http://x\")");
        assert_eq!(&records[0][2], "Tan, \"Jr\"");
        assert_eq!(&records[0][6], "2026-11-22 09:05");
        assert_eq!(&records[0][8], "Invited");
    }
}
