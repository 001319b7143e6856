//! The parsing worker's bundle: the batch upload parser and the row rules, and nothing of the
//! page (public/parse-worker.js loads it; the page compiles it once and hands it over).

use wasm_bindgen::prelude::wasm_bindgen;

/// The worker's whole job for an uploaded file: parse it, check every row with the shared
/// rules, flag rows that clash within the file. The answer is handed over a part at a time
/// (see `app::batch::PreparedUpload`): the head, then each chunk of rows, encoded when asked
/// for, so the page can show the counts and the first rows while the rest is encoded.
#[wasm_bindgen]
pub struct Upload(app::batch::PreparedUpload);

#[wasm_bindgen]
impl Upload {
    /// The head: UTF-8 JSON, with a buffer of its own that the worker can transfer.
    pub fn head(&self) -> js_sys::Uint8Array {
        js_sys::Uint8Array::from(self.0.head().as_slice())
    }

    /// How many chunks of rows follow the head.
    pub fn chunks(&self) -> u32 {
        u32::try_from(self.0.chunks()).unwrap_or(u32::MAX)
    }

    /// Rows per chunk (the draft store keeps the rows in chunks of this many).
    pub fn chunk_rows() -> u32 {
        app::batch::model::CHUNK_ROWS as u32
    }

    /// Rows `start..end` (cut to the list): UTF-8 JSON, with a buffer of its own.
    pub fn rows(&self, start: u32, end: u32) -> js_sys::Uint8Array {
        js_sys::Uint8Array::from(self.0.rows_json(start as usize, end as usize).as_slice())
    }

    /// Chunk `i` of the rows: UTF-8 JSON, with a buffer of its own.
    pub fn chunk(&self, i: u32) -> js_sys::Uint8Array {
        js_sys::Uint8Array::from(self.0.chunk(i as usize).as_slice())
    }
}

/// Parses and checks an uploaded file (see [`Upload`]). `choice` is the officer's answer to
/// an earlier question about the file (JSON of `app::import::Choice`; empty for none).
#[wasm_bindgen]
pub fn prepare(bytes: &[u8], file_name: &str, key: &str, choice: &str) -> Upload {
    console_error_panic_hook::set_once();
    let choice: app::import::Choice = serde_json::from_str(choice).unwrap_or_default();
    Upload(app::batch::PreparedUpload::new(
        bytes, file_name, key, &choice,
    ))
}

/// A table as an Excel workbook (the rows the officer downloads to fix): `table` is JSON of
/// rows of cells, the first row the header; `sheet` names its one sheet.
#[wasm_bindgen]
pub fn export_xlsx(table: &str, sheet: &str) -> js_sys::Uint8Array {
    console_error_panic_hook::set_once();
    let table: Vec<Vec<String>> = serde_json::from_str(table).unwrap_or_default();
    js_sys::Uint8Array::from(app::import::write_xlsx(sheet, &table).as_slice())
}

/// The worker's answer in one go (the parse benchmark's "validate"): the head, then every
/// chunk, as UTF-8 JSON `Uint8Array`s.
#[wasm_bindgen]
pub fn parse_upload(bytes: &[u8], file_name: &str, key: &str) -> js_sys::Array {
    console_error_panic_hook::set_once();
    app::batch::prepare_upload(bytes, file_name, key)
        .iter()
        .map(|part| js_sys::Uint8Array::from(part.as_slice()))
        .collect()
}

/// For `make bench` only: the parser alone (bytes to rows), returning the number of rows,
/// or -1 if the file was refused.
#[wasm_bindgen]
pub fn bench_parse(bytes: &[u8], file_name: &str) -> i32 {
    match app::import::parse(bytes, file_name, &app::import::Limits::default()) {
        Ok(sheet) => i32::try_from(sheet.rows.len()).unwrap_or(i32::MAX),
        Err(_) => -1,
    }
}
