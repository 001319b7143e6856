//! The batch upload templates: an xlsx workbook (with the columns formatted and explained)
//! and a CSV file. Both hold the header row only: an example row in the sheet would be
//! invited by mistake, so the example lives on the Instructions sheet.
//!
//! The headers are exactly `import::COLUMNS`' headers, in order: the parser reads them back.

use std::sync::OnceLock;

use rust_xlsxwriter::{DataValidation, Format, FormatAlign, Workbook, XlsxError};

use crate::domain::limits::MAX_BATCH_ROWS;
use crate::format::csv_field;
use crate::import::COLUMNS;

pub const XLSX_FILE_NAME: &str = "techbiz-invite-users.xlsx";
pub const CSV_FILE_NAME: &str = "techbiz-invite-users.csv";
pub const XLSX_CONTENT_TYPE: &str =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
pub const CSV_CONTENT_TYPE: &str = "text/csv; charset=utf-8";

/// The sheet people fill in, and the one that explains it.
pub const USERS_SHEET: &str = "Users";
pub use crate::import::INSTRUCTIONS_SHEET;

/// The xlsx template, built once.
pub fn xlsx() -> Result<&'static [u8], XlsxError> {
    static XLSX: OnceLock<Vec<u8>> = OnceLock::new();
    if let Some(bytes) = XLSX.get() {
        return Ok(bytes);
    }
    let built = build_xlsx()?;
    // Two first requests may both build it; either copy is the same.
    Ok(XLSX.get_or_init(|| built))
}

/// The CSV template: UTF-8 with a byte order mark (so Excel opens it as UTF-8), CRLF line
/// ends, the header line only.
pub fn csv() -> &'static str {
    static CSV: OnceLock<String> = OnceLock::new();
    CSV.get_or_init(|| {
        let line = COLUMNS
            .iter()
            .map(|c| csv_field(c.header))
            .collect::<Vec<_>>()
            .join(",");
        format!("\u{feff}{line}\r\n")
    })
}

/// What the Instructions sheet says about a column: whether it is required, what to enter,
/// and an example value (a vendor's row).
fn guidance(field: &str) -> (&'static str, &'static str, &'static str) {
    match field {
        "email" => (
            "Required",
            "The person's work email address. Public officers have an address ending in \
             gov.sg (for example name@agency.gov.sg); anyone else is a vendor.",
            "mei.ling.tan@acme.com.sg",
        ),
        "username" => (
            "Vendors only",
            "Vendors: the TechPass username they will sign in with: 3 to 30 characters, \
             lower-case letters, digits and . _ -, starting with a letter. Public officers: \
             leave it blank (their username comes from their gov.sg email address).",
            "mei.tan",
        ),
        "first_name" => ("Required", "The person's first (given) name.", "Mei Ling"),
        "last_name" => ("Required", "The person's last name (surname).", "Tan"),
        "contact_number" => (
            "Required",
            "A phone number with its country code, like +65 9123 4567. Singapore numbers \
             may leave out +65. The column is formatted as text so that Excel keeps the + \
             and any leading zeros.",
            "+65 9123 4567",
        ),
        "organisation" => (
            "Required",
            "The agency or company the person works for.",
            "Acme Pte Ltd",
        ),
        "department" => (
            "Optional",
            "The person's department, division or team.",
            "Digital Services",
        ),
        "seed_required" => (
            "Required",
            "Yes if the person must be onboarded to SEED, otherwise No. Pick from the list \
             in the cell.",
            "No",
        ),
        "reason" => (
            "Required",
            "Why the person needs a TechPass account: 500 characters or fewer.",
            "Developer on the agency's new booking system",
        ),
        _ => ("", "", ""),
    }
}

fn column_width(field: &str) -> f64 {
    match field {
        "email" => 34.0,
        "seed_required" => 32.0,
        "reason" => 60.0,
        "contact_number" | "organisation" | "department" => 22.0,
        _ => 20.0,
    }
}

fn build_xlsx() -> Result<Vec<u8>, XlsxError> {
    let bold = Format::new().set_bold();
    // Excel's built-in number format 49 is Text ("@").
    let text = Format::new().set_num_format_index(49);
    let wrap = Format::new().set_text_wrap().set_align(FormatAlign::Top);
    let mut workbook = Workbook::new();

    let users = workbook.add_worksheet();
    users.set_name(USERS_SHEET)?;
    for (i, column) in COLUMNS.iter().enumerate() {
        let col = u16::try_from(i).map_err(|_| XlsxError::RowColumnLimitError)?;
        users.write_string_with_format(0, col, column.header, &bold)?;
        users.set_column_width(col, column_width(column.field))?;
        match column.field {
            // Text, so "+65 9123 4567" and "0065..." stay as typed instead of becoming numbers.
            "contact_number" => {
                users.set_column_format(col, &text)?;
            }
            "seed_required" => {
                let yes_no = DataValidation::new()
                    .allow_list_strings(&["Yes", "No"])?
                    .set_input_title("Onboarding to SEED")?
                    .set_input_message("Choose Yes or No from the list.")?
                    .set_error_title("Yes or No")?
                    .set_error_message(
                        "Enter Yes if onboarding to SEED is required, otherwise No.",
                    )?;
                // Rows 2 to 100,001: the most one file may hold.
                users.add_data_validation(1, col, MAX_BATCH_ROWS as u32, col, &yes_no)?;
            }
            _ => {}
        }
    }
    users.set_freeze_panes(1, 0)?;

    let help = workbook.add_worksheet();
    help.set_name(INSTRUCTIONS_SHEET)?;
    help.write_string_with_format(0, 0, "How to fill in the Users sheet", &bold)?;
    let intro = [
        "Enter one person per row on the Users sheet, starting in row 2, under the headers. \
         Do not change, move or delete the header row.",
        "Up to 100,000 users per file. Save it as .xlsx (or .csv) and upload it on the Batch \
         upload page.",
        "Public officers (email address ending in gov.sg): leave TechPass username blank. \
         Vendors: a TechPass username is required.",
        "Everyone in the file gets a TechPass account created for them and an email to \
         activate it.",
    ];
    let mut row: u32 = 1;
    for line in intro {
        help.merge_range(row, 0, row, 3, line, &wrap)?;
        help.set_row_height(row, 30)?;
        row += 1;
    }
    row += 1;
    let headings = ["Column", "Required?", "What to enter", "Example (a vendor)"];
    for (col, heading) in (0u16..).zip(headings) {
        help.write_string_with_format(row, col, heading, &bold)?;
    }
    row += 1;
    for column in COLUMNS.iter() {
        let (required, what, example) = guidance(column.field);
        help.write_string_with_format(row, 0, column.header, &wrap)?;
        help.write_string_with_format(row, 1, required, &wrap)?;
        help.write_string_with_format(row, 2, what, &wrap)?;
        help.write_string_with_format(row, 3, example, &wrap)?;
        row += 1;
    }
    row += 1;
    help.merge_range(
        row,
        0,
        row,
        3,
        "A public officer's row is like the example, with an email address such as \
         jane_lim@tech.gov.sg and TechPass username left blank.",
        &wrap,
    )?;
    help.set_row_height(row, 30)?;
    help.set_column_width(0, 32)?;
    help.set_column_width(1, 14)?;
    help.set_column_width(2, 70)?;
    help.set_column_width(3, 40)?;

    workbook.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_is_the_header_line_with_a_bom_and_crlf() {
        let csv = csv();
        assert!(csv.starts_with('\u{feff}'));
        assert!(csv.ends_with("\r\n"));
        let headers: Vec<&str> = csv
            .trim_start_matches('\u{feff}')
            .trim_end()
            .split(',')
            .collect();
        let expected: Vec<&str> = COLUMNS.iter().map(|c| c.header).collect();
        assert_eq!(headers, expected);
    }

    #[test]
    fn xlsx_builds_and_is_a_zip() {
        let bytes = xlsx().expect("template");
        assert!(bytes.starts_with(b"PK"));
    }

    #[test]
    fn every_column_is_explained() {
        for column in COLUMNS.iter() {
            let (required, what, example) = guidance(column.field);
            assert!(
                !required.is_empty() && !what.is_empty() && !example.is_empty(),
                "{}",
                column.field
            );
        }
    }
}
