//! A table as an Excel workbook, for the rows the officer downloads to fix (in the parsing
//! worker: it has the zip writer; the page's bundle does not). One sheet, every cell an
//! inline text cell (Excel never evaluates text, and keeps "0091234567" as typed), the header
//! row frozen.

use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

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
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    for (name, text) in parts {
        // Writing to memory cannot fail.
        let _ = zip.start_file(name, options);
        let _ = zip.write_all(text.as_bytes());
    }
    zip.finish().map(Cursor::into_inner).unwrap_or_default()
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
