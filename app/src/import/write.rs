//! A table as an Excel workbook, for the rows the officer downloads to fix (in the parsing
//! worker: the page's bundle has no zip code). One sheet, every cell an inline text cell
//! (Excel never evaluates text, and keeps "0091234567" as typed), the header row frozen.
//!
//! The parts are stored in the zip uncompressed: the download holds only the rows to fix, and
//! a deflate compressor (the zip crate's writer links one) would add a third to the worker's
//! bundle for every officer who never downloads. The container is written here: local
//! headers, the central directory and its end record (APPNOTE 6.3.10, sections 4.3-4.4).

use super::column_letter;

/// The workbook's bytes: one sheet named `sheet`, the table's first row as its header.
pub fn xlsx(sheet: &str, table: &[Vec<String>]) -> Vec<u8> {
    let parts = [
        ("[Content_Types].xml", CONTENT_TYPES.to_string()),
        ("_rels/.rels", ROOT_RELS.to_string()),
        ("xl/workbook.xml", workbook(sheet)),
        ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS.to_string()),
        ("xl/worksheets/sheet1.xml", worksheet(table)),
    ];
    stored_zip(&parts)
}

/// A zip of `parts` (name, text), each stored as it is. Sizes and offsets are 32-bit: the
/// parts are a few megabytes at most (a list has at most 100,000 rows to fix).
fn stored_zip(parts: &[(&str, String)]) -> Vec<u8> {
    fn u16le(out: &mut Vec<u8>, v: u16) {
        out.extend_from_slice(&v.to_le_bytes());
    }
    fn u32le(out: &mut Vec<u8>, v: u32) {
        out.extend_from_slice(&v.to_le_bytes());
    }
    // 1 January 2025, 00:00, in MS-DOS form: the parts carry no meaningful time.
    const DOS_TIME: u16 = 0;
    const DOS_DATE: u16 = ((2025 - 1980) << 9) | (1 << 5) | 1;
    let mut out = Vec::with_capacity(parts.iter().map(|(_, t)| t.len() + 100).sum());
    let mut directory = Vec::new();
    for (name, text) in parts {
        let offset = out.len() as u32;
        let crc = crc32fast::hash(text.as_bytes());
        let size = text.len() as u32;
        // Version 2.0, no flags, stored, time, date, CRC, sizes, name length, no extra.
        let fields = |out: &mut Vec<u8>| {
            u16le(out, 20);
            u16le(out, 0);
            u16le(out, 0);
            u16le(out, DOS_TIME);
            u16le(out, DOS_DATE);
            u32le(out, crc);
            u32le(out, size);
            u32le(out, size);
            u16le(out, name.len() as u16);
            u16le(out, 0);
        };
        u32le(&mut out, 0x0403_4b50);
        fields(&mut out);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(text.as_bytes());
        // Made by version 2.0; then the local header's fields; no comment, disk 0, no
        // attributes; where the local header is.
        u32le(&mut directory, 0x0201_4b50);
        u16le(&mut directory, 20);
        fields(&mut directory);
        u16le(&mut directory, 0);
        u16le(&mut directory, 0);
        u16le(&mut directory, 0);
        u32le(&mut directory, 0);
        u32le(&mut directory, offset);
        directory.extend_from_slice(name.as_bytes());
    }
    let directory_at = out.len() as u32;
    let directory_len = directory.len() as u32;
    out.extend_from_slice(&directory);
    u32le(&mut out, 0x0605_4b50);
    u16le(&mut out, 0);
    u16le(&mut out, 0);
    u16le(&mut out, parts.len() as u16);
    u16le(&mut out, parts.len() as u16);
    u32le(&mut out, directory_len);
    u32le(&mut out, directory_at);
    u16le(&mut out, 0);
    out
}

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#;

const ROOT_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;

const WORKBOOK_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#;

fn workbook(sheet: &str) -> String {
    // Excel's rules for a sheet name: at most 31 characters, none of : \ / ? * [ ].
    let name: String = sheet
        .chars()
        .filter(|c| !matches!(c, ':' | '\\' | '/' | '?' | '*' | '[' | ']'))
        .take(31)
        .collect();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="{}" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
        escape(&name)
    )
}

fn worksheet(table: &[Vec<String>]) -> String {
    let mut xml = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/></sheetView></sheetViews><sheetData>"#,
    );
    for (r, row) in table.iter().enumerate() {
        xml.push_str(&format!(r#"<row r="{}">"#, r + 1));
        for (c, cell) in row.iter().enumerate() {
            if cell.is_empty() {
                continue;
            }
            xml.push_str(&format!(
                r#"<c r="{}{}" t="inlineStr"><is><t xml:space="preserve">{}</t></is></c>"#,
                column_letter(c),
                r + 1,
                escape(cell)
            ));
        }
        xml.push_str("</row>");
    }
    xml.push_str("</sheetData></worksheet>");
    xml
}

/// XML text: the markup escapes, and no character XML 1.0 forbids.
fn escape(s: &str) -> String {
    let allowed: String = s
        .chars()
        .filter(|&c| {
            matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}')
        })
        .collect();
    crate::format::escape_markup(&allowed)
}

#[cfg(test)]
mod tests {
    use super::super::{parse, Limits, COLUMNS};

    #[test]
    fn a_written_workbook_reads_back_cell_for_cell() {
        let header: Vec<String> = COLUMNS.iter().map(|c| c.header.to_string()).collect();
        let row: Vec<String> = [
            "ann@tech.gov.sg",
            "",
            "Ann <&> \"Tan\"",
            "O'Neil",
            "0091234567",
            "GovTech",
            "",
            "Yes",
            "=1+1\nsecond line\u{1}",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let bytes = super::xlsx("Rows to fix", &[header, row.clone()]);
        let sheet = parse(&bytes, "fix.xlsx", &Limits::default()).expect("reads back");
        assert_eq!(sheet.format, "Excel workbook (sheet “Rows to fix”)");
        let read = sheet.rows[0].raw.values().map(str::to_string).to_vec();
        let mut expected = row;
        expected[8] = "=1+1\nsecond line".into();
        assert_eq!(read, expected);
    }
}
