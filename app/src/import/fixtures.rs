//! The batch upload fixtures in `end2end/fixtures/batch/` (used by the Playwright tests):
//! how each is made, and what each must produce. The files are committed; re-create them with
//! `cargo test -p app --lib import::fixtures -- --ignored write_fixtures`.

use std::path::PathBuf;

use encoding_rs::WINDOWS_1252;

use super::testkit::{
    pseudo_random_bytes, text_rows, unzip_parts, zip_parts, Cell, SheetSpec, WorkbookSpec,
};
use super::{parse, Limits};
use crate::domain::NewAccount;

const TEMPLATE_HEADER: &str = "Email address,TechPass username,First name,Last name,Contact number,Organisation,Department,Is onboarding to SEED required?,Reason";

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../end2end/fixtures/batch")
}

fn crlf(lines: &[&str]) -> String {
    lines.iter().map(|l| format!("{l}\r\n")).collect()
}

fn users_csv() -> Vec<u8> {
    let body = crlf(&[
        TEMPLATE_HEADER,
        "tan.wei.ling@tech.gov.sg,,Wei Ling,Tan,+65 9123 4567,GovTech,Product Engineering,Yes,Needs access to the developer portal",
        "iskandar.rahman@mom.gov.sg,,Muhammad Iskandar,Bin Rahman,91234567,Ministry of Manpower,Workplace Policy,No,Reviews work pass applications",
        "priya.nair@tech.gov.sg,,Priya,Nair,6123 4567,GovTech,,Yes,Platform administrator for the TechBiz project",
        "john.lim@acme-consulting.com,john.lim,John,Lim,+65 8123 4567,Acme Consulting Pte Ltd,Delivery,No,Vendor developer on the TechBiz project",
        "sarah.ong@example.com.sg,sarah-ong,Sarah,Ong,+65 9876 5432,Example Solutions Pte Ltd,,Yes,Vendor tester for the SEED pilot",
    ]);
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend_from_slice(body.as_bytes());
    bytes
}

fn excel_windows_1252_csv() -> Vec<u8> {
    let body = crlf(&[
        "E-mail;Username;First name;Last name;Mobile;Company;Dept;SEED;Reason",
        "zoe.tan@tech.gov.sg;;Zoë;Tan;9123 4567;GovTech;Data Science;Yes;Café analytics project",
        "jose.garcia@iberica-soluciones.es;jose.garcia;José;García;+34 612 345 678;Ibérica Soluciones S.L.;;No;Integration work — payments",
        "renee.dubois@mom.gov.sg;;Renée;Dubois;81234567;Ministry of Manpower;;Yes;Reviewer – “Smart Nation” pilot",
    ]);
    let (bytes, _, unmappable) = WINDOWS_1252.encode(&body);
    assert!(!unmappable, "every character is in Windows-1252");
    bytes.into_owned()
}

fn unicode_text_txt() -> Vec<u8> {
    let body = crlf(&[
        &TEMPLATE_HEADER.replace(',', "\t"),
        "chen.xiaoming@tech.gov.sg\t\t小明\t陈\t9123 4567\tGovTech\t\tNo\tAccess for the 数据 project",
        "nguyen.an@vietsoft.vn\tnguyen.an\tVăn An\tNguyễn\t+84 912 345 678\tCông ty VietSoft\t\tYes\tVendor for the mobile app",
        "arun.kumar@mom.gov.sg\t\tஅருண்\tகுமார்\t8765 4321\tMinistry of Manpower\tIT\tYes\tNeeds SEED onboarding",
    ]);
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(body.encode_utf16().flat_map(u16::to_le_bytes));
    bytes
}

fn multiline_csv() -> Vec<u8> {
    crlf(&[
        TEMPLATE_HEADER,
        "lim.hui.min@tech.gov.sg,,Hui Min,Lim,9123 4567,GovTech,,Yes,Developer portal access",
        "goh.kah.wai@tech.gov.sg,,Kah Wai,Goh,8123 4567,GovTech,,No,\"Needs access for:\n- the developer portal\n- the \"\"SEED\"\" pilot\"",
        "ng.siew.ling@mom.gov.sg,,Siew Ling,Ng,6123 4567,Ministry of Manpower,,Yes,Reviewer",
    ])
    .into_bytes()
}

fn numeric_phones() -> WorkbookSpec {
    let header: Vec<Option<Cell>> = TEMPLATE_HEADER
        .split(',')
        .map(|h| Some(Cell::text(h)))
        .collect();
    let t = |s: &str| Some(Cell::text(s));
    let n = |s: &str| Some(Cell::Number(s.into()));
    WorkbookSpec::new(vec![SheetSpec::new("Users").rows(vec![
        header,
        vec![
            t("lee.ming@tech.gov.sg"),
            None,
            t("Ming"),
            t("Lee"),
            n("6591234567"),
            t("GovTech"),
            None,
            t("Yes"),
            t("Contact number typed as a number"),
        ],
        vec![
            t("alice.wong@partner.com.sg"),
            t("alice.wong"),
            t("Alice"),
            t("Wong"),
            n("91234567"),
            t("Partner Pte Ltd"),
            t("Engineering"),
            t("No"),
            t("Vendor; number cell with 8 digits"),
        ],
        vec![
            t("rahul.singh@tech.gov.sg"),
            None,
            t("Rahul"),
            t("Singh"),
            t("+6591234567"),
            t("GovTech"),
            None,
            Some(Cell::Bool(true)),
            t("Text cell with a leading plus; SEED as TRUE"),
        ],
    ])])
}

fn extra_and_missing_csv() -> Vec<u8> {
    crlf(&[
        "Email address,First name,Last name,Contact number,Organisation,Is onboarding to SEED required?,Notes",
        "tan.wei.ling@tech.gov.sg,Wei Ling,Tan,91234567,GovTech,Yes,Started in May",
        "john.lim@acme-consulting.com,John,Lim,81234567,Acme Consulting Pte Ltd,No,Vendor",
    ])
    .into_bytes()
}

fn some_invalid_csv() -> Vec<u8> {
    crlf(&[
        TEMPLATE_HEADER,
        "wei.ling@tech.gov.sg,,Wei Ling,Tan,91234567,GovTech,,Yes,Developer portal access",
        "kumar.raj@tech,,Raj,Kumar,81234567,GovTech,,No,Bad email: no full domain",
        "john.lim@acme-consulting.com,john.lim,John,Lim,+65 8123 4567,Acme Consulting Pte Ltd,,No,Vendor developer",
        "mei.chua@contractor.com,,Mei,Chua,92345678,Contractor Pte Ltd,,No,Vendor without a TechPass username",
        "siti.aminah@mom.gov.sg,,Siti,Aminah,63456789,Ministry of Manpower,,Yes,Reviewer",
        "daniel.koh@tech.gov.sg,,Daniel,Koh,12,GovTech,,Yes,Contact number too short",
        "grace.teo@hive.com.sg,grace.teo,Grace,Teo,+65 9345 6789,Hive Pte Ltd,,Yes,Vendor tester",
        "Wei.Ling@Tech.gov.sg,,Wei Ling,Tan,91234567,GovTech,,Yes,Same person as row 2",
    ])
    .into_bytes()
}

fn bomb_xlsx() -> Vec<u8> {
    let header: Vec<&str> = TEMPLATE_HEADER.split(',').collect();
    let mut sheet = SheetSpec::new("Users").rows(text_rows(&[
        &header,
        &[
            "bomb@tech.gov.sg",
            "",
            "Bo",
            "Om",
            "91234567",
            "GovTech",
            "",
            "No",
            "Padding",
        ],
    ]));
    // 64 MiB of spaces between the two rows: about 1,000 to 1 in deflate.
    sheet.padding = 64 * 1024 * 1024;
    WorkbookSpec::new(vec![sheet]).to_bytes()
}

fn shared_strings_billions_xlsx() -> Vec<u8> {
    let mut book = numeric_phones();
    book.declared_strings = Some("4000000000".into());
    book.to_bytes()
}

fn far_cell_xlsx() -> Vec<u8> {
    let header: Vec<&str> = TEMPLATE_HEADER.split(',').collect();
    let sheet = SheetSpec::new("Users")
        .dimension("A1:XFD1048576")
        .rows(text_rows(&[
            &header,
            &[
                "far@tech.gov.sg",
                "",
                "Far",
                "Away",
                "91234567",
                "GovTech",
                "",
                "No",
                "A stray cell at XFD1048576",
            ],
        ]))
        .cell(1_048_576, 16_383, Cell::text("x"));
    WorkbookSpec::new(vec![sheet]).to_bytes()
}

/// numeric-phones.xlsx with one more cell in its header row, whose reference has ten letters:
/// calamine's arithmetic would overflow on it, and the reference scan refuses the file (in
/// the browser, the checker worker's scan: see `ReferenceScan`).
fn overflowing_reference_xlsx() -> Vec<u8> {
    let mut parts = unzip_parts(numeric_phones().to_bytes());
    for (name, body) in parts.iter_mut() {
        if name == "xl/worksheets/sheet1.xml" {
            *body = body.replacen("</row>", "<c r=\"AAAAAAAAAA1\"><v>1</v></c></row>", 1);
        }
    }
    zip_parts(&parts, zip::CompressionMethod::Deflated)
}

fn truncated_xlsx() -> Vec<u8> {
    let full = numeric_phones().to_bytes();
    full[..full.len() / 2].to_vec()
}

fn random_xlsx() -> Vec<u8> {
    pseudo_random_bytes(4096, 0x05EE_D0FB_A7C4)
}

/// The rows of the parsing worker's warm-up files (`frontend/worker/warm-up.{csv,xlsx}`, see
/// `warm_up` there): 200 made-up people, officers and vendors, with a mistake in some field
/// every few rows and a few repeated addresses, so that every rule, message and clash runs.
fn warm_up_rows() -> Vec<Vec<String>> {
    let header = TEMPLATE_HEADER.split(',').map(str::to_string).collect();
    let mut rows = vec![header];
    let first = ["Wei Ling", "Muhammad", "Priya", "Zoë", "Siew-Ling", "Arun"];
    let last = ["Tan", "bin Abdullah", "Nair", "O'Brien", "Ng", "Kumar"];
    for i in 0..200 {
        let vendor = i % 3 == 1;
        let mut row = vec![
            if vendor {
                format!("vendor.{i}@acme-consulting.com.sg")
            } else {
                format!("officer_{i}@tech.gov.sg")
            },
            if vendor {
                format!("vendor-{i}")
            } else {
                String::new()
            },
            first[i % first.len()].to_string(),
            last[i % last.len()].to_string(),
            if i % 4 == 0 {
                format!("9{:03} {:04}", i % 1000, (i * 7) % 10_000)
            } else {
                format!("+65 8{:03} {:04}", i % 1000, (i * 7) % 10_000)
            },
            ["GovTech", "Acme Consulting Pte Ltd"][usize::from(vendor)].to_string(),
            if i % 2 == 0 {
                "Product, Engineering".to_string()
            } else {
                String::new()
            },
            ["Yes", "No"][i % 2].to_string(),
            "Developer on the \"Parking.sg\" revamp, as approved by the director.".to_string(),
        ];
        match i % 19 {
            3 => row[0] = format!("officer {i}@tech"),
            6 => row[1] = String::new(),
            9 => row[2] = "R2-D2".to_string(),
            11 => row[4] = "12".to_string(),
            13 => row[0] = "officer_0@tech.gov.sg".to_string(),
            15 => row[7] = "Maybe".to_string(),
            17 => row[8] = String::new(),
            _ => {}
        }
        rows.push(row);
    }
    rows
}

fn warm_up_csv() -> Vec<u8> {
    let lines: Vec<String> = warm_up_rows()
        .iter()
        .map(|row| {
            row.iter()
                .map(|cell| {
                    if cell.contains([',', '"']) {
                        format!("\"{}\"", cell.replace('"', "\"\""))
                    } else {
                        cell.clone()
                    }
                })
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect();
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend_from_slice(crlf(&lines).as_bytes());
    bytes
}

/// As Excel writes a workbook: shared strings, deflated.
fn warm_up_xlsx() -> Vec<u8> {
    let rows = warm_up_rows();
    let rows: Vec<Vec<&str>> = rows
        .iter()
        .map(|row| row.iter().map(String::as_str).collect())
        .collect();
    let rows: Vec<&[&str]> = rows.iter().map(Vec::as_slice).collect();
    WorkbookSpec::new(vec![SheetSpec::new("Users").rows(text_rows(&rows))]).to_bytes()
}

fn worker_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../frontend/worker")
}

/// The parsing worker's warm-up files: file name and bytes.
fn warm_ups() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("warm-up.csv", warm_up_csv()),
        ("warm-up.xlsx", warm_up_xlsx()),
    ]
}

/// Every fixture: file name and bytes.
fn all() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("users.csv", users_csv()),
        ("excel-windows-1252.csv", excel_windows_1252_csv()),
        ("unicode-text.txt", unicode_text_txt()),
        ("multiline.csv", multiline_csv()),
        ("numeric-phones.xlsx", numeric_phones().to_bytes()),
        ("extra-and-missing.csv", extra_and_missing_csv()),
        ("some-invalid.csv", some_invalid_csv()),
        ("bomb.xlsx", bomb_xlsx()),
        (
            "shared-strings-billions.xlsx",
            shared_strings_billions_xlsx(),
        ),
        ("far-cell.xlsx", far_cell_xlsx()),
        ("truncated.xlsx", truncated_xlsx()),
        ("random.xlsx", random_xlsx()),
        ("overflowing-reference.xlsx", overflowing_reference_xlsx()),
    ]
}

#[test]
#[ignore = "writes end2end/fixtures/batch/; run with --ignored write_fixtures"]
fn write_fixtures() {
    let dir = dir();
    std::fs::create_dir_all(&dir).expect("create the fixtures folder");
    for (name, bytes) in all() {
        assert!(bytes.len() < 100 * 1024, "{name} is {} bytes", bytes.len());
        std::fs::write(dir.join(name), bytes).expect("write a fixture");
    }
    for (name, bytes) in warm_ups() {
        std::fs::write(worker_dir().join(name), bytes).expect("write a warm-up file");
    }
}

/// The worker's warm-up files are as generated, and hold what they are for: 200 rows, most
/// of them fine, some with a mistake in each kind of field and some clashing.
#[test]
fn the_worker_warm_up_files_are_as_generated_and_exercise_every_rule() {
    for (name, bytes) in warm_ups() {
        let file = std::fs::read(worker_dir().join(name)).unwrap_or_else(|e| {
            panic!("{name} is missing ({e}): run the write_fixtures test with --ignored")
        });
        if !name.ends_with(".xlsx") {
            assert_eq!(file, bytes, "{name} differs from its generator");
        }
        assert!(file.len() < 64 * 1024, "{name} is {} bytes", file.len());
        let sheet = parse(&file, name, &Limits::default()).expect("parses");
        assert_eq!(sheet.rows.len(), 200, "{name}");
        let upload = crate::batch::PreparedUpload::new(
            &file,
            name,
            "k",
            &super::Choice::default(),
            super::ReferenceScan::Here,
        );
        let head: serde_json::Value = serde_json::from_slice(&upload.head()).expect("head");
        let head = &head["Parsed"]["meta"];
        assert_eq!(head["rows"], 200, "{name}: {head}");
        let mut fields: Vec<String> = problems(&file, name)
            .into_iter()
            .flat_map(|(_, f)| f)
            .collect();
        fields.sort();
        fields.dedup();
        assert_eq!(
            fields,
            [
                "contact_number",
                "email",
                "first_name",
                "reason",
                "seed_required",
                "username"
            ],
            "{name}"
        );
    }
}

/// The committed files, read back.
fn committed(name: &str) -> Vec<u8> {
    std::fs::read(dir().join(name)).unwrap_or_else(|e| {
        panic!("{name} is missing ({e}): run the write_fixtures test with --ignored")
    })
}

/// Which rows of a fixture the domain rules refuse, and on which fields.
fn problems(bytes: &[u8], name: &str) -> Vec<(usize, Vec<String>)> {
    let sheet = parse(bytes, name, &Limits::default()).expect("parses");
    sheet
        .rows
        .iter()
        .filter_map(|row| match NewAccount::parse(&row.raw) {
            Ok(_) => None,
            Err(errors) => Some((row.line, errors.into_iter().map(|e| e.field).collect())),
        })
        .collect()
}

#[test]
fn committed_fixtures_are_small_and_as_generated() {
    for (name, bytes) in all() {
        let file = committed(name);
        assert!(file.len() < 100 * 1024, "{name} is {} bytes", file.len());
        // Deflate output may change with the compressor; the text fixtures must not.
        if !name.ends_with(".xlsx") {
            assert_eq!(file, bytes, "{name} differs from its generator");
        }
    }
}

#[test]
fn valid_fixtures_read_as_documented() {
    let limits = Limits::default();
    let cases = [
        ("users.csv", "CSV, UTF-8 with BOM, comma-separated", 5),
        (
            "excel-windows-1252.csv",
            "CSV, Windows-1252, semicolon-separated",
            3,
        ),
        ("unicode-text.txt", "Text, UTF-16 LE, tab-separated", 3),
        ("multiline.csv", "CSV, UTF-8, comma-separated", 3),
        ("numeric-phones.xlsx", "Excel workbook (sheet “Users”)", 3),
    ];
    for (name, format, count) in cases {
        let sheet = parse(&committed(name), name, &limits).expect(name);
        assert_eq!(sheet.format, format, "{name}");
        assert_eq!(sheet.rows.len(), count, "{name}");
        assert_eq!(sheet.notices, Vec::<String>::new(), "{name}");
        let lines: Vec<usize> = sheet.rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, (2..2 + count).collect::<Vec<_>>(), "{name}");
        assert_eq!(
            problems(&committed(name), name),
            vec![],
            "{name}: every row is valid"
        );
    }

    let sheet = parse(&committed("excel-windows-1252.csv"), "x.csv", &limits).expect("reads");
    assert_eq!(sheet.rows[0].raw.first_name, "Zoë");
    assert_eq!(sheet.rows[1].raw.first_name, "José");
    assert_eq!(sheet.rows[1].raw.reason, "Integration work — payments");
    assert_eq!(sheet.rows[2].raw.reason, "Reviewer – “Smart Nation” pilot");

    let sheet = parse(&committed("multiline.csv"), "multiline.csv", &limits).expect("reads");
    assert_eq!(
        sheet.rows[1].raw.reason,
        "Needs access for:\n- the developer portal\n- the \"SEED\" pilot"
    );

    let sheet = parse(&committed("numeric-phones.xlsx"), "n.xlsx", &limits).expect("reads");
    let phones: Vec<&str> = sheet
        .rows
        .iter()
        .map(|r| r.raw.contact_number.as_str())
        .collect();
    assert_eq!(phones, ["6591234567", "91234567", "+6591234567"]);
    let seed: Vec<&str> = sheet
        .rows
        .iter()
        .map(|r| r.raw.seed_required.as_str())
        .collect();
    assert_eq!(seed, ["Yes", "No", "TRUE"]);
}

#[test]
fn some_invalid_has_three_problem_rows_and_a_duplicate() {
    let sheet = parse(
        &committed("some-invalid.csv"),
        "some-invalid.csv",
        &Limits::default(),
    )
    .expect("reads");
    assert_eq!(sheet.rows.len(), 8);
    assert_eq!(
        problems(&committed("some-invalid.csv"), "some-invalid.csv"),
        vec![
            (3, vec!["email".to_string()]),
            (5, vec!["username".to_string()]),
            (7, vec!["contact_number".to_string()]),
        ]
    );
    let email = |line: usize| {
        sheet
            .rows
            .iter()
            .find(|r| r.line == line)
            .map(|r| r.raw.email.to_lowercase())
    };
    assert_eq!(email(2), email(9));
    assert_ne!(sheet.rows[0].raw.email, sheet.rows[7].raw.email);
}

#[test]
fn refused_fixtures_give_their_documented_errors() {
    let limits = Limits::default();
    let error = |name: &str| parse(&committed(name), name, &limits).expect_err(name);

    assert_eq!(
        error("extra-and-missing.csv").to_string(),
        "The file has no column for: Reason. Add it (download the template to see the headers)."
    );
    assert_eq!(
        error("bomb.xlsx").to_string(),
        "This .xlsx file cannot be read safely: a part of it is compressed 1,023 to 1 (the limit \
         is 200 to 1), as in a “zip bomb”. Open it in Excel and save it again, or save it as CSV."
    );
    assert_eq!(
        error("shared-strings-billions.xlsx").to_string(),
        "This .xlsx file declares 4,000,000,000 different text values; the limit is 2,000,000. \
         Split it into smaller files, or save it as CSV."
    );
    assert_eq!(
        error("far-cell.xlsx").to_string(),
        "The file has data in row 1,048,576; the limit is 100,000 users per file. Remove the \
         extra rows or split the file."
    );
    let damaged = "This .xlsx file is damaged or not really an Excel workbook (it is not a valid \
                   zip archive). Open it in Excel and save it again, or save it as CSV.";
    assert_eq!(error("truncated.xlsx").to_string(), damaged);
    assert_eq!(
        error("overflowing-reference.xlsx").to_string(),
        "This .xlsx file is damaged or not really an Excel workbook (a cell reference in it is \
         not valid). Open it in Excel and save it again, or save it as CSV."
    );
    assert_eq!(error("random.xlsx").to_string(), damaged);
}
