//! What only the browser does for batch upload: read the chosen file, parse it in a worker,
//! keep the unsubmitted list in IndexedDB. The server build gets stand-ins that are never
//! called (the page only calls these from event handlers and effects).

use super::model::{DraftMeta, DraftRow, UploadHead, CHUNK_ROWS};

const META_KEY: &str = "meta";

fn chunk_key(i: usize) -> String {
    format!("chunk:{i}")
}

#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
/// The message for a file the worker could not get through.
const UNREADABLE: &str = "The file could not be read: it may be damaged or not really a \
    spreadsheet. Open it in Excel and save it again as .xlsx or .csv, then choose it again.";

#[cfg(feature = "hydrate")]
mod js {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen(module = "/js/batch.js")]
    extern "C" {
        #[wasm_bindgen(js_name = parseInWorker)]
        pub fn parse_in_worker(bytes: js_sys::Uint8Array, name: &str, key: &str)
            -> js_sys::Promise;
        #[wasm_bindgen(js_name = draftPut)]
        pub fn draft_put(entries: js_sys::Array) -> js_sys::Promise;
        #[wasm_bindgen(js_name = draftGet)]
        pub fn draft_get(key: &str) -> js_sys::Promise;
        #[wasm_bindgen(js_name = draftClear)]
        pub fn draft_clear() -> js_sys::Promise;
        #[wasm_bindgen(js_name = nextTask)]
        pub fn next_task() -> js_sys::Promise;
        #[wasm_bindgen(js_name = newKey)]
        pub fn new_key() -> String;
        #[wasm_bindgen(js_name = focusById)]
        pub fn focus_by_id(id: &str);
    }
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

/// Gives the browser a turn (paint, input) between two pieces of work.
pub async fn next_task() {
    #[cfg(feature = "hydrate")]
    {
        let _ = wasm_bindgen_futures::JsFuture::from(js::next_task()).await;
    }
}

/// The worker's texts for a chosen file: a head, then rows in chunks.
#[cfg(feature = "hydrate")]
pub async fn parse_file(file: web_sys::File, key: &str) -> Result<Vec<String>, String> {
    use wasm_bindgen::JsCast;
    let name = file.name();
    let limits = crate::import::Limits::default();
    // Refused before a byte is read: a huge file never reaches memory.
    if file.size() > limits.max_bytes as f64 {
        return Err(crate::import::ImportError::TooLarge {
            bytes: file.size() as u64,
            max_bytes: limits.max_bytes as u64,
        }
        .to_string());
    }
    let bytes = gloo_file::futures::read_as_bytes(&gloo_file::File::from(file))
        .await
        .map_err(|e| format!("The file could not be read ({e}). Choose it again."))?;
    let array = js_sys::Uint8Array::from(bytes.as_slice());
    drop(bytes);
    let answer = wasm_bindgen_futures::JsFuture::from(js::parse_in_worker(array, &name, key))
        .await
        .map_err(|e| {
            leptos::logging::warn!("parsing worker failed: {e:?}");
            UNREADABLE.to_string()
        })?;
    let texts: js_sys::Array = answer.dyn_into().map_err(|_| UNREADABLE.to_string())?;
    Ok(texts.iter().filter_map(|t| t.as_string()).collect())
}

/// Stores texts under keys in one transaction.
async fn put(entries: Vec<(String, String)>) -> Result<(), String> {
    #[cfg(feature = "hydrate")]
    {
        let array = js_sys::Array::new();
        for (k, v) in entries {
            array.push(&k.into());
            array.push(&v.into());
        }
        wasm_bindgen_futures::JsFuture::from(js::draft_put(array))
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

async fn get(key: &str) -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        wasm_bindgen_futures::JsFuture::from(js::draft_get(key))
            .await
            .ok()
            .and_then(|v| v.as_string())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = key;
        None
    }
}

/// Forgets the stored list (after Reset, or once every row is invited and the officer
/// moves on).
pub async fn clear_draft() {
    #[cfg(feature = "hydrate")]
    {
        let _ = wasm_bindgen_futures::JsFuture::from(js::draft_clear()).await;
    }
}

#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
/// Stores a freshly parsed list as the worker gave it (no second serialisation).
pub async fn save_new_draft(meta: &DraftMeta, chunk_texts: &[String]) -> Result<(), String> {
    clear_draft().await;
    let mut entries = vec![(
        META_KEY.to_string(),
        serde_json::to_string(meta).unwrap_or_default(),
    )];
    entries.extend(
        chunk_texts
            .iter()
            .enumerate()
            .map(|(i, t)| (chunk_key(i), t.clone())),
    );
    put(entries).await
}

/// The stored form of the chunks that changed: serialised at once, so that the rows need not
/// be copied to outlive the call.
pub fn chunk_entries(
    rows: &[DraftRow],
    chunks: impl IntoIterator<Item = usize>,
) -> Vec<(String, String)> {
    chunks
        .into_iter()
        .filter_map(|i| {
            let start = i * CHUNK_ROWS;
            let slice = rows.get(start..(start + CHUNK_ROWS).min(rows.len()))?;
            Some((chunk_key(i), serde_json::to_string(slice).ok()?))
        })
        .collect()
}

/// Stores entries made by [`chunk_entries`].
pub async fn save_entries(entries: Vec<(String, String)>) -> Result<(), String> {
    put(entries).await
}

/// The stored list, if there is one, read a chunk per browser task.
pub async fn load_draft(progress: impl Fn(usize, usize)) -> Option<(DraftMeta, Vec<DraftRow>)> {
    let meta: DraftMeta = serde_json::from_str(&get(META_KEY).await?).ok()?;
    let mut rows = Vec::with_capacity(meta.rows);
    for i in 0..meta.chunks() {
        let chunk: Vec<DraftRow> = serde_json::from_str(&get(&chunk_key(i)).await?).ok()?;
        rows.extend(chunk);
        progress(rows.len(), meta.rows);
        next_task().await;
    }
    (rows.len() == meta.rows).then_some((meta, rows))
}

#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
/// Reads the worker's answer: the head, then the rows a chunk per browser task.
pub async fn take_upload(
    texts: &[String],
    progress: impl Fn(usize, usize),
) -> Result<(DraftMeta, Vec<DraftRow>), String> {
    let head: UploadHead = texts
        .first()
        .and_then(|t| serde_json::from_str(t).ok())
        .ok_or_else(|| UNREADABLE.to_string())?;
    let meta = match head {
        UploadHead::Refused { message } => return Err(message),
        UploadHead::Parsed { meta } => meta,
    };
    let mut rows = Vec::with_capacity(meta.rows);
    for text in &texts[1..] {
        let chunk: Vec<DraftRow> =
            serde_json::from_str(text).map_err(|_| UNREADABLE.to_string())?;
        rows.extend(chunk);
        progress(rows.len(), meta.rows);
        next_task().await;
    }
    Ok((meta, rows))
}
