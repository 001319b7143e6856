// The unsubmitted batch list, kept in IndexedDB until it is submitted or reset. Shared by the
// page (app/js/batch.js) and the parsing worker (parse-worker.js), which stores a freshly
// parsed list itself so the page's main thread never copies it.
//
// Keys: "owner" (the signed-in officer the list belongs to: no one else's page shows it),
// "meta" (the list's DraftMeta as JSON text) and "chunk:<i>" (the rows of a chunk as UTF-8
// JSON bytes; older drafts may hold JSON text, which the page reads too).

const DB_NAME = 'techbiz-invite';
const STORE = 'batch-draft';

function openDb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

export function inTransaction(mode, work) {
  return openDb().then((db) => new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const result = work(tx.objectStore(STORE));
    tx.oncomplete = () => { db.close(); resolve(result.value); };
    tx.onerror = () => { db.close(); reject(tx.error); };
    tx.onabort = () => { db.close(); reject(tx.error); };
  }));
}

// Replaces whatever list was kept with this one of `owner`, in one transaction: meta is JSON
// text, chunks are the rows as UTF-8 JSON bytes.
export function replaceDraft(owner, meta, chunks) {
  return inTransaction('readwrite', (store) => {
    store.clear();
    store.put(owner, 'owner');
    store.put(meta, 'meta');
    chunks.forEach((chunk, i) => store.put(chunk, `chunk:${i}`));
    return {};
  });
}
