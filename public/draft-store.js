// The unsubmitted batch list, kept in IndexedDB until it is submitted or reset. Shared by the
// page (app/js/batch.js, for app/src/batch/browser.rs) and the parsing worker
// (parse-worker.js), which stores a freshly parsed list itself so the page's main thread never
// copies it.
//
// The store's key scheme is written here and nowhere else; the page asks for the owner, the
// meta or chunk i by name and number:
//   "owner"     the signed-in officer the list belongs to (no one else's page shows it),
//   "meta"      the list's DraftMeta as JSON text,
//   "chunk:<i>" the rows of chunk i as bytes, packed (app/src/batch/packed.rs; older drafts
//               hold UTF-8 JSON bytes or JSON text, which the page reads too).

const DB_NAME = 'techbiz-invite';
const STORE = 'batch-draft';
const OWNER_KEY = 'owner';
const META_KEY = 'meta';
const chunkKey = (i) => `chunk:${i}`;

function openDb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function inTransaction(mode, work) {
  return openDb().then((db) => new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const result = work(tx.objectStore(STORE));
    tx.oncomplete = () => { db.close(); resolve(result.value); };
    tx.onerror = () => { db.close(); reject(tx.error); };
    tx.onabort = () => { db.close(); reject(tx.error); };
  }));
}

function read(key) {
  return inTransaction('readonly', (store) => {
    const out = { value: null };
    const req = store.get(key);
    req.onsuccess = () => { out.value = req.result ?? null; };
    return out;
  });
}

// Starts replacing whatever list was kept with this one of `owner` (meta: JSON text), in one
// transaction, and resolves once it is open, to { put(i, bytes), done }: put() adds chunk i
// (the rows as packed bytes) and must be called in the same task as the promise resolved
// in; done settles when the transaction has committed (or failed). The parsing worker calls
// it for a new list; the page stores none of its own changes to that list until the worker
// has said it is done, so they land after this, not under it.
export function beginReplace(owner, meta) {
  return openDb().then((db) => {
    const tx = db.transaction(STORE, 'readwrite');
    const store = tx.objectStore(STORE);
    const done = new Promise((resolve, reject) => {
      tx.oncomplete = () => { db.close(); resolve(); };
      tx.onerror = () => { db.close(); reject(tx.error); };
      tx.onabort = () => { db.close(); reject(tx.error); };
    });
    // A caller that never waits for done must not see an unhandled rejection.
    done.catch(() => {});
    store.clear();
    store.put(owner, OWNER_KEY);
    store.put(meta, META_KEY);
    return { put: (i, chunk) => store.put(chunk, chunkKey(i)), done };
  });
}

// entries: [i, bytes, i, bytes, ...]: chunks written again, in one transaction.
export function putChunks(entries) {
  return inTransaction('readwrite', (store) => {
    for (let n = 0; n + 1 < entries.length; n += 2) store.put(entries[n + 1], chunkKey(entries[n]));
    return {};
  });
}

// What is kept (null when nothing is).
export const readOwner = () => read(OWNER_KEY);
export const readMeta = () => read(META_KEY);
export const readChunk = (i) => read(chunkKey(i));

export function clearDraft() {
  return inTransaction('readwrite', (store) => { store.clear(); return {}; });
}
