//! What only the browser does for batch upload: read the chosen file, parse it in a worker,
//! keep the unsubmitted list in IndexedDB, for the signed-in officer only. The server build
//! gets stand-ins that are never called (the page only calls these from event handlers and
//! effects).
//!
//! The store's keys are public/draft-store.js's alone (the parsing worker writes the list
//! there too): this side asks for the owner, the meta or a chunk by number ([`Part`]).

#[cfg(feature = "hydrate")]
use super::model::{Counts, UploadHead};
use super::model::{DraftMeta, DraftRow, Journal, CHUNK_ROWS};

/// What the draft store keeps: whose list it is, the list's [`DraftMeta`], and its rows in
/// chunks of [`CHUNK_ROWS`].
#[derive(Clone, Copy, Debug)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
enum Part {
    Owner,
    Meta,
    Chunk(usize),
}

#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
/// The message for a file the worker could not get through.
pub(crate) const UNREADABLE: &str =
    "The file could not be read: it may be damaged or not really a \
    spreadsheet. Open it in Excel and save it again as .xlsx or .csv, then choose it again.";

#[cfg(feature = "hydrate")]
mod js {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen(module = "/js/batch.js")]
    extern "C" {
        /// The worker's answer, a part at a time (app/js/batch.js).
        pub type UploadStream;
        #[wasm_bindgen(method)]
        pub fn next(this: &UploadStream) -> js_sys::Promise;
        #[wasm_bindgen(method)]
        pub fn cancel(this: &UploadStream);
        #[wasm_bindgen(js_name = parseInWorker)]
        pub fn parse_in_worker(
            file: web_sys::File,
            name: &str,
            key: &str,
            owner: &str,
            choice: &str,
            keep: bool,
        ) -> UploadStream;
        #[wasm_bindgen(js_name = draftReplace)]
        pub fn draft_replace(owner: &str, meta: &str, entries: js_sys::Array) -> js_sys::Promise;
        #[wasm_bindgen(js_name = exportXlsx)]
        pub fn export_xlsx(table: &str, sheet: &str) -> js_sys::Promise;
        #[wasm_bindgen(js_name = downloadBytes)]
        pub fn download_bytes(name: &str, mime: &str, bytes: &[u8]);
        #[wasm_bindgen(js_name = mappingRead)]
        pub fn mapping_read(signature: &str) -> Option<String>;
        #[wasm_bindgen(js_name = mappingWrite)]
        pub fn mapping_write(signature: &str, columns: &str);
        #[wasm_bindgen(js_name = draftPutChunks)]
        pub fn draft_put_chunks(entries: js_sys::Array) -> js_sys::Promise;
        #[wasm_bindgen(js_name = draftOwner)]
        pub fn draft_owner() -> js_sys::Promise;
        #[wasm_bindgen(js_name = draftMeta)]
        pub fn draft_meta() -> js_sys::Promise;
        #[wasm_bindgen(js_name = draftChunk)]
        pub fn draft_chunk(i: u32) -> js_sys::Promise;
        #[wasm_bindgen(js_name = draftClear)]
        pub fn draft_clear() -> js_sys::Promise;
        #[wasm_bindgen(js_name = journalWrite)]
        pub fn journal_write(text: &str) -> bool;
        #[wasm_bindgen(js_name = journalRead)]
        pub fn journal_read() -> Option<String>;
        #[wasm_bindgen(js_name = journalRemove)]
        pub fn journal_remove();
        #[wasm_bindgen(js_name = nextTask)]
        pub fn next_task() -> js_sys::Promise;
        #[wasm_bindgen(js_name = afterPaint)]
        pub fn after_paint() -> js_sys::Promise;
        #[wasm_bindgen(js_name = newKey)]
        pub fn new_key() -> String;
        #[wasm_bindgen(js_name = focusById)]
        pub fn focus_by_id(id: &str) -> bool;
        #[wasm_bindgen(js_name = warmWorker)]
        pub fn warm_worker();
        #[wasm_bindgen(js_name = moveTabStop)]
        pub fn move_tab_stop(from: Option<String>, to: Option<String>);
    }
}

/// Starts the parsing worker before a file is chosen, with its module compiled once for
/// every worker of the page (app/js/batch.js).
pub fn warm_worker() {
    #[cfg(feature = "hydrate")]
    js::warm_worker();
}

/// The file chosen in `input`, taken out of it (so that choosing the same file again, once
/// fixed, fires a change again).
#[cfg(feature = "hydrate")]
pub fn take_file(input: &web_sys::HtmlInputElement) -> Option<web_sys::File> {
    let file = input.files()?.get(0)?;
    input.set_value("");
    Some(file)
}

/// The file an officer chose in the file input `id` before the page was interactive (its
/// change event came before the page's code, and nothing read it), taken out of the input.
#[cfg(feature = "hydrate")]
pub fn take_chosen_file(id: &str) -> Option<web_sys::File> {
    use wasm_bindgen::JsCast;
    let input: web_sys::HtmlInputElement = web_sys::window()?
        .document()?
        .get_element_by_id(id)?
        .dyn_into()
        .ok()?;
    take_file(&input)
}

/// A fresh idempotency key for a newly uploaded list.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
pub fn new_key() -> String {
    #[cfg(feature = "hydrate")]
    {
        js::new_key()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        String::new()
    }
}

/// Moves focus to an element once the page has caught up with the change just made.
pub fn focus(id: &str) {
    #[cfg(feature = "hydrate")]
    {
        let id = id.to_string();
        leptos::task::spawn_local(async move {
            next_task().await;
            js::focus_by_id(&id);
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = id;
}

/// Moves focus to an element as soon as the change just made is rendered, before the browser
/// takes its next event: a key already waiting (a fast typist's next key after Enter) goes to
/// it, not to the page. The render and this focus are both queued as microtasks, the render
/// first (it was queued by the change); if the element is not there yet, [`focus`].
pub fn focus_after_render(id: &str) {
    #[cfg(feature = "hydrate")]
    {
        let id = id.to_string();
        leptos::task::spawn_local(async move {
            if !js::focus_by_id(&id) {
                focus(&id);
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = id;
}

/// Moves a roving tab stop from the element `from` to the element `to` (by id; either may be
/// absent, or not in the page): `from` gets `tabindex="-1"`, `to` gets `tabindex="0"`.
pub fn move_tab_stop(from: Option<&str>, to: Option<&str>) {
    #[cfg(feature = "hydrate")]
    js::move_tab_stop(from.map(str::to_string), to.map(str::to_string));
    #[cfg(not(feature = "hydrate"))]
    let _ = (from, to);
}

/// Moves focus to an element at once if it is in the page (so that a key pressed next goes
/// to it), else once the page has caught up ([`focus`]).
pub fn focus_now(id: &str) {
    #[cfg(feature = "hydrate")]
    if js::focus_by_id(id) {
        return;
    }
    focus(id);
}

/// Gives the browser a turn (paint, input) between two pieces of work.
pub async fn next_task() {
    #[cfg(feature = "hydrate")]
    {
        let _ = wasm_bindgen_futures::JsFuture::from(js::next_task()).await;
    }
}

/// Waits until the browser has painted what was just rendered (at most 100 ms: a background
/// tab paints nothing).
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
pub async fn after_paint() {
    #[cfg(feature = "hydrate")]
    {
        let _ = wasm_bindgen_futures::JsFuture::from(js::after_paint()).await;
    }
}

/// The worker's answer for a chosen file, read a part at a time: the head, then the rows in
/// chunks (the head UTF-8 JSON, the rows in the packed form of [`super::packed`]).
#[cfg(feature = "hydrate")]
pub struct WorkerAnswer(js::UploadStream);

#[cfg(feature = "hydrate")]
impl WorkerAnswer {
    /// The next part; `Ok(None)` once the worker is done (the list kept, or not).
    async fn next(&self) -> Result<Option<Vec<u8>>, String> {
        use wasm_bindgen::JsCast;
        let value = wasm_bindgen_futures::JsFuture::from(self.0.next())
            .await
            .map_err(|e| {
                leptos::logging::warn!("parsing worker failed: {e:?}");
                UNREADABLE.to_string()
            })?;
        if value.is_null() {
            return Ok(None);
        }
        let array: js_sys::Uint8Array = value.dyn_into().map_err(|_| UNREADABLE.to_string())?;
        Ok(Some(array.to_vec()))
    }

    /// The head: the list's meta and counts, a question for the officer, or why the file
    /// was refused.
    pub async fn head(&self) -> Result<Head, String> {
        let head: UploadHead = self
            .next()
            .await?
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or_else(|| UNREADABLE.to_string())?;
        match head {
            UploadHead::Refused { message } => Err(message),
            UploadHead::Ask { question } => Ok(Head::Ask(question)),
            UploadHead::Parsed { meta, counts } => Ok(Head::List(meta, counts)),
        }
    }

    /// The next chunk of rows, or `None` after the last.
    pub async fn chunk(&self) -> Result<Option<Vec<DraftRow>>, String> {
        match self.next().await? {
            None => Ok(None),
            Some(bytes) => super::packed::decode(&bytes)
                .map(Some)
                .ok_or_else(|| UNREADABLE.to_string()),
        }
    }
}

/// An answer the page stops reading (a question, an error, the page left) stops its worker,
/// which would otherwise wait to be asked for the rest of a long list.
#[cfg(feature = "hydrate")]
impl Drop for WorkerAnswer {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// What the worker answers first for a file.
#[cfg(feature = "hydrate")]
pub enum Head {
    /// The list's meta and counts; its rows follow.
    List(DraftMeta, Counts),
    /// The officer must say which sheet, or which column is which; nothing follows.
    Ask(crate::import::Question),
}

/// Has the worker read and parse the chosen file (and, with `keep`, keep it for `owner`),
/// with the officer's `choice` of sheet and columns.
#[cfg(feature = "hydrate")]
pub fn parse_file(
    file: web_sys::File,
    key: &str,
    owner: &str,
    choice: &crate::import::Choice,
    keep: bool,
) -> Result<WorkerAnswer, String> {
    let file = gloo_file::File::from(file);
    let limits = crate::import::Limits::default();
    // Refused before a byte is read: a huge file never reaches memory.
    if file.size() > limits.max_bytes as u64 {
        return Err(crate::import::ImportError::TooLarge {
            bytes: file.size(),
            max_bytes: limits.max_bytes as u64,
        }
        .to_string());
    }
    // The worker reads the bytes itself: nothing the size of the file is copied here.
    let web: &web_sys::File = file.as_ref();
    let choice = serde_json::to_string(choice).unwrap_or_default();
    Ok(WorkerAnswer(js::parse_in_worker(
        web.clone(),
        &file.name(),
        key,
        owner,
        &choice,
        keep,
    )))
}

/// Stores the whole list again for `owner`, replacing what was kept (after a merge, or a list
/// replaced by another file): `entries` are all its chunks, from [`chunk_entries`].
pub async fn replace_draft(
    owner: &str,
    meta: &DraftMeta,
    entries: Vec<(usize, Vec<u8>)>,
) -> Result<(), String> {
    #[cfg(feature = "hydrate")]
    {
        let meta = serde_json::to_string(meta).map_err(|e| e.to_string())?;
        let array = entries_array(entries);
        wasm_bindgen_futures::JsFuture::from(js::draft_replace(owner, &meta, array))
            .await
            .map(|_| ())
            .map_err(|e| format!("{e:?}"))
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (owner, meta, entries);
        Ok(())
    }
}

/// A table as an Excel workbook (made in a parsing worker).
pub async fn export_xlsx(table: &[Vec<String>], sheet: &str) -> Result<Vec<u8>, String> {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let table = serde_json::to_string(table).map_err(|e| e.to_string())?;
        let value = wasm_bindgen_futures::JsFuture::from(js::export_xlsx(&table, sheet))
            .await
            .map_err(|e| format!("{e:?}"))?;
        let bytes: js_sys::Uint8Array = value.dyn_into().map_err(|_| "no workbook".to_string())?;
        Ok(bytes.to_vec())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (table, sheet);
        Err("only in the browser".into())
    }
}

/// Saves `bytes` as a download called `name`.
pub fn download(name: &str, mime: &str, bytes: &[u8]) {
    #[cfg(feature = "hydrate")]
    js::download_bytes(name, mime, bytes);
    #[cfg(not(feature = "hydrate"))]
    let _ = (name, mime, bytes);
}

/// The columns the officer matched last time for a file with these headers (the
/// `ColumnQuestion`'s signature), if this browser kept them.
pub fn remembered_columns(signature: &str) -> Option<Vec<Option<usize>>> {
    #[cfg(feature = "hydrate")]
    {
        js::mapping_read(signature).and_then(|text| serde_json::from_str(&text).ok())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = signature;
        None
    }
}

/// Keeps the officer's match of columns for the next file with these headers.
pub fn remember_columns(signature: &str, columns: &[Option<usize>]) {
    #[cfg(feature = "hydrate")]
    {
        if let Ok(text) = serde_json::to_string(columns) {
            js::mapping_write(signature, &text);
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (signature, columns);
}

/// Chunks as the draft store takes them: `[i, bytes, i, bytes, …]`.
#[cfg(feature = "hydrate")]
fn entries_array(entries: Vec<(usize, Vec<u8>)>) -> js_sys::Array {
    let array = js_sys::Array::new();
    for (i, v) in entries {
        array.push(&(i as u32).into());
        array.push(&js_sys::Uint8Array::from(v.as_slice()));
    }
    array
}

/// Stores chunks (their number and packed rows) in one transaction.
async fn put_chunks(entries: Vec<(usize, Vec<u8>)>) -> Result<(), String> {
    #[cfg(feature = "hydrate")]
    {
        let array = entries_array(entries);
        wasm_bindgen_futures::JsFuture::from(js::draft_put_chunks(array))
            .await
            .map(|_| ())
            .map_err(|e| format!("{e:?}"))
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = entries;
        Ok(())
    }
}

/// The bytes stored for a part (the owner, the meta's UTF-8 JSON, a chunk's packed rows;
/// text as older drafts kept it).
async fn get(part: Part) -> Option<Vec<u8>> {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let promise = match part {
            Part::Owner => js::draft_owner(),
            Part::Meta => js::draft_meta(),
            Part::Chunk(i) => js::draft_chunk(u32::try_from(i).ok()?),
        };
        let value = wasm_bindgen_futures::JsFuture::from(promise).await.ok()?;
        match value.as_string() {
            Some(text) => Some(text.into_bytes()),
            None => Some(value.dyn_into::<js_sys::Uint8Array>().ok()?.to_vec()),
        }
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = part;
        None
    }
}

/// Forgets the stored list (after Reset, or once every row is invited and the officer
/// moves on); whether that is done.
pub async fn clear_draft() -> bool {
    #[cfg(feature = "hydrate")]
    {
        wasm_bindgen_futures::JsFuture::from(js::draft_clear())
            .await
            .is_ok()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        true
    }
}

/// Writes the journal at once (or removes it when it holds nothing).
pub fn write_journal(journal: &Journal) {
    #[cfg(feature = "hydrate")]
    {
        if journal.is_empty() {
            js::journal_remove();
            return;
        }
        let written = serde_json::to_string(journal)
            .ok()
            .is_some_and(|text| js::journal_write(&text));
        if !written {
            js::journal_remove();
            leptos::logging::warn!("could not note the latest changes in this browser");
        }
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = journal;
    }
}

/// The journal a refresh left, if any.
pub fn read_journal() -> Journal {
    #[cfg(feature = "hydrate")]
    {
        js::journal_read()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        Journal::default()
    }
}

/// The stored form of the chunks that changed: serialised at once, so that the rows need not
/// be copied to outlive the call.
pub fn chunk_entries(
    rows: &[DraftRow],
    chunks: impl IntoIterator<Item = usize>,
) -> Vec<(usize, Vec<u8>)> {
    chunks
        .into_iter()
        .filter_map(|i| {
            let start = i * CHUNK_ROWS;
            let slice = rows.get(start..(start + CHUNK_ROWS).min(rows.len()))?;
            Some((i, super::packed::encode(slice)))
        })
        .collect()
}

/// Stores entries made by [`chunk_entries`].
pub async fn save_entries(entries: Vec<(usize, Vec<u8>)>) -> Result<(), String> {
    put_chunks(entries).await
}

/// What this browser keeps.
pub enum Kept {
    /// No list (or one that cannot be read).
    Nothing,
    /// The list of another officer who signed in on this browser (or of an older version,
    /// which kept no owner): not shown, and left as it is.
    Another,
    /// The signed-in officer's list.
    Mine(DraftMeta, Vec<DraftRow>),
}

/// The stored list, if there is one and it is `owner`'s, read a chunk per browser task.
pub async fn load_draft(owner: &str, progress: impl Fn(usize, usize)) -> Kept {
    let Some(meta) = get(Part::Meta).await else {
        return Kept::Nothing;
    };
    if get(Part::Owner).await.as_deref() != Some(owner.as_bytes()) {
        return Kept::Another;
    }
    match read_rows(&meta, progress).await {
        Some((meta, rows)) => Kept::Mine(meta, rows),
        None => Kept::Nothing,
    }
}

async fn read_rows(
    meta: &[u8],
    progress: impl Fn(usize, usize),
) -> Option<(DraftMeta, Vec<DraftRow>)> {
    let meta: DraftMeta = serde_json::from_slice(meta).ok()?;
    let mut rows = Vec::with_capacity(meta.rows);
    for i in 0..meta.chunks() {
        // (Lists kept before the packed form are JSON, which `decode` reads too.)
        let chunk = super::packed::decode(&get(Part::Chunk(i)).await?)?;
        rows.extend(chunk);
        progress(rows.len(), meta.rows);
        next_task().await;
    }
    (rows.len() == meta.rows).then_some((meta, rows))
}
