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

    /// Rows `start..end` (cut to the list), packed (`app::batch::packed`), with a buffer of
    /// its own.
    pub fn rows(&self, start: u32, end: u32) -> js_sys::Uint8Array {
        js_sys::Uint8Array::from(self.0.rows_packed(start as usize, end as usize).as_slice())
    }

    /// Chunk `i` of the rows, packed, with a buffer of its own.
    pub fn chunk(&self, i: u32) -> js_sys::Uint8Array {
        js_sys::Uint8Array::from(self.0.chunk(i as usize).as_slice())
    }
}

/// Parses and checks an uploaded file (see [`Upload`]). `choice` is the officer's answer to
/// an earlier question about the file (JSON of `app::import::Choice`; empty for none).
/// `references_elsewhere`: another worker runs [`check_references`] on the same bytes at the
/// same time, and the caller uses this answer only once that has passed them (see
/// `app::import::ReferenceScan::Elsewhere`).
#[wasm_bindgen]
pub fn prepare(
    bytes: &[u8],
    file_name: &str,
    key: &str,
    choice: &str,
    references_elsewhere: bool,
) -> Upload {
    console_error_panic_hook::set_once();
    reserve_memory(bytes.len(), file_name);
    let choice: app::import::Choice = serde_json::from_str(choice).unwrap_or_default();
    let scan = if references_elsewhere {
        app::import::ReferenceScan::Elsewhere
    } else {
        app::import::ReferenceScan::Here
    };
    Upload(app::batch::PreparedUpload::new(
        bytes, file_name, key, &choice, scan,
    ))
}

/// A file handed over a part at a time as the browser reads it (see `app::import::Feed`): a
/// UTF-8 text file's records are read in between the parts. [`Feed::finish`] gives what
/// [`prepare`] gives for the whole file (its cell references scanned here).
#[wasm_bindgen]
pub struct Feed(app::import::Feed);

#[wasm_bindgen]
impl Feed {
    /// A file of `size` bytes (as the browser says), named `file_name`; `choice` as for
    /// [`prepare`].
    #[wasm_bindgen(constructor)]
    pub fn new(file_name: &str, size: usize, choice: &str) -> Feed {
        console_error_panic_hook::set_once();
        reserve_memory(size, file_name);
        let choice: app::import::Choice = serde_json::from_str(choice).unwrap_or_default();
        Feed(app::import::Feed::new(file_name, size, choice))
    }

    /// The next part of the file.
    pub fn push(&mut self, part: &[u8]) {
        self.0.push(part);
    }

    /// The file has all come: the rows, checked, as [`prepare`] gives them.
    pub fn finish(self, key: &str) -> Upload {
        let file_name = self.0.file_name().to_string();
        Upload(app::batch::PreparedUpload::checked(
            self.0.finish(),
            &file_name,
            key,
        ))
    }
}

/// The scan [`prepare`] leaves to another worker when told to: for an xlsx, every check of
/// its archive, cell references included. `undefined` if the file passes (or is not an
/// xlsx), else the head that refuses it, as [`Upload::head`] would give it.
#[wasm_bindgen]
pub fn check_references(bytes: &[u8], file_name: &str) -> Option<js_sys::Uint8Array> {
    console_error_panic_hook::set_once();
    let limits = app::import::Limits::default();
    let refused = app::import::scan_references(bytes, file_name, &limits).err()?;
    let head = app::batch::PreparedUpload::refused(&refused).head();
    Some(js_sys::Uint8Array::from(head.as_slice()))
}

/// Asks the browser once for about the memory that checking this file will take, instead of
/// in the allocator's small steps: each step grows the worker's wasm memory, which costs the
/// browser more than the rows it holds (a 100,000-row CSV of 20 MB grew it ~1,200 times, ~50
/// ms of the first upload). The block is freed at once and the rows are allocated in it.
/// Bytes of memory per byte of file: a CSV's rows take about 4× its size; an xlsx is
/// compressed, about 15×.
fn reserve_memory(file_len: usize, file_name: &str) {
    let per_byte = if file_name.to_ascii_lowercase().ends_with(".xlsx") {
        15
    } else {
        4
    };
    let want = file_len.saturating_mul(per_byte).min(1 << 30);
    // black_box: an allocation that is never used would be optimised away.
    drop(std::hint::black_box(Vec::<u8>::with_capacity(want)));
}

/// Memory for the officer's file, taken from the browser and written once while the worker
/// waits for the file, a step at a time ([`Reserve::touch`]), then freed to the allocator,
/// which keeps it for the file's bytes and rows (`app::batch::reserve`). Writing the 70-odd
/// MB that a 100,000-row CSV takes while the officer is still at the file dialog took ~50 ms
/// off the time from choosing it to seeing its rows.
#[wasm_bindgen]
pub struct Reserve(app::batch::reserve::MemoryReserve);

#[wasm_bindgen]
impl Reserve {
    /// A block of `size` bytes, grown at once and not yet written; none if the browser will
    /// not give that much (the file's parse asks for its memory again).
    #[wasm_bindgen(constructor)]
    pub fn new(size: usize) -> Reserve {
        Reserve(app::batch::reserve::MemoryReserve::new(size))
    }

    /// Writes the next `step` bytes of the block; whether some are left to write.
    pub fn touch(&mut self, step: usize) -> bool {
        self.0.touch(step)
    }
}

/// Runs the whole of [`prepare`] (parse, rules, clashes, encoding) on a small file of the
/// worker's own (`warm-up.csv`, or `xlsx`: `warm-up.xlsx`, as Excel writes one; 200 rows
/// with mistakes and clashes, made by `app`'s `write_fixtures`), and returns how many parts
/// the answer had.
/// The worker calls it while it waits for the officer's file. A browser first runs a wasm
/// function through its baseline compiler and optimises it only after it has run a while,
/// and a call already running is not switched over: without this, the officer's first file
/// is parsed and checked wholly by the baseline code of its long loops (about 1.5× slower,
/// measured in Node, the same V8).
#[wasm_bindgen]
pub fn warm_up(xlsx: bool) -> u32 {
    let (bytes, name): (&[u8], _) = if xlsx {
        (include_bytes!("../warm-up.xlsx"), "warm-up.xlsx")
    } else {
        (include_bytes!("../warm-up.csv"), "warm-up.csv")
    };
    // The worker's whole answer, every part encoded, kept so that none of it is optimised
    // away: a workbook read whole (as `prepare` reads one that another worker checks), a CSV
    // fed in parts (as `Feed` takes any other file), twice over, so that it passes the 32 KB
    // from which a text file is read as it comes.
    let parts = if xlsx {
        app::batch::prepare_upload(bytes, name, "warm-up")
    } else {
        app::batch::prepare_fed_upload(&bytes.repeat(2), name, "warm-up", 4 << 10)
    };
    std::hint::black_box(&parts);
    parts.len() as u32
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
/// chunk (packed rows), as `Uint8Array`s.
#[wasm_bindgen]
pub fn parse_upload(bytes: &[u8], file_name: &str, key: &str) -> js_sys::Array {
    console_error_panic_hook::set_once();
    app::batch::prepare_upload(bytes, file_name, key)
        .iter()
        .map(|part| js_sys::Uint8Array::from(part.as_slice()))
        .collect()
}

/// For `make bench` only: the rows of one part of [`parse_upload`]'s answer after its head
/// (the packed form, read as the page reads it) as `[rows, rows that need attention]`, or
/// nothing if the part cannot be read.
#[wasm_bindgen]
pub fn bench_count(part: &[u8]) -> Vec<u32> {
    match app::batch::packed::unpack(part) {
        Some(rows) => vec![
            u32::try_from(rows.len()).unwrap_or(u32::MAX),
            rows.iter().filter(|r| r.needs_attention()).count() as u32,
        ],
        None => Vec::new(),
    }
}

/// For `make bench` only: where [`parse_upload`]'s time goes, in milliseconds: the parse, the
/// rules, the clashes within the file, the counts and head, the packing of the chunks
/// (`app::batch::model::timed_stages`); nothing if the file is refused.
#[wasm_bindgen]
pub fn bench_stages(bytes: &[u8], file_name: &str) -> Vec<f64> {
    app::batch::model::timed_stages(bytes, file_name, performance_now)
        .map(Vec::from)
        .unwrap_or_default()
}

#[wasm_bindgen]
extern "C" {
    /// `performance.now()`, in a page and in a worker alike.
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
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
