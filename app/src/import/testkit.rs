//! Builds xlsx files in memory for the tests and the fixtures: the few XML parts that Excel
//! and calamine need, zipped with the zip crate. Also writes hostile variants.

use std::collections::HashMap;
use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// A cell as written into the sheet XML.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    /// An inline string (`t="inlineStr"`), as some tools write.
    Inline(String),
    /// A shared string (`t="s"`), as Excel writes text.
    Shared(String),
    /// A number, as written in `<v>`.
    Number(String),
    Bool(bool),
    /// A date serial number with a date format (`numFmtId` 14).
    Date(f64),
    /// An error value such as `#N/A` (`t="e"`).
    Error(String),
    /// A formula's cached string result (`t="str"`).
    FormulaText(String),
}

impl Cell {
    pub(crate) fn text(s: &str) -> Cell {
        Cell::Shared(s.to_string())
    }
}

/// One worksheet: its name, an optional `<dimension ref>`, and cells at (1-based row,
/// 0-based column).
#[derive(Debug, Clone, Default)]
pub(crate) struct SheetSpec {
    pub name: String,
    pub dimension: Option<String>,
    pub cells: Vec<(usize, usize, Cell)>,
    /// Padding written between rows (whitespace), to make a sheet inflate a lot.
    pub padding: usize,
}

impl SheetSpec {
    pub(crate) fn new(name: &str) -> SheetSpec {
        SheetSpec {
            name: name.to_string(),
            ..SheetSpec::default()
        }
    }

    /// Rows from row 1 down, cells from column A across; `None` leaves a cell out.
    pub(crate) fn rows(mut self, rows: Vec<Vec<Option<Cell>>>) -> SheetSpec {
        for (r, row) in rows.into_iter().enumerate() {
            for (c, cell) in row.into_iter().enumerate() {
                if let Some(cell) = cell {
                    self.cells.push((r + 1, c, cell));
                }
            }
        }
        self
    }

    pub(crate) fn cell(mut self, row: usize, column: usize, cell: Cell) -> SheetSpec {
        self.cells.push((row, column, cell));
        self
    }

    pub(crate) fn dimension(mut self, dimension: &str) -> SheetSpec {
        self.dimension = Some(dimension.to_string());
        self
    }
}

/// Rows of text cells (shared strings), the common case.
pub(crate) fn text_rows(rows: &[&[&str]]) -> Vec<Vec<Option<Cell>>> {
    rows.iter()
        .map(|row| {
            row.iter()
                .map(|s| (!s.is_empty()).then(|| Cell::text(s)))
                .collect()
        })
        .collect()
}

/// A workbook to write.
#[derive(Debug, Clone)]
pub(crate) struct WorkbookSpec {
    pub sheets: Vec<SheetSpec>,
    /// Overrides the `count` and `uniqueCount` written in sharedStrings.xml.
    pub declared_strings: Option<String>,
    pub compression: CompressionMethod,
}

impl WorkbookSpec {
    pub(crate) fn new(sheets: Vec<SheetSpec>) -> WorkbookSpec {
        WorkbookSpec {
            sheets,
            declared_strings: None,
            compression: CompressionMethod::Deflated,
        }
    }

    /// The xlsx file's bytes.
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut shared: Vec<String> = Vec::new();
        let sheets: Vec<String> = self
            .sheets
            .iter()
            .map(|s| sheet_xml(s, &mut shared))
            .collect();
        let mut parts: Vec<(String, String)> = vec![
            ("[Content_Types].xml".into(), content_types(sheets.len())),
            ("_rels/.rels".into(), ROOT_RELS.into()),
            ("xl/workbook.xml".into(), workbook_xml(&self.sheets)),
            (
                "xl/_rels/workbook.xml.rels".into(),
                workbook_rels(sheets.len()),
            ),
            ("xl/styles.xml".into(), STYLES.into()),
        ];
        let count = self
            .declared_strings
            .clone()
            .unwrap_or_else(|| shared.len().to_string());
        let mut sst = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<sst xmlns=\"{NS}\" \
             count=\"{count}\" uniqueCount=\"{count}\">"
        );
        for s in &shared {
            sst.push_str(&format!(
                "<si><t xml:space=\"preserve\">{}</t></si>",
                escape(s)
            ));
        }
        sst.push_str("</sst>");
        parts.push(("xl/sharedStrings.xml".into(), sst));
        for (i, xml) in sheets.into_iter().enumerate() {
            parts.push((format!("xl/worksheets/sheet{}.xml", i + 1), xml));
        }
        zip_parts(&parts, self.compression)
    }
}

/// The named parts of a zip archive of text parts (a workbook), to tamper with.
pub(crate) fn unzip_parts(bytes: Vec<u8>) -> Vec<(String, String)> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).expect("zip");
    let mut parts = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).expect("entry");
        let mut body = String::new();
        std::io::Read::read_to_string(&mut entry, &mut body).expect("text");
        parts.push((entry.name().expect("name").to_string(), body));
    }
    parts
}

/// Zips named parts.
pub(crate) fn zip_parts(parts: &[(String, String)], compression: CompressionMethod) -> Vec<u8> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default()
        .compression_method(compression)
        .compression_level(if compression == CompressionMethod::Stored {
            None
        } else {
            Some(9)
        });
    for (name, body) in parts {
        zip.start_file(name.as_str(), options).expect("zip entry");
        zip.write_all(body.as_bytes()).expect("zip write");
    }
    zip.finish().expect("zip finish").into_inner()
}

const NS: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
const REL_NS: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";

const ROOT_RELS: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target=\"xl/workbook.xml\"/>\
</Relationships>";

/// Two cell formats: 0 general, 1 a date (built-in format 14, d/m/yyyy).
const STYLES: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
<styleSheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">\
<fonts count=\"1\"><font><sz val=\"11\"/><name val=\"Calibri\"/></font></fonts>\
<fills count=\"2\"><fill><patternFill patternType=\"none\"/></fill><fill><patternFill patternType=\"gray125\"/></fill></fills>\
<borders count=\"1\"><border><left/><right/><top/><bottom/><diagonal/></border></borders>\
<cellStyleXfs count=\"1\"><xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\"/></cellStyleXfs>\
<cellXfs count=\"2\"><xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\"/>\
<xf numFmtId=\"14\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\" applyNumberFormat=\"1\"/></cellXfs>\
<cellStyles count=\"1\"><cellStyle name=\"Normal\" xfId=\"0\" builtinId=\"0\"/></cellStyles>\
</styleSheet>";

fn content_types(sheets: usize) -> String {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">\
<Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>\
<Default Extension=\"xml\" ContentType=\"application/xml\"/>\
<Override PartName=\"/xl/workbook.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml\"/>\
<Override PartName=\"/xl/styles.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml\"/>\
<Override PartName=\"/xl/sharedStrings.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml\"/>",
    );
    for i in 1..=sheets {
        s.push_str(&format!(
            "<Override PartName=\"/xl/worksheets/sheet{i}.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml\"/>"
        ));
    }
    s.push_str("</Types>");
    s
}

fn workbook_xml(sheets: &[SheetSpec]) -> String {
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
<workbook xmlns=\"{NS}\" xmlns:r=\"{REL_NS}\"><sheets>"
    );
    for (i, sheet) in sheets.iter().enumerate() {
        s.push_str(&format!(
            "<sheet name=\"{}\" sheetId=\"{}\" r:id=\"rId{}\"/>",
            escape(&sheet.name),
            i + 1,
            i + 1
        ));
    }
    s.push_str("</sheets></workbook>");
    s
}

fn workbook_rels(sheets: usize) -> String {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">",
    );
    for i in 1..=sheets {
        s.push_str(&format!(
            "<Relationship Id=\"rId{i}\" Type=\"{REL_NS}/worksheet\" Target=\"worksheets/sheet{i}.xml\"/>"
        ));
    }
    s.push_str(&format!(
        "<Relationship Id=\"rId{}\" Type=\"{REL_NS}/styles\" Target=\"styles.xml\"/>\
<Relationship Id=\"rId{}\" Type=\"{REL_NS}/sharedStrings\" Target=\"sharedStrings.xml\"/>",
        sheets + 1,
        sheets + 2
    ));
    s.push_str("</Relationships>");
    s
}

fn sheet_xml(sheet: &SheetSpec, shared: &mut Vec<String>) -> String {
    let mut cells = sheet.cells.clone();
    cells.sort_by_key(|(r, c, _)| (*r, *c));
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<worksheet xmlns=\"{NS}\" xmlns:r=\"{REL_NS}\">"
    );
    if let Some(d) = &sheet.dimension {
        s.push_str(&format!("<dimension ref=\"{d}\"/>"));
    }
    s.push_str("<sheetData>");
    let mut index_of: HashMap<String, usize> = shared
        .iter()
        .enumerate()
        .map(|(i, s)| (s.clone(), i))
        .collect();
    let mut current: Option<usize> = None;
    for (r, c, cell) in &cells {
        if current != Some(*r) {
            if current.is_some() {
                s.push_str("</row>");
                s.push_str(&" ".repeat(sheet.padding));
            }
            s.push_str(&format!("<row r=\"{r}\">"));
            current = Some(*r);
        }
        let at = cell_ref(*r, *c);
        s.push_str(&match cell {
            Cell::Inline(t) => format!(
                "<c r=\"{at}\" t=\"inlineStr\"><is><t xml:space=\"preserve\">{}</t></is></c>",
                escape(t)
            ),
            Cell::Shared(t) => {
                let index = *index_of.entry(t.clone()).or_insert_with(|| {
                    shared.push(t.clone());
                    shared.len() - 1
                });
                format!("<c r=\"{at}\" t=\"s\"><v>{index}</v></c>")
            }
            Cell::Number(v) => format!("<c r=\"{at}\"><v>{v}</v></c>"),
            Cell::Bool(b) => format!("<c r=\"{at}\" t=\"b\"><v>{}</v></c>", u8::from(*b)),
            Cell::Date(serial) => format!("<c r=\"{at}\" s=\"1\"><v>{serial}</v></c>"),
            Cell::Error(e) => format!("<c r=\"{at}\" t=\"e\"><v>{}</v></c>", escape(e)),
            Cell::FormulaText(t) => format!(
                "<c r=\"{at}\" t=\"str\"><f>\"{}\"</f><v>{}</v></c>",
                escape(t),
                escape(t)
            ),
        });
    }
    if current.is_some() {
        s.push_str("</row>");
    }
    s.push_str("</sheetData></worksheet>");
    s
}

/// (1, 0) → "A1".
pub(crate) fn cell_ref(row: usize, column: usize) -> String {
    format!("{}{row}", super::table::column_letter(column))
}

/// Text for XML content and attributes.
pub(crate) use crate::format::escape_markup as escape;

/// Sets the uncompressed size that the local header and the central directory declare for
/// every entry named `name` (for files that lie about their sizes).
pub(crate) fn patch_declared_size(zip: &mut [u8], name: &str, size: u32) {
    let name = name.as_bytes();
    let mut i = 0;
    while i + 4 <= zip.len() {
        let signature = &zip[i..i + 4];
        let (name_len_at, size_at, name_at) = if signature == b"PK\x03\x04" {
            (i + 26, i + 22, i + 30)
        } else if signature == b"PK\x01\x02" {
            (i + 28, i + 24, i + 46)
        } else {
            i += 1;
            continue;
        };
        if name_at > zip.len() {
            break;
        }
        let len = u16::from_le_bytes([zip[name_len_at], zip[name_len_at + 1]]) as usize;
        if zip.get(name_at..name_at + len) == Some(name) {
            zip[size_at..size_at + 4].copy_from_slice(&size.to_le_bytes());
        }
        i += 4;
    }
}

/// Deterministic pseudo-random bytes (xorshift), for the random-bytes fixture.
pub(crate) fn pseudo_random_bytes(len: usize, mut seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        out.extend_from_slice(&seed.to_le_bytes());
    }
    out.truncate(len);
    out
}
