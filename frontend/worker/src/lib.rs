//! The parsing worker's bundle: the batch upload parser and the row rules, and nothing of the
//! page (public/parse-worker.js loads it; the page compiles it once and hands it over).

use wasm_bindgen::prelude::wasm_bindgen;

/// The worker's whole job for an uploaded file: parse it, check every row with the shared
/// rules, flag rows that clash within the file. Returns UTF-8 JSON as `Uint8Array`s, each
/// with a buffer of its own that the worker can transfer: a head, then the rows in chunks
/// (see `app::batch::prepare_upload`).
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
