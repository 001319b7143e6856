//! Tests of `import::parse`: each format and encoding, header matching, limits, hostile
//! files, and property tests (round trips, never a panic).

use proptest::prelude::*;
use zip::CompressionMethod;

use super::feed::START_BYTES;
use super::table::normalise;
use super::testkit::{
    escape, patch_declared_size, text_rows, unzip_parts, zip_parts, Cell, SheetSpec, WorkbookSpec,
};
use super::xlsx::number_text;
use super::*;

const HEADER: &str = "Email address,TechPass username,First name,Last name,Contact number,Organisation,Department,Is onboarding to SEED required?,Reason";

fn header_cells() -> Vec<&'static str> {
    HEADER.split(',').collect()
}

fn ok(bytes: &[u8], name: &str) -> Sheet {
    match parse(bytes, name, &Limits::default()) {
        Ok(sheet) => sheet,
        Err(e) => panic!("{name}: {e}"),
    }
}

fn err(bytes: &[u8], name: &str) -> ImportError {
    err_with(bytes, name, &Limits::default())
}

fn err_with(bytes: &[u8], name: &str, limits: &Limits) -> ImportError {
    match parse(bytes, name, limits) {
        Ok(sheet) => panic!("{name}: expected an error, read {sheet:?}"),
        Err(e) => e,
    }
}

fn emails(sheet: &Sheet) -> Vec<&str> {
    sheet.rows.iter().map(|r| r.raw.email.as_str()).collect()
}

fn lines(sheet: &Sheet) -> Vec<usize> {
    sheet.rows.iter().map(|r| r.line).collect()
}

/// The nine cells of a row in the template's order.
fn cells(raw: &crate::domain::RawAccount) -> [&str; 9] {
    [
        &raw.email,
        &raw.username,
        &raw.first_name,
        &raw.last_name,
        &raw.contact_number,
        &raw.organisation,
        &raw.department,
        &raw.seed_required,
        &raw.reason,
    ]
}

const ROW_A: &str = "a@tech.gov.sg,,Ann,Tan,91234567,GovTech,,Yes,Because";
const ROW_B: &str = "b@vendor.com,b.user,Ben,Lim,+65 8123 4567,Vendor Pte Ltd,Ops,No,Vendor";

fn csv(lines: &[&str]) -> Vec<u8> {
    lines.join("\n").into_bytes()
}

// ---------------------------------------------------------------------------------------------
// Columns

#[test]
fn each_column_fills_its_own_field() {
    for (index, column) in COLUMNS.iter().enumerate() {
        let mut raw = crate::domain::RawAccount::default();
        *table::field_mut(&mut raw, index).expect("a field") = "x".into();
        let json = serde_json::to_value(&raw).expect("json");
        assert_eq!(json[column.field], "x", "{}", column.field);
    }
    assert!(table::field_mut(&mut crate::domain::RawAccount::default(), COLUMNS.len()).is_none());
}

#[test]
fn normalised_headers_and_aliases_are_unique_across_columns() {
    let mut seen: Vec<(String, &str)> = Vec::new();
    for column in COLUMNS {
        let mut keys: Vec<String> = column.aliases.iter().map(|a| normalise(a)).collect();
        keys.push(normalise(column.header));
        for key in keys {
            assert!(!key.is_empty());
            if let Some((_, other)) = seen.iter().find(|(k, f)| *k == key && *f != column.field) {
                panic!("{key} names both {other} and {}", column.field);
            }
            seen.push((key, column.field));
        }
    }
    assert_eq!(normalise(" E-Mail  Address: "), "emailaddress");
    assert_eq!(
        normalise("Is onboarding to SEED required?"),
        "isonboardingtoseedrequired"
    );
}

// ---------------------------------------------------------------------------------------------
// CSV: encodings and delimiters

#[test]
fn utf8_with_bom_comma() {
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend(csv(&[HEADER, ROW_A, ROW_B]));
    let sheet = ok(&bytes, "users.csv");
    assert_eq!(sheet.format, "CSV, UTF-8 with BOM, comma-separated");
    assert_eq!(emails(&sheet), ["a@tech.gov.sg", "b@vendor.com"]);
    assert_eq!(lines(&sheet), [2, 3]);
    assert_eq!(sheet.notices, Vec::<String>::new());
    let b = &sheet.rows[1].raw;
    assert_eq!(
        cells(b),
        [
            "b@vendor.com",
            "b.user",
            "Ben",
            "Lim",
            "+65 8123 4567",
            "Vendor Pte Ltd",
            "Ops",
            "No",
            "Vendor"
        ]
    );
}

#[test]
fn utf8_without_bom() {
    let sheet = ok(&csv(&[HEADER, ROW_A]), "users.csv");
    assert_eq!(sheet.format, "CSV, UTF-8, comma-separated");
    assert_eq!(emails(&sheet), ["a@tech.gov.sg"]);
}

fn utf16(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
    let mut bytes = Vec::new();
    if bom {
        bytes.extend(if big_endian {
            [0xFE, 0xFF]
        } else {
            [0xFF, 0xFE]
        });
    }
    for unit in text.encode_utf16() {
        bytes.extend(if big_endian {
            unit.to_be_bytes()
        } else {
            unit.to_le_bytes()
        });
    }
    bytes
}

#[test]
fn utf16_le_and_be_with_bom_tab_separated() {
    let text = [HEADER, ROW_A, ROW_B].join("\r\n").replace(',', "\t") + "\r\n";
    let sheet = ok(&utf16(&text, false, true), "Unicode text.txt");
    assert_eq!(sheet.format, "Text, UTF-16 LE, tab-separated");
    assert_eq!(emails(&sheet), ["a@tech.gov.sg", "b@vendor.com"]);
    assert_eq!(sheet.rows[1].raw.contact_number, "+65 8123 4567");
    let sheet = ok(&utf16(&text, true, true), "users.csv");
    assert_eq!(sheet.format, "CSV, UTF-16 BE, tab-separated");
    assert_eq!(emails(&sheet), ["a@tech.gov.sg", "b@vendor.com"]);
    // Without a byte-order mark, mostly-ASCII UTF-16 is still recognised.
    let sheet = ok(&utf16(&text, false, false), "users.txt");
    assert_eq!(sheet.format, "Text, UTF-16 LE, tab-separated");
}

#[test]
fn windows_1252_when_not_utf8() {
    // "Zoë" and "José" as Excel on Windows saves them.
    let mut bytes = b"E-mail;Mobile;Company;First name;Last name;SEED;Reason\r\n".to_vec();
    bytes.extend(b"zoe@tech.gov.sg;91234567;GovTech;Zo\xEB;Tan;Yes;Caf\xE9 \x96 \x93test\x94\r\n");
    bytes.extend(b"jose@vendor.es;+34 612 345 678;Ib\xE9rica;Jos\xE9;Garc\xEDa;No;x\r\n");
    let sheet = ok(&bytes, "export.csv");
    assert_eq!(sheet.format, "CSV, Windows-1252, semicolon-separated");
    assert_eq!(sheet.rows[0].raw.first_name, "Zoë");
    assert_eq!(sheet.rows[0].raw.reason, "Café – “test”");
    assert_eq!(sheet.rows[1].raw.first_name, "José");
    assert_eq!(sheet.rows[1].raw.last_name, "García");
    assert_eq!(sheet.rows[1].raw.organisation, "Ibérica");
}

#[test]
fn delimiter_is_the_one_that_makes_the_header() {
    // Semicolon-separated with commas inside unquoted cells.
    let sheet = ok(
        &csv(&[
            &HEADER.replace(',', ";"),
            "a@tech.gov.sg;;Ann;Tan, Jr;91234567;GovTech, Digital;;Yes;One, two, three, four",
        ]),
        "x.csv",
    );
    assert_eq!(sheet.format, "CSV, UTF-8, semicolon-separated");
    assert_eq!(sheet.rows[0].raw.last_name, "Tan, Jr");
    assert_eq!(sheet.rows[0].raw.reason, "One, two, three, four");
    // Comma-separated with semicolons and tabs inside cells.
    let sheet = ok(
        &csv(&[
            HEADER,
            "a@tech.gov.sg,,Ann,Tan,91234567,Gov;Tech,,Yes,\"a;b;c;d;e;f;g;h;i;j\tk\"",
        ]),
        "x.csv",
    );
    assert_eq!(sheet.format, "CSV, UTF-8, comma-separated");
    assert_eq!(sheet.rows[0].raw.reason, "a;b;c;d;e;f;g;h;i;j\tk");
    // Tab-separated .csv.
    let sheet = ok(
        &csv(&[&HEADER.replace(',', "\t"), &ROW_A.replace(',', "\t")]),
        "x.csv",
    );
    assert_eq!(sheet.format, "CSV, UTF-8, tab-separated");
}

#[test]
fn excel_sep_line_sets_the_delimiter_and_is_not_a_row() {
    let sheet = ok(
        &csv(&["sep=;", &HEADER.replace(',', ";"), &ROW_A.replace(',', ";")]),
        "x.csv",
    );
    assert_eq!(sheet.format, "CSV, UTF-8, semicolon-separated");
    assert_eq!(lines(&sheet), [2]);
}

#[test]
fn quoted_multiline_cells_and_crlf_keep_spreadsheet_row_numbers() {
    let text = [
        HEADER,
        "a@tech.gov.sg,,Ann,Tan,91234567,GovTech,,Yes,\"Line one\r\nline two\nline three\"",
        "",
        "b@tech.gov.sg,,Ben,Lim,91234567,GovTech,,No,\"He said \"\"hi\"\"\"",
        "c@tech.gov.sg,,Cat,Ng,91234567,GovTech,,No,Plain",
    ]
    .join("\r\n");
    let sheet = ok(text.as_bytes(), "x.csv");
    assert_eq!(sheet.rows[0].raw.reason, "Line one\r\nline two\nline three");
    assert_eq!(sheet.rows[1].raw.reason, "He said \"hi\"");
    // Excel shows: header row 1, Ann row 2, a blank row 3, Ben row 4, Cat row 5.
    assert_eq!(lines(&sheet), [2, 4, 5]);
}

#[test]
fn short_rows_are_padded_and_long_rows_are_fine() {
    let sheet = ok(
        &csv(&[
            HEADER,
            "a@tech.gov.sg,,Ann",
            "b@tech.gov.sg,,Ben,Lim,9,G,D,No,R,extra,more",
        ]),
        "x.csv",
    );
    assert_eq!(sheet.rows[0].raw.first_name, "Ann");
    assert_eq!(sheet.rows[0].raw.reason, "");
    assert_eq!(sheet.rows[1].raw.reason, "R");
}

#[test]
fn cells_are_trimmed_and_otherwise_kept_exactly() {
    let sheet = ok(
        &csv(&[
            HEADER,
            "  a@tech.gov.sg\t,,  Mary   Ann ,O'Neil,  0091234567 , +65 9123 4567 ,,\u{a0}yes\u{a0},\"  two  spaces  \"",
        ]),
        "x.csv",
    );
    let raw = &sheet.rows[0].raw;
    assert_eq!(raw.email, "a@tech.gov.sg");
    assert_eq!(raw.first_name, "Mary   Ann");
    assert_eq!(raw.contact_number, "0091234567");
    assert_eq!(raw.organisation, "+65 9123 4567");
    assert_eq!(raw.seed_required, "yes");
    assert_eq!(raw.reason, "two  spaces");
}

#[test]
fn binary_data_is_not_text() {
    assert_eq!(
        err(b"\x00\x01\x02\x03binary\x00\xFF", "x.csv"),
        ImportError::NotText
    );
}

// ---------------------------------------------------------------------------------------------
// Headers and rows

#[test]
fn headers_match_regardless_of_case_spacing_and_punctuation() {
    let sheet = ok(
        &csv(&[
            "E-MAIL,user_name,First-Name,SURNAME,Contact No.,Company,Dept.,Seed?,Justification",
            "a@tech.gov.sg,,Ann,Tan,91234567,GovTech,IT,Yes,Because",
        ]),
        "x.csv",
    );
    assert_eq!(
        cells(&sheet.rows[0].raw),
        [
            "a@tech.gov.sg",
            "",
            "Ann",
            "Tan",
            "91234567",
            "GovTech",
            "IT",
            "Yes",
            "Because"
        ]
    );
}

#[test]
fn columns_may_come_in_any_order() {
    let sheet = ok(
        &csv(&[
            "Reason,SEED,Organisation,Contact number,Last name,First name,Email",
            "Because,Yes,GovTech,91234567,Tan,Ann,a@tech.gov.sg",
        ]),
        "x.csv",
    );
    assert_eq!(
        cells(&sheet.rows[0].raw),
        [
            "a@tech.gov.sg",
            "",
            "Ann",
            "Tan",
            "91234567",
            "GovTech",
            "",
            "Yes",
            "Because"
        ]
    );
}

#[test]
fn unknown_columns_are_ignored_with_a_notice() {
    let sheet = ok(
        &csv(&[
            &format!("{HEADER},Notes,,Manager"),
            &format!("{ROW_A},Some note,,Boss"),
        ]),
        "x.csv",
    );
    assert_eq!(
        sheet.notices,
        ["Ignored columns not in the template: Notes, Manager"]
    );
    assert_eq!(sheet.rows[0].raw.reason, "Because");
}

#[test]
fn missing_required_columns_are_one_error_naming_them_all() {
    let e = err(
        &csv(&[
            "Email address,Last name,Contact number,Organisation,SEED",
            "a@tech.gov.sg,Tan,91234567,GovTech,Yes",
        ]),
        "x.csv",
    );
    assert_eq!(
        e,
        ImportError::MissingColumns {
            columns: vec!["First name".into(), "Reason".into()]
        }
    );
    assert_eq!(
        e.to_string(),
        "The file has no column for: First name, Reason. Add them (download the template to see \
         the headers)."
    );
    // Optional columns may be left out.
    let sheet = ok(
        &csv(&[
            "Email address,First name,Last name,Contact number,Organisation,SEED,Reason",
            "a@tech.gov.sg,Ann,Tan,91234567,GovTech,Yes,Because",
        ]),
        "x.csv",
    );
    assert_eq!(sheet.rows[0].raw.username, "");
}

#[test]
fn a_file_without_any_known_header_lists_every_required_column() {
    let e = err(&csv(&["foo,bar", "1,2"]), "x.csv");
    let required: Vec<String> = COLUMNS
        .iter()
        .filter(|c| c.required)
        .map(|c| c.header.to_string())
        .collect();
    assert_eq!(e, ImportError::MissingColumns { columns: required });
}

#[test]
fn duplicate_columns_use_the_first_with_a_notice() {
    let sheet = ok(
        &csv(&[
            &format!("{HEADER},E-mail"),
            &format!("{ROW_A},other@tech.gov.sg"),
        ]),
        "x.csv",
    );
    assert_eq!(emails(&sheet), ["a@tech.gov.sg"]);
    assert_eq!(
        sheet.notices,
        ["The file has more than one column for Email address (columns A and J); used column A"]
    );
}

#[test]
fn title_rows_above_the_header_are_skipped() {
    let sheet = ok(
        &csv(&[
            "Batch upload for GovTech,,,",
            "Prepared by Ann,2024-05-01",
            "",
            HEADER,
            ROW_A,
        ]),
        "x.csv",
    );
    assert_eq!(lines(&sheet), [5]);
    assert_eq!(
        sheet.notices,
        ["Used row 4 as the header row; ignored the rows above it"]
    );
}

#[test]
fn row_numbers_count_blank_lines_with_every_kind_of_line_end() {
    // LF, CRLF and old-Mac lone CR: several blank lines, and a quoted cell spanning lines.
    for end in ["\n", "\r\n", "\r"] {
        let text = [
            HEADER,
            "",
            "",
            ROW_A,
            &format!("{ROW_B}x,\"two{end}lines\""),
            "",
            ROW_A,
            "",
        ]
        .join(end);
        let sheet = ok(text.as_bytes(), "x.csv");
        // Header row 1, blank 2 and 3, Ann 4, Ben 5 (one row, though its cell has two
        // lines), blank 6, Ann 7.
        assert_eq!(lines(&sheet), [4, 5, 7], "line ends {end:?}");
    }
}

#[test]
fn blank_rows_between_users_are_skipped_and_counted() {
    let sheet = ok(
        &csv(&[
            HEADER, ROW_A, ",,,,,,,,", "", ROW_B, "  ,  ,,", ROW_A, ",,,", "",
        ]),
        "x.csv",
    );
    assert_eq!(lines(&sheet), [2, 5, 7]);
    assert_eq!(sheet.notices, ["Skipped 3 blank rows (rows 3, 4 and 6)"]);
    let sheet = ok(&csv(&[HEADER, ",,,", ROW_A]), "x.csv");
    assert_eq!(sheet.notices, ["Skipped 1 blank row (row 2)"]);
}

#[test]
fn rows_with_data_only_in_ignored_columns_are_blank() {
    let sheet = ok(
        &csv(&[&format!("{HEADER},Notes"), ",,,,,,,,,just a note", ROW_A]),
        "x.csv",
    );
    assert_eq!(lines(&sheet), [3]);
}

#[test]
fn empty_and_header_only_files() {
    assert_eq!(err(b"", "x.csv"), ImportError::Empty);
    assert_eq!(err(b"\xEF\xBB\xBF", "x.csv"), ImportError::Empty);
    assert_eq!(err(b"\r\n\r\n,,,\r\n", "x.csv"), ImportError::Empty);
    let e = err(&csv(&[HEADER]), "x.csv");
    assert_eq!(e, ImportError::NoUsers);
    assert_eq!(
        e.to_string(),
        "The file has no users below the header row. Add one user per row below the header row \
         and upload it again."
    );
    assert_eq!(
        err(&csv(&[HEADER, ",,,", ""]), "x.csv"),
        ImportError::NoUsers
    );
}

#[test]
fn too_many_rows() {
    let limits = Limits {
        max_rows: 3,
        ..Limits::default()
    };
    let bytes = csv(&[HEADER, ROW_A, ROW_A, "", ROW_A]);
    assert_eq!(parse(&bytes, "x.csv", &limits).map(|s| s.rows.len()), Ok(3));
    let bytes = csv(&[HEADER, ROW_A, ROW_A, ROW_A, ROW_A]);
    let e = err_with(&bytes, "x.csv", &limits);
    assert_eq!(
        e,
        ImportError::TooManyRows {
            row: 5,
            max_rows: 3
        }
    );
    assert_eq!(
        e.to_string(),
        "The file has data in row 5; the limit is 3 users per file. Remove the extra rows or \
         split the file."
    );
}

#[test]
fn a_value_far_below_the_users_is_refused() {
    let limits = Limits {
        max_rows: 2,
        ..Limits::default()
    };
    // Header row 1, so data may reach row 1 + 2 + 2 = 5.
    let mut rows = vec![HEADER, ROW_A, "", "", ""];
    rows.push(",,,,,,,,,stray");
    let e = err_with(&csv(&rows), "x.csv", &limits);
    assert_eq!(
        e,
        ImportError::TooManyRows {
            row: 6,
            max_rows: 2
        }
    );
}

// ---------------------------------------------------------------------------------------------
// Size and format detection

#[test]
fn the_byte_limit_is_checked_first() {
    let bytes = vec![b'x'; 44_889_779];
    let e = err(&bytes, "big.xlsx");
    assert_eq!(
        e.to_string(),
        "The file is 42.9 MB; the limit is 40 MB. Split it into smaller files."
    );
    let limits = Limits::default();
    let just_over = vec![b'a'; limits.max_bytes + 1];
    assert_eq!(
        err(&just_over, "x.csv").to_string(),
        "The file is 40.1 MB; the limit is 40 MB. Split it into smaller files."
    );
}

#[test]
fn legacy_and_other_formats_get_a_clear_error() {
    let mut ole = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1".to_vec();
    ole.extend([0u8; 504]);
    let e = err(&ole, "users.xls");
    assert_eq!(
        e.to_string(),
        "This file is an Excel 97–2003 workbook (.xls), which cannot be read here. Open it in \
         your spreadsheet program, save it as .xlsx or .csv, and upload that file."
    );
    // Named .csv or .xlsx, the bytes still say what it is.
    assert_eq!(err(&ole, "users.csv"), e);
    let mut encrypted = ole.clone();
    encrypted.extend("EncryptedPackage".encode_utf16().flat_map(u16::to_le_bytes));
    assert_eq!(
        err(&encrypted, "users.xlsx"),
        ImportError::PasswordProtected
    );

    let book = WorkbookSpec::new(vec![SheetSpec::new("S").rows(text_rows(&[&["a"]]))]).to_bytes();
    assert!(matches!(
        err(&book, "users.numbers"),
        ImportError::UnsupportedFormat { description } if description == "a Numbers spreadsheet"
    ));
    assert!(matches!(
        err(&book, "users.ods"),
        ImportError::UnsupportedFormat { .. }
    ));
    let ods = zip_parts(
        &[
            (
                "mimetype".into(),
                "application/vnd.oasis.opendocument.spreadsheet".into(),
            ),
            ("content.xml".into(), "<office:document-content/>".into()),
        ],
        CompressionMethod::Stored,
    );
    assert_eq!(
        err(&ods, "renamed.xlsx"),
        ImportError::UnsupportedFormat {
            description: "an OpenDocument spreadsheet (.ods)".into()
        }
    );
    assert!(matches!(
        err(b"%PDF-1.7", "users.pdf"),
        ImportError::UnsupportedFormat { .. }
    ));
}

#[test]
fn an_xlsx_named_csv_is_read_as_xlsx() {
    let book = WorkbookSpec::new(vec![SheetSpec::new("Users").rows(text_rows(&[
        &header_cells(),
        &ROW_A.split(',').collect::<Vec<_>>(),
    ]))])
    .to_bytes();
    let sheet = ok(&book, "users.csv");
    assert_eq!(sheet.format, "Excel workbook (sheet “Users”)");
    assert_eq!(emails(&sheet), ["a@tech.gov.sg"]);
    // And a CSV named .txt or with no extension is read as text.
    assert_eq!(
        emails(&ok(&csv(&[HEADER, ROW_A]), "users")),
        ["a@tech.gov.sg"]
    );
}

// ---------------------------------------------------------------------------------------------
// xlsx

fn book(rows: Vec<Vec<Option<Cell>>>) -> Vec<u8> {
    WorkbookSpec::new(vec![SheetSpec::new("Users").rows(rows)]).to_bytes()
}

fn header_row() -> Vec<Option<Cell>> {
    header_cells()
        .into_iter()
        .map(|h| Some(Cell::text(h)))
        .collect()
}

/// A data row with `contact` and `seed` cells, the rest text.
fn data_row(contact: Cell, seed: Cell) -> Vec<Option<Cell>> {
    let t = |s: &str| Some(Cell::text(s));
    vec![
        t("a@tech.gov.sg"),
        None,
        t("Ann"),
        t("Tan"),
        Some(contact),
        t("GovTech"),
        None,
        Some(seed),
        t("Because"),
    ]
}

fn contact_of(cell: Cell) -> String {
    let sheet = ok(
        &book(vec![header_row(), data_row(cell, Cell::text("Yes"))]),
        "x.xlsx",
    );
    sheet.rows[0].raw.contact_number.clone()
}

#[test]
fn xlsx_numbers_read_as_the_user_sees_them() {
    let n = |v: &str| contact_of(Cell::Number(v.into()));
    assert_eq!(n("6591234567"), "6591234567");
    assert_eq!(n("91234567"), "91234567");
    assert_eq!(n("91234567.0"), "91234567");
    assert_eq!(n("6.591234567E9"), "6591234567");
    assert_eq!(n("6591234567890123"), "6591234567890123");
    assert_eq!(n("1.5"), "1.5");
    assert_eq!(n("0.30000000000000004"), "0.3");
    assert_eq!(n("-12"), "-12");
    assert_eq!(n("1E+20"), "100000000000000000000");
    assert_eq!(n("0"), "0");
    assert_eq!(contact_of(Cell::text("+6591234567")), "+6591234567");
    assert_eq!(
        contact_of(Cell::Inline(" +65 9123 4567 ".into())),
        "+65 9123 4567"
    );
    assert_eq!(contact_of(Cell::Inline("0091234567".into())), "0091234567");
    assert_eq!(contact_of(Cell::Error("#N/A".into())), "#N/A");
    assert_eq!(
        contact_of(Cell::FormulaText("9123 4567".into())),
        "9123 4567"
    );
    assert_eq!(contact_of(Cell::Date(45292.0)), "2024-01-01");
    assert_eq!(contact_of(Cell::Date(45292.5)), "2024-01-01 12:00:00");
}

#[test]
fn number_text_never_uses_an_exponent() {
    assert_eq!(number_text(1e-7), "0.0000001");
    assert_eq!(
        number_text(123456789012345680000.0),
        "123456789012346000000"
    );
    assert_eq!(number_text(-0.0), "0");
    assert_eq!(number_text(f64::NAN), "NaN");
}

#[test]
fn xlsx_booleans_are_true_and_false() {
    let sheet = ok(
        &book(vec![
            header_row(),
            data_row(Cell::text("91234567"), Cell::Bool(true)),
            data_row(Cell::text("91234567"), Cell::Bool(false)),
        ]),
        "x.xlsx",
    );
    let seeds: Vec<&str> = sheet
        .rows
        .iter()
        .map(|r| r.raw.seed_required.as_str())
        .collect();
    assert_eq!(seeds, ["TRUE", "FALSE"]);
}

#[test]
fn xlsx_title_rows_blank_rows_and_row_numbers() {
    let sheet = SheetSpec::new("Users")
        .cell(1, 0, Cell::text("Batch upload"))
        .cell(2, 3, Cell::text("Prepared 2024"))
        .rows(vec![])
        .dimension("A1:I9");
    let mut cells = sheet.cells.clone();
    for (c, h) in header_cells().into_iter().enumerate() {
        cells.push((4, c, Cell::text(h)));
    }
    for (r, email) in [(5, "a@tech.gov.sg"), (8, "b@tech.gov.sg")] {
        cells.push((r, 0, Cell::text(email)));
        cells.push((r, 2, Cell::text("Ann")));
    }
    cells.push((6, 1, Cell::Inline("   ".into())));
    let sheet = SheetSpec { cells, ..sheet };
    let sheet = ok(&WorkbookSpec::new(vec![sheet]).to_bytes(), "x.xlsx");
    assert_eq!(lines(&sheet), [5, 8]);
    assert_eq!(
        sheet.notices,
        [
            "Used row 4 as the header row; ignored the rows above it",
            "Skipped 2 blank rows (rows 6 and 7)"
        ]
    );
}

#[test]
fn xlsx_picks_the_sheet_with_the_header() {
    let instructions = SheetSpec::new("Instructions").rows(text_rows(&[
        &["How to fill in this file"],
        &["One user per row"],
    ]));
    let users = SheetSpec::new("Users").rows(text_rows(&[
        &header_cells(),
        &ROW_A.split(',').collect::<Vec<_>>(),
    ]));
    // Like the template: the users first, then the instructions. No notice.
    let bytes = WorkbookSpec::new(vec![users.clone(), instructions.clone()]).to_bytes();
    let sheet = ok(&bytes, "x.xlsx");
    assert_eq!(sheet.format, "Excel workbook (sheet “Users”)");
    assert_eq!(sheet.notices, Vec::<String>::new());

    let bytes = WorkbookSpec::new(vec![instructions.clone(), users]).to_bytes();
    let sheet = ok(&bytes, "x.xlsx");
    assert_eq!(sheet.format, "Excel workbook (sheet “Users”)");
    assert_eq!(
        sheet.notices,
        ["Read the sheet “Users”: the sheet before it (Instructions) has no Email address column"]
    );
    assert_eq!(lines(&sheet), [2]);

    // No sheet has an email column: the first sheet with anything on it is reported.
    let other = SheetSpec::new("Other").rows(text_rows(&[&["First name", "Reason"], &["A", "B"]]));
    let bytes = WorkbookSpec::new(vec![SheetSpec::new("Empty"), instructions, other]).to_bytes();
    assert!(
        matches!(err(&bytes, "x.xlsx"), ImportError::MissingColumns { columns } if columns.len() == 7)
    );
}

#[test]
fn xlsx_stored_without_compression_is_read() {
    let mut spec = WorkbookSpec::new(vec![SheetSpec::new("Users").rows(text_rows(&[
        &header_cells(),
        &ROW_B.split(',').collect::<Vec<_>>(),
    ]))]);
    spec.compression = CompressionMethod::Stored;
    assert_eq!(emails(&ok(&spec.to_bytes(), "x.xlsx")), ["b@vendor.com"]);
}

#[test]
fn xlsx_too_many_rows_and_a_far_cell() {
    let limits = Limits {
        max_rows: 2,
        ..Limits::default()
    };
    let row = ROW_A.split(',').collect::<Vec<_>>();
    let bytes = WorkbookSpec::new(vec![SheetSpec::new("Users").rows(text_rows(&[
        &header_cells(),
        &row,
        &row,
        &row,
    ]))])
    .to_bytes();
    assert_eq!(
        err_with(&bytes, "x.xlsx", &limits),
        ImportError::TooManyRows {
            row: 4,
            max_rows: 2
        }
    );

    // A1:XFD1048576 with cells in A1 and XFD1048576 only.
    let bytes = WorkbookSpec::new(vec![SheetSpec::new("Users")
        .dimension("A1:XFD1048576")
        .cell(1, 0, Cell::text("Email address"))
        .cell(1_048_576, 16_383, Cell::text("far"))])
    .to_bytes();
    assert!(bytes.len() < 4096);
    assert_eq!(
        err(&bytes, "far.xlsx").to_string(),
        "The file has data in row 1,048,576; the limit is 100,000 users per file. Remove the \
         extra rows or split the file."
    );
}

#[test]
fn xlsx_reversed_dimension_is_damaged_not_a_panic() {
    let bytes = WorkbookSpec::new(vec![SheetSpec::new("Users")
        .dimension("B2:A1")
        .rows(text_rows(&[&header_cells()]))])
    .to_bytes();
    assert_eq!(
        err(&bytes, "x.xlsx"),
        ImportError::DamagedXlsx {
            reason: "its worksheet's size is not valid".into()
        }
    );
}

#[test]
fn xlsx_that_is_not_a_zip_is_damaged() {
    let e = err(b"Email address,First name\r\n", "users.xlsx");
    assert_eq!(
        e.to_string(),
        "This .xlsx file is damaged or not really an Excel workbook (it is not a valid zip \
         archive). Open it in Excel and save it again, or save it as CSV."
    );
    let full = book(vec![header_row()]);
    for cut in [10, full.len() / 2, full.len() - 10] {
        assert!(matches!(
            err(&full[..cut], "x.xlsx"),
            ImportError::DamagedXlsx { .. }
        ));
    }
    // An empty zip archive.
    let empty = zip_parts(&[], CompressionMethod::Stored);
    assert!(matches!(
        err(&empty, "x.xlsx"),
        ImportError::DamagedXlsx { .. }
    ));
}

#[test]
fn xlsx_shared_strings_count_is_checked_before_calamine_reserves_it() {
    let mut spec = WorkbookSpec::new(vec![SheetSpec::new("Users").rows(vec![header_row()])]);
    spec.declared_strings = Some("4000000000".into());
    assert_eq!(
        err(&spec.to_bytes(), "x.xlsx"),
        ImportError::XlsxTooManyStrings {
            count: 4_000_000_000,
            max: 2_000_000
        }
    );
    spec.declared_strings = Some("99999999999999999999999999".into());
    assert!(matches!(
        err(&spec.to_bytes(), "x.xlsx"),
        ImportError::XlsxTooManyStrings {
            count: u64::MAX,
            ..
        }
    ));
    spec.declared_strings = Some("lots".into());
    assert!(matches!(
        err(&spec.to_bytes(), "x.xlsx"),
        ImportError::DamagedXlsx { .. }
    ));
}

#[test]
fn xlsx_shared_strings_header_hidden_after_padding_is_refused() {
    let padding = "<!--".to_string() + &"x".repeat(100_000) + "-->";
    let sst = format!(
        "<?xml version=\"1.0\"?>{padding}<sst xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" uniqueCount=\"4000000000\"><si><t>a</t></si></sst>"
    );
    let mut parts = minimal_parts();
    parts.retain(|(n, _)| n != "xl/sharedStrings.xml");
    parts.push(("xl/sharedStrings.xml".into(), sst));
    let bytes = zip_parts(&parts, CompressionMethod::Deflated);
    assert_eq!(
        err(&bytes, "x.xlsx"),
        ImportError::DamagedXlsx {
            reason: "its list of text values is not valid".into()
        }
    );
}

/// The parts of a one-sheet workbook, to tamper with.
fn minimal_parts() -> Vec<(String, String)> {
    unzip_parts(book(vec![
        header_row(),
        data_row(Cell::text("91234567"), Cell::text("No")),
    ]))
}

/// A workbook whose relationships place its sheet outside xl/worksheets/, with a cell
/// reference there that overflows.
fn sheet_outside_worksheets() -> Vec<u8> {
    let mut parts = minimal_parts();
    for (name, body) in parts.iter_mut() {
        if name == "xl/worksheets/sheet1.xml" {
            *name = "xl/media/image1.png".into();
            *body = body.replace(
                "<row r=\"1\">",
                "<row r=\"1\"><c r=\"AAAAAAAAAAA1\"><v>1</v></c>",
            );
        }
        if name == "xl/_rels/workbook.xml.rels" {
            *body = body.replace("worksheets/sheet1.xml", "media/image1.png");
        }
    }
    zip_parts(&parts, CompressionMethod::Deflated)
}

#[test]
fn xlsx_deflate_bomb_is_refused_by_its_ratio() {
    let mut parts = minimal_parts();
    let sheet = parts
        .iter_mut()
        .find(|(n, _)| n == "xl/worksheets/sheet1.xml")
        .expect("sheet");
    sheet.1 = sheet
        .1
        .replace("</row>", &format!("</row>{}", " ".repeat(4 << 20)));
    let bytes = zip_parts(&parts, CompressionMethod::Deflated);
    assert!(bytes.len() < 64 * 1024);
    assert!(matches!(
        err(&bytes, "x.xlsx"),
        ImportError::XlsxCompressedTooMuch { ratio, max_ratio: 200 } if ratio > 200
    ));
}

#[test]
fn xlsx_declared_sizes_are_limited_and_lies_fail_instead_of_growing() {
    // Declares 1.5 GB for the sheet.
    let mut bytes = book(vec![header_row()]);
    patch_declared_size(&mut bytes, "xl/worksheets/sheet1.xml", 1_500_000_000);
    assert_eq!(
        err(&bytes, "x.xlsx").to_string(),
        "This .xlsx file unpacks to more than 200 MB (one part alone is 1,430.6 MB), which is \
         more than any batch of users needs. Open it in Excel, delete what is not needed \
         (pictures, other sheets), and save it again, or save it as CSV."
    );
    // Declares 100 bytes for a sheet that unpacks to more: the zip crate stops at 100.
    let mut bytes = book(vec![
        header_row(),
        data_row(Cell::text("1"), Cell::text("No")),
    ]);
    patch_declared_size(&mut bytes, "xl/worksheets/sheet1.xml", 100);
    assert_eq!(
        err(&bytes, "x.xlsx"),
        ImportError::DamagedXlsx {
            reason: "a part of it cannot be unpacked".into()
        }
    );
}

#[test]
fn xlsx_total_size_and_entry_count_limits() {
    let bytes = book(vec![
        header_row(),
        data_row(Cell::text("1"), Cell::text("No")),
    ]);
    let limits = Limits {
        max_uncompressed_bytes: 1500,
        ..Limits::default()
    };
    assert!(matches!(
        err_with(&bytes, "x.xlsx", &limits),
        ImportError::XlsxTooBigInAll { max_bytes: 1500 }
    ));
    let limits = Limits {
        max_entries: 3,
        ..Limits::default()
    };
    assert_eq!(
        err_with(&bytes, "x.xlsx", &limits).to_string(),
        "This .xlsx file has 7 parts inside; the limit is 3. Open it in Excel, delete what is \
         not needed, and save it again, or save it as CSV."
    );
}

#[test]
fn xlsx_sheet_xml_errors_are_damaged_not_panics() {
    let hostile = [
        "<c r=\"AAAAAAAAAA1\"><v>1</v></c>",
        "<c r=\"A99999999999\"><v>1</v></c>",
        "<c r=\"A0\"><v>1</v></c>",
        "<c r=\"1A\"><v>1</v></c>",
        "<c r=\"A1\" t=\"s\"><v>999999</v></c>",
        "<c r=\"A1\" t=\"s\"><v>-1</v></c>",
        "<c r=\"A1\" t=\"n\"><v>abc</v></c>",
        "<c r=\"A1\" t=\"e\"><v>#WHAT</v></c>",
        "<c r=\"A1\" t=\"zz\"><v>1</v></c>",
        "<c r=\"A1\" t=\"b\"><v>7</v></c>",
        "<c r=\"A1\" s=\"99\"><v>1</v></c>",
        "<c r=\"A1\" s=\"1\"><v>1e308</v></c>",
        "<c r=\"A1\" s=\"1\"><v>-5</v></c>",
        "<c r=\"A1\"><v>1</v>",
        "<c><v>1</v></c><c><v>2</v></c>",
    ];
    for cell in hostile {
        let mut parts = minimal_parts();
        let sheet = parts
            .iter_mut()
            .find(|(n, _)| n == "xl/worksheets/sheet1.xml")
            .expect("sheet");
        sheet.1 = sheet.1.replace(
            "<sheetData>",
            &format!("<sheetData><row r=\"1048570\">{cell}</row>"),
        );
        let bytes = zip_parts(&parts, CompressionMethod::Deflated);
        // Any outcome but a panic.
        let _ = parse(&bytes, "x.xlsx", &Limits::default());
    }
}

/// A workbook whose first sheet's XML is `xml`.
fn book_with_sheet_xml(xml: String) -> Vec<u8> {
    let mut parts = minimal_parts();
    if let Some(sheet) = parts
        .iter_mut()
        .find(|(n, _)| n == "xl/worksheets/sheet1.xml")
    {
        sheet.1 = xml;
    }
    zip_parts(&parts, CompressionMethod::Deflated)
}

#[test]
fn xlsx_reference_scan_finds_tags_across_chunk_boundaries() {
    let head = "<worksheet><sheetData><row r=\"1\">";
    let bad = "<c r=\"AAAAAAAAAA1\" t=\"inlineStr\"><is><t>x</t></is></c>";
    for at in (64 * 1024 - 40)..(64 * 1024 + 4) {
        let padding = " ".repeat(at - head.len());
        let xml = format!("{head}{padding}{bad}</row></sheetData></worksheet>");
        assert_eq!(
            err(&book_with_sheet_xml(xml), "x.xlsx"),
            ImportError::DamagedXlsx {
                reason: "a cell reference in it is not valid".into()
            },
            "tag at byte {at}"
        );
    }
}

#[test]
fn xlsx_reference_scan_is_not_fooled_by_comments_quotes_or_other_parts() {
    let cases = [
        // A quote in a comment must not hide the tag after it.
        "<worksheet><sheetData><!-- it's --><row r=\"99999999999\"></row></sheetData></worksheet>",
        // Namespace prefixes, single quotes, attributes without spaces between them.
        "<x:worksheet><x:sheetData><x:row r='1'><x:c s=\"0\"r=\"ABCDEFGH1\"/></x:row></x:sheetData></x:worksheet>",
        // A row reference with letters: calamine's parser reads them too.
        "<worksheet><sheetData><row r=\"ZZZZZZZZ1\"></row></sheetData></worksheet>",
    ];
    for xml in cases {
        assert_eq!(
            err(&book_with_sheet_xml(xml.into()), "x.xlsx"),
            ImportError::DamagedXlsx {
                reason: "a cell reference in it is not valid".into()
            },
            "{xml}"
        );
    }
    // A `<` inside a cell tag is refused (legitimate XML escapes it).
    let xml =
        "<worksheet><sheetData><row r=\"1\"><c r=\"A1\" x=\"<\"/></row></sheetData></worksheet>";
    assert_eq!(
        err(&book_with_sheet_xml(xml.into()), "x.xlsx"),
        ImportError::DamagedXlsx {
            reason: "its XML is not valid".into()
        }
    );
    // A sheet that the workbook's relationships place outside xl/worksheets/ is checked too.
    let bytes = sheet_outside_worksheets();
    assert_eq!(
        err(&bytes, "x.xlsx"),
        ImportError::DamagedXlsx {
            reason: "a cell reference in it is not valid".into()
        }
    );
    // Legitimate references up to Excel's last cell pass.
    let xml = "<worksheet><dimension ref=\"A1:XFD1048576\"/><sheetData><row r=\"1\"><c r=\"XFD1\" t=\"inlineStr\"><is><t>x</t></is></c></row></sheetData><pageMargins l=\"0.7\" r=\"0.7\"/></worksheet>";
    assert!(matches!(
        err(&book_with_sheet_xml(xml.into()), "x.xlsx"),
        ImportError::MissingColumns { .. }
    ));
}

/// What the page gets when a second worker scans the references (`ReferenceScan::Elsewhere`):
/// that scan's refusal if it refuses, else the read that skipped it. The read is made only
/// when the scan passes: on a file it refuses, a debug build's calamine would panic on the
/// overflow that the scan is there to catch (a release build's wraps, and its answer is
/// thrown away).
fn read_scanned_elsewhere(bytes: &[u8], name: &str) -> Result<Reading, ImportError> {
    let limits = Limits::default();
    scan_references(bytes, name, &limits)?;
    read_with(
        bytes,
        name,
        &limits,
        &Choice::default(),
        ReferenceScan::Elsewhere,
    )
}

#[test]
fn xlsx_references_scanned_by_another_worker_give_the_same_answers() {
    let sheet = |xml: &str| book_with_sheet_xml(xml.into());
    let mut bomb = minimal_parts();
    for (name, body) in bomb.iter_mut() {
        if name == "xl/worksheets/sheet1.xml" {
            *body = body.replace("</row>", &format!("</row>{}", " ".repeat(4 << 20)));
        }
    }
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("users.xlsx", book(vec![header_row(), data_row(Cell::text("+65 6123 4567"), Cell::text("Yes"))])),
        ("empty.xlsx", book(vec![])),
        ("overflow.xlsx", sheet("<worksheet><sheetData><row r=\"1\"><c r=\"AAAAAAAAAA1\"><v>1</v></c></row></sheetData></worksheet>")),
        ("row.xlsx", sheet("<worksheet><sheetData><row r=\"99999999999\"></row></sheetData></worksheet>")),
        ("lt.xlsx", sheet("<worksheet><sheetData><row r=\"1\"><c r=\"A1\" x=\"<\"/></row></sheetData></worksheet>")),
        ("reversed.xlsx", WorkbookSpec::new(vec![SheetSpec::new("Users").dimension("B2:A1").rows(vec![header_row()])]).to_bytes()),
        ("outside.xlsx", sheet_outside_worksheets()),
        ("bomb.xlsx", zip_parts(&bomb, CompressionMethod::Deflated)),
        ("not-a-zip.xlsx", b"Email address,First name\r\n".to_vec()),
        ("users.csv", csv(&[HEADER, ROW_A])),
    ];
    let mut refused_by_the_scan = 0;
    for (name, bytes) in &files {
        let here = read(bytes, name, &Limits::default(), &Choice::default());
        if scan_references(bytes, name, &Limits::default()).is_err() {
            refused_by_the_scan += 1;
        }
        assert_eq!(read_scanned_elsewhere(bytes, name), here, "{name}");
    }
    // The overflows, the `<`, the reversed size, the sheet outside worksheets/, the bomb and
    // the file that is no zip.
    assert_eq!(refused_by_the_scan, 7);
    // Told the scan is made elsewhere, the read skips it: a `<` inside a cell's tag, which
    // only the scan refuses, is read past.
    let lt = sheet(
        "<worksheet><sheetData><row r=\"1\"><c r=\"A1\" x=\"<\"/></row></sheetData></worksheet>",
    );
    let skipped = read_with(
        &lt,
        "x.xlsx",
        &Limits::default(),
        &Choice::default(),
        ReferenceScan::Elsewhere,
    );
    assert!(
        !matches!(&skipped, Err(ImportError::DamagedXlsx { reason }) if reason == "its XML is not valid"),
        "{skipped:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Property tests

/// Cell text: any printable character, and plenty of the ones that matter to CSV and phone
/// numbers.
fn cell_text(with_cr: bool) -> impl Strategy<Value = String> {
    let mut special: Vec<char> = "\",;\t\n +0 '=".chars().collect();
    if with_cr {
        special.push('\r');
    }
    let plain: Vec<char> = "abcdefghijklmnopqrstuvwxyz0123456789@.".chars().collect();
    prop::collection::vec(
        prop_oneof![
            3 => any::<char>().prop_filter("printable", |c| !c.is_control()
                && !matches!(c, '\u{FFFE}' | '\u{FFFF}' | '\u{FEFF}')),
            2 => prop::sample::select(special),
            1 => prop::sample::select(plain),
        ],
        0..12,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

fn rows(with_cr: bool) -> impl Strategy<Value = Vec<Vec<String>>> {
    prop::collection::vec(prop::collection::vec(cell_text(with_cr), 9), 1..12)
}

/// What `parse` should give back: the non-blank rows, trimmed, with their row numbers.
fn expected(rows: &[Vec<String>]) -> Vec<(usize, Vec<String>)> {
    rows.iter()
        .enumerate()
        .filter(|(_, r)| r.iter().any(|c| !c.trim().is_empty()))
        .map(|(i, r)| (i + 2, r.iter().map(|c| c.trim().to_string()).collect()))
        .collect()
}

/// The same for a CSV, where a `'` before `=`, `+`, `-` or `@` is our own download's
/// defusing, read back as typed.
fn expected_csv(rows: &[Vec<String>]) -> Vec<(usize, Vec<String>)> {
    expected(rows)
        .into_iter()
        .map(|(line, cells)| {
            let cells = cells
                .iter()
                .map(|c| crate::format::undefuse(c).to_string())
                .collect();
            (line, cells)
        })
        .collect()
}

fn got(sheet: &Sheet) -> Vec<(usize, Vec<String>)> {
    sheet
        .rows
        .iter()
        .map(|r| {
            (
                r.line,
                cells(&r.raw).iter().map(|c| c.to_string()).collect(),
            )
        })
        .collect()
}

proptest! {
    // Failures are not persisted: app/proptest-regressions is not this module's to write.
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn csv_round_trip(
        rows in rows(true),
        delimiter in prop::sample::select(vec![b',', b';', b'\t']),
        encoding in 0..4u8,
        crlf in any::<bool>(),
    ) {
        prop_assume!(rows.iter().any(|r| r.iter().any(|c| !c.trim().is_empty())));
        let mut writer = csv::WriterBuilder::new()
            .delimiter(delimiter)
            .terminator(if crlf { csv::Terminator::CRLF } else { csv::Terminator::Any(b'\n') })
            .from_writer(Vec::new());
        writer.write_record(header_cells()).expect("write");
        for row in &rows {
            writer.write_record(row).expect("write");
        }
        let text = String::from_utf8(writer.into_inner().expect("flush")).expect("utf-8");
        let bytes = match encoding {
            0 => text.into_bytes(),
            1 => [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat(),
            2 => utf16(&text, false, true),
            _ => utf16(&text, true, true),
        };
        let sheet = parse(&bytes, "x.csv", &Limits::default());
        let sheet = sheet.map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(got(&sheet), expected_csv(&rows));
    }

    #[test]
    fn xlsx_round_trip(rows in rows(false), inline in any::<bool>()) {
        prop_assume!(rows.iter().any(|r| r.iter().any(|c| !c.trim().is_empty())));
        let mut spec_rows = vec![header_row()];
        for row in &rows {
            spec_rows.push(
                row.iter()
                    .map(|c| Some(if inline { Cell::Inline(c.clone()) } else { Cell::Shared(c.clone()) }))
                    .collect(),
            );
        }
        let bytes = book(spec_rows);
        let sheet = parse(&bytes, "x.xlsx", &Limits::default());
        let sheet = sheet.map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(got(&sheet), expected(&rows));
    }

    #[test]
    fn never_panics_on_any_bytes(
        bytes in prop::collection::vec(any::<u8>(), 0..2048),
        name in prop::sample::select(vec!["x.csv", "x.xlsx", "x.txt", "x", "x.xls"]),
    ) {
        let _ = parse(&bytes, name, &Limits::default());
    }

    #[test]
    fn never_panics_on_a_damaged_workbook(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        stored in any::<bool>(),
    ) {
        let mut spec = WorkbookSpec::new(vec![SheetSpec::new("Users").rows(vec![
            header_row(),
            data_row(Cell::Number("6591234567".into()), Cell::Bool(true)),
            data_row(Cell::Date(45292.0), Cell::Error("#N/A".into())),
        ])]);
        if stored {
            spec.compression = CompressionMethod::Stored;
        }
        let mut bytes = spec.to_bytes();
        for (at, byte) in edits {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        let _ = parse(&bytes, "x.xlsx", &Limits::default());
    }

    #[test]
    fn never_panics_on_hostile_sheet_xml(
        cells in prop::collection::vec(
            (
                prop_oneof![
                    "[A-Z]{1,3}[1-9][0-9]{0,6}",
                    "[A-Za-z]{0,12}[0-9]{0,14}",
                    Just(String::new()),
                ],
                prop::sample::select(vec!["", "s", "n", "b", "e", "str", "inlineStr", "d", "x"]),
                prop_oneof!["[0-9.eE+-]{0,12}", ".{0,8}", Just("#N/A".to_string())],
                prop::option::of(0u32..4),
            ),
            0..12,
        ),
        rows in prop::collection::vec(prop::option::of("[0-9]{0,12}"), 0..4),
        dimension in prop::option::of("[A-Z]{0,4}[0-9]{0,8}(:[A-Z]{0,4}[0-9]{0,8})?"),
    ) {
        let mut xml = String::from(
            "<worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">",
        );
        if let Some(d) = dimension {
            xml.push_str(&format!("<dimension ref=\"{d}\"/>"));
        }
        xml.push_str("<sheetData>");
        for r in &rows {
            match r {
                Some(r) => xml.push_str(&format!("<row r=\"{r}\">")),
                None => xml.push_str("<row>"),
            }
            for (at, t, v, s) in &cells {
                xml.push_str("<c");
                if !at.is_empty() {
                    xml.push_str(&format!(" r=\"{at}\""));
                }
                if !t.is_empty() {
                    xml.push_str(&format!(" t=\"{t}\""));
                }
                if let Some(s) = s {
                    xml.push_str(&format!(" s=\"{s}\""));
                }
                if *t == "inlineStr" {
                    xml.push_str(&format!("><is><t>{}</t></is></c>", escape(v)));
                } else {
                    xml.push_str(&format!("><v>{}</v></c>", escape(v)));
                }
            }
            xml.push_str("</row>");
        }
        xml.push_str("</sheetData></worksheet>");
        let mut parts = minimal_parts();
        if let Some(sheet) = parts.iter_mut().find(|(n, _)| n == "xl/worksheets/sheet1.xml") {
            sheet.1 = xml;
        }
        let bytes = zip_parts(&parts, CompressionMethod::Deflated);
        let _ = parse(&bytes, "x.xlsx", &Limits::default());
    }
}

// ---------------------------------------------------------------------------------------------
// Records and their row numbers

/// Records as the csv crate reads them into `StringRecord`s, with row numbers counted byte by
/// byte from the reader's positions.
fn csv_crate_records(text: &str, delimiter: u8) -> Vec<(usize, Vec<String>)> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let bytes = text.as_bytes();
    let mut record = csv::StringRecord::new();
    let mut out = Vec::new();
    let mut counted_to = 0;
    let mut breaks = 0;
    let mut embedded = 0;
    while reader.read_record(&mut record).expect("csv") {
        let from = usize::try_from(record.position().expect("position").byte()).expect("usize");
        // A byte-order mark at the start of the text, which the reader drops, is no row.
        let from = if from == 0 && text.starts_with('\u{FEFF}') {
            3
        } else {
            from
        };
        let start = from
            + bytes[from..]
                .iter()
                .take_while(|b| matches!(b, b'\r' | b'\n'))
                .count();
        breaks += plain_breaks(&bytes[counted_to..start]);
        counted_to = start;
        let line = 1 + breaks - embedded;
        embedded += record
            .iter()
            .map(|f| plain_breaks(f.as_bytes()))
            .sum::<usize>();
        out.push((line, record.iter().map(str::to_string).collect()));
    }
    out
}

/// Line breaks (CRLF, LF, lone CR), one byte at a time.
fn plain_breaks(bytes: &[u8]) -> usize {
    (0..bytes.len())
        .filter(|&i| bytes[i] == b'\n' || (bytes[i] == b'\r' && bytes.get(i + 1) != Some(&b'\n')))
        .count()
}

fn our_records(text: &str, delimiter: u8) -> Vec<(usize, Vec<String>)> {
    let mut records = records::Records::new(text, delimiter);
    let mut out = Vec::new();
    while let Some(line) = records.advance() {
        out.push((line, records.cells().map(str::to_string).collect()));
    }
    out
}

#[test]
fn records_split_as_the_csv_crate_splits_them() {
    for text in [
        "",
        "\r\n\n",
        "a,b\r\nc",
        "a,\"b\"\"c\",\"d\ne\"x,f\n\n\"unclosed,\r\n",
        "\"\"\"\",\"\",a\"b\"\r\r\n,",
        "\u{FEFF}a,b\nc",
        "\"a\r\"\n\"b\"\"\r\n\"",
    ] {
        for delimiter in [b',', b';', b'\t'] {
            assert_eq!(
                our_records(text, delimiter),
                csv_crate_records(text, delimiter),
                "{text:?}"
            );
        }
    }
}

#[test]
fn long_records_split_as_the_csv_crate_splits_them() {
    // Cut out of the text (their quotes are plain), and read by csv-core (text after a
    // closing quote) with more cells, and longer ones, than its first buffers hold.
    let many = vec!["\"x\""; 100].join(",");
    let long = format!("\"{}\"\"\n{}\",b", "é".repeat(3000), "y".repeat(3000));
    let many_core = vec!["\"x\"y"; 100].join(",");
    let long_core = format!("\"{}\"\"\n{}\"z,b", "é".repeat(3000), "y".repeat(3000));
    let text = format!("a,b\n{many}\r\n{long}\n{many_core}\r{long_core}\n{many},{long_core}\nc,d");
    let records = our_records(&text, b',');
    assert_eq!(records, csv_crate_records(&text, b','));
    assert_eq!(records.len(), 7);
    assert_eq!(records[3].1.len(), 100);
    assert_eq!(records[3].1[0], "xy");
}

#[test]
fn records_split_as_the_csv_crate_splits_them_around_a_byte_order_mark_and_lone_returns() {
    // A mark at the start of a later record is a character of its cell (csv-core would drop
    // it if that were the first input it was given); csv-core, then cut records, then
    // csv-core again, across lone CRs.
    for text in [
        "a\n\u{FEFF}\"b\"c",
        "\"a\"x\rb\r\n\"c\"y",
        "\u{FEFF}\u{FEFF}\"a\"b\r\n\r\nc",
    ] {
        assert_eq!(
            our_records(text, b','),
            csv_crate_records(text, b','),
            "{text:?}"
        );
    }
    assert_eq!(
        our_records("a\n\u{FEFF}\"b\"c", b',')[1].1,
        ["\u{FEFF}\"b\"c"]
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn records_split_as_the_csv_crate_splits_random_text(
        pieces in prop::collection::vec(
            prop::sample::select(vec![
                "a", "é", "\"", "\"\"", ",", ";", "\t", "\r", "\n", "\r\n", " ", "xy", "\u{FEFF}",
                "\"a,b\r\nc\"", "\"\"\"\"", "\"x\"y", ",,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,",
                "éééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé",
            ]),
            0..60,
        ),
        delimiter in prop::sample::select(vec![b',', b';', b'\t', b'a']),
    ) {
        let text: String = pieces.concat();
        prop_assert_eq!(our_records(&text, delimiter), csv_crate_records(&text, delimiter));
    }
}

// ---------------------------------------------------------------------------------------------
// Asking the officer: which column is which, which sheet

fn read_ok(bytes: &[u8], name: &str, choice: &Choice) -> Reading {
    match read(bytes, name, &Limits::default(), choice) {
        Ok(reading) => reading,
        Err(e) => panic!("{name}: {e}"),
    }
}

fn asked_columns(reading: Reading) -> ColumnQuestion {
    match reading {
        Reading::Ask(Question::Columns(q)) => q,
        other => panic!("expected a column question, got {other:?}"),
    }
}

fn read_sheet(reading: Reading) -> Sheet {
    match reading {
        Reading::Read(sheet) => sheet,
        other => panic!("expected the users, got {other:?}"),
    }
}

fn field(name: &str) -> usize {
    COLUMNS
        .iter()
        .position(|c| c.field == name)
        .expect("a field")
}

const OTHER_HEADERS: &str = "Work email,Given name,Surname,Handphone,Company,Unit,SEED?,Why";
const OTHER_ROW: &str = "a@tech.gov.sg,Ann,Tan,91234567,GovTech,Ops,Yes,Builds the portal";

#[test]
fn other_headers_are_asked_about_with_a_guess_and_samples() {
    let bytes = csv(&[
        "Staff list",
        OTHER_HEADERS,
        OTHER_ROW,
        "b@vendor.com,Ben,Lim,,,,No,",
    ]);
    // Without asking, as before: refused for the column it cannot find.
    assert_eq!(
        err(&bytes, "x.csv"),
        ImportError::MissingColumns {
            columns: vec!["Reason".into()]
        }
    );
    let q = asked_columns(read_ok(&bytes, "x.csv", &Choice::default()));
    assert_eq!(q.sheet, None);
    assert_eq!(q.header_line, 2);
    let headers: Vec<&str> = q.columns.iter().map(|c| c.header.as_str()).collect();
    assert_eq!(headers, OTHER_HEADERS.split(',').collect::<Vec<_>>());
    assert_eq!(q.columns[0].samples, ["a@tech.gov.sg", "b@vendor.com"]);
    assert_eq!(q.columns[7].label(), "Why (column H)");
    // Every field the aliases know; the reason is the officer's to say.
    let mut expected = vec![
        Some(0),
        None,
        Some(1),
        Some(2),
        Some(3),
        Some(4),
        Some(5),
        Some(6),
        None,
    ];
    assert_eq!(q.guess, expected);
    assert_eq!(q.unfilled_required(), ["Reason"]);
    assert_eq!(
        q.signature,
        "workemail|givenname|surname|handphone|company|unit|seed|why"
    );

    // Answered: every row is read with the columns as mapped, title row skipped.
    expected[field("reason")] = Some(7);
    let choice = Choice {
        sheet: None,
        mapping: Some(Mapping {
            header_line: q.header_line,
            columns: expected,
        }),
    };
    let sheet = read_sheet(read_ok(&bytes, "x.csv", &choice));
    assert_eq!(lines(&sheet), [3, 4]);
    assert_eq!(
        cells(&sheet.rows[0].raw),
        [
            "a@tech.gov.sg",
            "",
            "Ann",
            "Tan",
            "91234567",
            "GovTech",
            "Ops",
            "Yes",
            "Builds the portal"
        ]
    );
    assert_eq!(
        sheet.notices,
        ["Used row 2 as the header row; ignored the rows above it"]
    );
}

#[test]
fn matching_headers_are_not_asked_about() {
    // Every template field found: an extra column is only a notice.
    let bytes = csv(&[&format!("{HEADER},Notes"), &format!("{ROW_A},hello")]);
    let sheet = read_sheet(read_ok(&bytes, "x.csv", &Choice::default()));
    assert_eq!(emails(&sheet), ["a@tech.gov.sg"]);
    // A required column missing, and nothing unknown that could fill it: refused, as before.
    let bytes = csv(&["Email address,First name", "a@tech.gov.sg,Ann"]);
    assert!(matches!(
        read(&bytes, "x.csv", &Limits::default(), &Choice::default()),
        Err(ImportError::MissingColumns { .. })
    ));
}

#[test]
fn a_file_without_a_header_row_is_asked_about_by_its_values() {
    let bytes = csv(&[
        "a@tech.gov.sg,Ann,Tan,91234567,GovTech,Ops,Yes,Builds",
        "b@vendor.com,Ben,Lim,81234567,Vendor,Ops,No,Helps",
    ]);
    let q = asked_columns(read_ok(&bytes, "x.csv", &Choice::default()));
    assert!(q.headerless, "the first row holds an address");
    assert_eq!(q.guess[field("email")], Some(0));
    assert_eq!(q.guess[field("contact_number")], Some(3));
    assert_eq!(q.guess[field("seed_required")], Some(6));
    // Read with the first row as a user: the header line is the one above it.
    let mut columns = q.guess.clone();
    columns[field("first_name")] = Some(1);
    columns[field("last_name")] = Some(2);
    columns[field("organisation")] = Some(4);
    columns[field("reason")] = Some(7);
    let choice = Choice {
        sheet: None,
        mapping: Some(Mapping {
            header_line: q.header_line - 1,
            columns,
        }),
    };
    let sheet = read_sheet(read_ok(&bytes, "x.csv", &choice));
    assert_eq!(lines(&sheet), [1, 2]);
    assert_eq!(emails(&sheet), ["a@tech.gov.sg", "b@vendor.com"]);
    assert!(sheet.notices.is_empty(), "{:?}", sheet.notices);
}

#[test]
fn a_workbook_with_two_sheets_of_users_asks_which() {
    let users = SheetSpec::new("Users").rows(text_rows(&[
        &header_cells(),
        &ROW_A.split(',').collect::<Vec<_>>(),
    ]));
    let vendors = SheetSpec::new("Vendors").rows(text_rows(&[
        &["Email address", "First name"],
        &["b@vendor.com", "Ben"],
        &["c@vendor.com", "Cat"],
    ]));
    let instructions = SheetSpec::new("Instructions").rows(text_rows(&[
        &["How to fill in this file"],
        &["One user per row"],
    ]));
    let bytes =
        WorkbookSpec::new(vec![instructions.clone(), vendors.clone(), users.clone()]).to_bytes();
    match read_ok(&bytes, "x.xlsx", &Choice::default()) {
        Reading::Ask(Question::Sheet { sheets, suggested }) => {
            // The instructions are never a choice; the best header is suggested.
            let names: Vec<&str> = sheets.iter().map(|s| s.name.as_str()).collect();
            assert_eq!(names, ["Vendors", "Users"]);
            assert_eq!(suggested, 1);
            assert_eq!(
                (sheets[0].matched, sheets[0].rows, sheets[0].more),
                (2, 3, false)
            );
            assert_eq!(sheets[1].matched, 9);
        }
        other => panic!("expected a sheet question, got {other:?}"),
    }
    let chosen = |name: &str| Choice {
        sheet: Some(name.into()),
        mapping: None,
    };
    let sheet = read_sheet(read_ok(&bytes, "x.xlsx", &chosen("Users")));
    assert_eq!(sheet.format, "Excel workbook (sheet “Users”)");
    assert_eq!(emails(&sheet), ["a@tech.gov.sg"]);
    // The other sheet lacks columns it could map: refused, naming them.
    assert!(matches!(
        read(&bytes, "x.xlsx", &Limits::default(), &chosen("Vendors")),
        Err(ImportError::MissingColumns { .. })
    ));
    assert_eq!(
        read(&bytes, "x.xlsx", &Limits::default(), &chosen("Gone")),
        Err(ImportError::NoSuchSheet {
            name: "Gone".into()
        })
    );

    // The template's layout (users and instructions) is read at once.
    let bytes = WorkbookSpec::new(vec![users, instructions]).to_bytes();
    let sheet = read_sheet(read_ok(&bytes, "x.xlsx", &Choice::default()));
    assert_eq!(sheet.format, "Excel workbook (sheet “Users”)");
}

#[test]
fn a_sheet_with_other_headers_is_asked_about_and_read_as_mapped() {
    let other = SheetSpec::new("Staff").rows(text_rows(&[
        &OTHER_HEADERS.split(',').collect::<Vec<_>>(),
        &OTHER_ROW.split(',').collect::<Vec<_>>(),
    ]));
    let bytes = WorkbookSpec::new(vec![other, SheetSpec::new("Empty")]).to_bytes();
    let q = asked_columns(read_ok(&bytes, "x.xlsx", &Choice::default()));
    assert_eq!(q.sheet.as_deref(), Some("Staff"));
    let mut columns = q.guess.clone();
    columns[field("reason")] = Some(7);
    let choice = Choice {
        sheet: q.sheet.clone(),
        mapping: Some(Mapping {
            header_line: q.header_line,
            columns,
        }),
    };
    let sheet = read_sheet(read_ok(&bytes, "x.xlsx", &choice));
    assert_eq!(sheet.rows[0].raw.reason, "Builds the portal");
    assert_eq!(sheet.rows[0].raw.department, "Ops");
}

// ---------------------------------------------------------------------------------------------
// A file fed in parts as it arrives (`Feed`): the same answer as the whole file

/// `bytes` fed to a [`Feed`] in parts cut at `cuts` (any order, any size), the reading to
/// begin once `start` bytes have come; what it comes to, and how far it had read before the
/// last part (`None`: not as it came).
fn fed(
    bytes: &[u8],
    name: &str,
    choice: &Choice,
    cuts: &[usize],
    start: usize,
) -> (Result<Reading, ImportError>, Option<usize>) {
    let mut cuts: Vec<usize> = cuts.iter().map(|&c| c.min(bytes.len())).collect();
    cuts.sort_unstable();
    let mut feed = Feed::with_start(name, bytes.len(), choice.clone(), start);
    let mut from = 0;
    for cut in cuts {
        feed.push(&bytes[from..cut]);
        from = cut;
    }
    let so_far = feed.read_so_far();
    feed.push(&bytes[from..]);
    (feed.finish(), so_far)
}

fn whole(bytes: &[u8], name: &str, choice: &Choice) -> Result<Reading, ImportError> {
    read_with(bytes, name, &Limits::default(), choice, ReferenceScan::Here)
}

/// A template CSV of `rows` users (about 60 bytes a row).
fn users_csv(rows: usize, line_end: &str) -> Vec<u8> {
    let mut text = header_cells().join(",");
    for i in 0..rows {
        text.push_str(line_end);
        text.push_str(&format!(
            "user.{i}@tech.gov.sg,,Ann,\"Lee, {i}\",91234567,GovTech,,No,Platform"
        ));
    }
    text.push_str(line_end);
    text.into_bytes()
}

#[test]
fn a_csv_fed_in_parts_is_read_as_it_comes_and_reads_as_the_whole_file() {
    for line_end in ["\n", "\r\n", "\r"] {
        let bytes = users_csv(3_000, line_end);
        let choice = Choice::default();
        // Parts of 1,000 bytes, and parts cut inside every kind of place (a CRLF, a quoted cell).
        let cuts: Vec<usize> = (1..bytes.len() / 1_000)
            .map(|i| i * 1_000 + i % 7)
            .collect();
        let (result, so_far) = fed(&bytes, "users.csv", &choice, &cuts, START_BYTES);
        assert_eq!(result, whole(&bytes, "users.csv", &choice), "{line_end:?}");
        let so_far = so_far.expect("read as it came");
        assert!(
            so_far > 2_900,
            "{line_end:?}: only {so_far} rows read before the last part"
        );
        let Ok(Reading::Read(sheet)) = result else {
            panic!("{line_end:?}: not read");
        };
        assert_eq!(sheet.rows.len(), 3_000);
        assert_eq!(sheet.format, "CSV, UTF-8, comma-separated");
    }
}

#[test]
fn a_fed_file_that_is_not_utf8_text_is_read_whole_as_it_would_be() {
    let choice = Choice::default();
    let cuts: Vec<usize> = (1..200).map(|i| i * 997).collect();
    // Not UTF-8 far down the file: every row is read again, as Windows-1252.
    let mut legacy = users_csv(3_000, "\r\n");
    let at = legacy.len() - 100;
    legacy.splice(at..at, *b"Caf\xE9");
    // A byte-order mark of UTF-16, an xlsx named .csv, binary data, an empty file.
    let mut files = vec![
        (legacy, "users.csv"),
        (
            utf16(
                &String::from_utf8(users_csv(2_000, "\n")).unwrap(),
                false,
                true,
            ),
            "users.txt",
        ),
        (book(vec![header_row()]), "users.csv"),
        (
            [&[0u8; 10][..], &users_csv(2_000, "\n")].concat(),
            "users.csv",
        ),
        (Vec::new(), "users.csv"),
    ];
    // A character cut at the very end of the file.
    let mut cut_short = users_csv(2_000, "\n");
    cut_short.extend_from_slice("é".as_bytes().get(..1).unwrap());
    files.push((cut_short, "users.csv"));
    for (bytes, name) in &files {
        let (result, _) = fed(bytes, name, &choice, &cuts, START_BYTES);
        assert_eq!(
            result,
            whole(bytes, name, &choice),
            "{name}, {} bytes",
            bytes.len()
        );
    }
    let (result, _) = fed(&files[0].0, "users.csv", &choice, &cuts, START_BYTES);
    let Ok(Reading::Read(sheet)) = result else {
        panic!("the legacy file is read");
    };
    assert!(sheet.format.contains("Windows-1252"), "{}", sheet.format);
}

/// A quoted cell of 12,000 bytes over 1,500 lines: the rows the delimiter is chosen from go
/// on past the 8,192 characters the reading waits for.
static LONG_QUOTED_CELL: std::sync::LazyLock<Vec<u8>> =
    std::sync::LazyLock::new(|| format!("\"{}\"\n", "x,y;z\t\r\n".repeat(1_500)).into_bytes());

/// 1,000 bytes of UTF-16 LE without a byte-order mark: after a few bytes of ASCII at the start
/// of a file, its first 1,024 bytes look like UTF-16, and its first 100 do not.
static UTF16_RUN: std::sync::LazyLock<Vec<u8>> =
    std::sync::LazyLock::new(|| utf16(&"Email,".repeat(84), false, false)[..1_000].to_vec());

#[test]
fn a_fed_file_whose_start_reads_otherwise_than_the_whole_waits_for_more() {
    let choice = Choice::default();
    // 65 KB of rows: past the 32 KB the start waits for.
    let rows = users_csv(1_000, "\n");
    let semicolons = String::from_utf8(rows.clone())
        .unwrap()
        .replace(',', ";")
        .into_bytes();
    let files: Vec<(&str, Vec<u8>)> = vec![
        // Its first 100 bytes are ASCII; its first 1,024 look like UTF-16 without a mark.
        (
            "UTF-16 after a few bytes",
            [b"E,U\n".as_slice(), &UTF16_RUN, &rows].concat(),
        ),
        // The rows the delimiter is chosen from (semicolons) go on past the first 32 KB.
        (
            "a long first cell",
            [LONG_QUOTED_CELL.repeat(4).as_slice(), &semicolons].concat(),
        ),
        // Control characters: one in 20 of the first 2,000 characters, fewer of the 8,192 the
        // check for binary data looks at.
        (
            "control characters first",
            [[1u8; 100].as_slice(), b"\n", &rows].concat(),
        ),
        // A `sep=` line whose CRLF is cut between two parts.
        (
            "sep= and a CRLF",
            [b"sep=;\r\n".as_slice(), &semicolons].concat(),
        ),
        // A `sep=` line that goes on past the first 32 KB (with spaces, which Excel skips).
        (
            "a long sep= line",
            [b"sep=;".as_slice(), &[b' '; 40_000], b"\r\n", &semicolons].concat(),
        ),
    ];
    // Parts of a byte for the first 40 bytes, then of 1,500.
    for (what, bytes) in &files {
        let cuts: Vec<usize> = (1..=40)
            .chain((1..bytes.len() / 1_500).map(|i| i * 1_500))
            .collect();
        for start in [1, 100, 40_000] {
            let (result, _) = fed(bytes, "users.csv", &choice, &cuts, start);
            assert_eq!(
                result,
                whole(bytes, "users.csv", &choice),
                "{what}, from {start} bytes"
            );
        }
    }
}

#[test]
fn a_fed_file_told_the_wrong_size_or_left_unended_reads_as_the_whole_file() {
    let choice = Choice::default();
    let rows = users_csv(3_000, "\n");
    let cuts: Vec<usize> = (1..rows.len() / 4_000).map(|i| i * 4_000).collect();
    // The size the browser gave is only the room taken: a file that grew or shrank meanwhile.
    for size in [0, 10, rows.len() * 2, Limits::default().max_bytes + 1] {
        let mut feed = Feed::new("users.csv", size, choice.clone());
        let mut from = 0;
        for &cut in &cuts {
            feed.push(&rows[from..cut]);
            from = cut;
        }
        feed.push(&rows[from..]);
        assert_eq!(
            feed.finish(),
            whole(&rows, "users.csv", &choice),
            "size {size}"
        );
    }
    // A quote never closed after a few rows: the rest is not read again with every part, but
    // once, at the end.
    let unquoted = String::from_utf8(users_csv(30_000, "\n"))
        .unwrap()
        .replace('"', "");
    let unended = [
        &users_csv(30, "\n"),
        b"\"never closed,".as_slice(),
        unquoted.as_bytes(),
    ]
    .concat();
    let mut feed = Feed::new("users.csv", unended.len(), choice.clone());
    for part in unended.chunks(64 << 10) {
        feed.push(part);
    }
    assert!(feed.held(), "the rest is left to the end");
    assert_eq!(feed.finish(), whole(&unended, "users.csv", &choice));
}

/// Pieces of random delimited text for the fed-file property test: cells, every kind of line
/// break and quote, characters of two and three bytes, and whole rows of the template (so
/// that most files have users).
fn feed_pieces() -> impl Strategy<Value = Vec<&'static [u8]>> {
    prop::collection::vec(
        prop::sample::select(vec![
            b"user@tech.gov.sg,,Ann,Lee,91234567,GovTech,,No,Platform\n".as_slice(),
            b"user@tech.gov.sg;;Ann;Lee;91234567;GovTech;;No;Platform\r\n",
            b"vendor@example.com,v1,Bo,\"Tan\r\n Jr\",81234567,Acme,,Yes,\"Says \"\"hi\"\"\"\r",
            b"Email,Username,First name,Last name,Contact number,Organisation,Department,SEED,Reason\n",
            b"Email;Username;First name;Last name;Contact number;Organisation;Department;SEED;Reason\n",
            b"\"", b"\"\"", b",", b";", b"\t", b"\r", b"\n", b"\r\n", b"\n\n\n", b" ", b"a",
            "é".as_bytes(), "€".as_bytes(), b"\"x\"y", b"\"a,b\r\nc\"",
        ]),
        0..300,
    )
}

/// Pieces that change how the whole file reads, one of which may go anywhere in a fed file:
/// a byte that is not UTF-8, a byte-order mark, a `sep=` line, control characters, UTF-16
/// without a byte-order mark, a long quoted cell.
fn rare_piece() -> impl Strategy<Value = &'static [u8]> {
    prop::sample::select(vec![
        b"\xFF".as_slice(),
        b"\xEF\xBB\xBF",
        b"sep=;\n",
        b"\x01\x02\x03",
        b"E\0m\0a\0i\0l\0,\0",
        UTF16_RUN.as_slice(),
        LONG_QUOTED_CELL.as_slice(),
    ])
}

/// Random files fed in random parts read as the whole file; and enough of them were read as
/// they came for that to mean something.
#[test]
fn a_file_fed_in_random_parts_reads_as_the_whole_file() {
    let heads = prop::sample::select(vec![
        b"".as_slice(),
        b"\xEF\xBB\xBF",
        b"sep=;\r\n",
        b"Email,Username,First name,Last name,Contact number,Organisation,Department,SEED,Reason\r\n",
        b"Email;Username;First name;Last name;Contact number;Organisation;Department;SEED;Reason\n",
        b"Title\n\nEmail\tFirst name\tLast name\tContact number\tOrganisation\tSEED\tReason\n",
        b"\x01\x02\x03\x04\x05\x06\n",
        b"E\0m\0a\0i\0l\0,\0",
        b"E,U\n",
    ]);
    let files = (
        heads,
        feed_pieces(),
        // Repeated, so that many files pass the 32 KB the reading waits for.
        1..30usize,
        prop::option::weighted(0.3, (rare_piece(), 0.0..1.0f64)),
        prop::collection::vec(0.0..1.0f64, 0..40),
        prop::sample::select(vec![0usize, 1, 100, 2_000, 9_000, START_BYTES]),
        any::<bool>(),
        prop::sample::select(vec!["users.csv", "users.txt"]),
    );
    let config = ProptestConfig {
        cases: 400,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let read_as_they_came = std::cell::Cell::new(0usize);
    let outcome = proptest::test_runner::TestRunner::new(config).run(
        &files,
        |(head, pieces, repeat, rare, cuts, start, mapped, name)| {
            let body: Vec<u8> = pieces.concat();
            let mut bytes = head.to_vec();
            for _ in 0..repeat {
                bytes.extend_from_slice(&body);
            }
            if let Some((piece, at)) = rare {
                let at = (at * bytes.len() as f64) as usize;
                bytes.splice(at..at, piece.iter().copied());
            }
            let cuts: Vec<usize> = cuts
                .iter()
                .map(|f| (f * bytes.len() as f64) as usize)
                .collect();
            let choice = if mapped {
                Choice {
                    mapping: Some(Mapping {
                        header_line: 1,
                        columns: vec![
                            Some(0),
                            None,
                            Some(2),
                            Some(3),
                            Some(4),
                            Some(5),
                            None,
                            Some(7),
                            Some(8),
                        ],
                    }),
                    ..Choice::default()
                }
            } else {
                Choice::default()
            };
            let (result, so_far) = fed(&bytes, name, &choice, &cuts, start);
            if so_far.is_some_and(|rows| rows > 0) {
                read_as_they_came.set(read_as_they_came.get() + 1);
            }
            prop_assert_eq!(result, whole(&bytes, name, &choice));
            Ok(())
        },
    );
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
    // About a third are (the rest are read whole: too short, not UTF-8, parts too few).
    let n = read_as_they_came.get();
    assert!(n >= 40, "only {n} of 400 files were read as they came");
}
