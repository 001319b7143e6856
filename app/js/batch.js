// Browser glue for batch upload: the parsing worker, the draft store (IndexedDB) and small
// helpers. Bundled by wasm-bindgen as a snippet of the app crate; the draft store itself is
// public/draft-store.js, shared with the parsing worker.

// The draft store's functions, under the names the Rust side imports. Its key scheme is
// the draft store's own: chunks are asked for by number.
import { beginReplace } from '/draft-store.js';
import { takeWarmer, takeWorker, warmWorker } from '/parse-start.js';

export {
  putChunks as draftPutChunks,
  readOwner as draftOwner,
  readMeta as draftMeta,
  readChunk as draftChunk,
  clearDraft as draftClear,
} from '/draft-store.js';

// A parse that has not answered by then is treated as failed (a hostile file, a hung worker).
const PARSE_TIMEOUT_MS = 120000;

// The journal (see Journal in app/src/batch/model.rs): the list's latest changes, kept in
// local storage at once, because IndexedDB writes still in flight are dropped by a refresh. A
// journal that cannot be written must not stay behind with older values, so a failed write
// removes it.
const JOURNAL = 'techbiz-invite.batch-journal';

export function journalWrite(text) {
  try {
    localStorage.setItem(JOURNAL, text);
    return true;
  } catch (e) {
    journalRemove();
    return false;
  }
}

export function journalRead() {
  try {
    return localStorage.getItem(JOURNAL);
  } catch (e) {
    return null;
  }
}

export function journalRemove() {
  try {
    localStorage.removeItem(JOURNAL);
  } catch (e) {
    // Storage switched off: there is nothing to remove.
  }
}

// Starts a worker for the next file (the batch page calls it when it opens).
export { warmWorker };

// Parses in a worker of its own, so the page stays responsive and a file that makes the
// parser fail (or run out of memory) takes only the worker down. The worker reads the File
// itself. Returns the answer as a stream: next() resolves to each part in turn (the head,
// then the chunks of rows, as bytes: the head UTF-8 JSON, the rows packed) and to null once
// the worker is done (the list kept in IndexedDB, or not: it says so in the console); it
// rejects if the worker fails or takes too long. cancel() stops the worker.
// For a list longer than a chunk, the worker sends the head and the first screenful of rows,
// then waits until the page asks for a third part (once it has painted the first rows) before
// it stores the list and sends the rest: while the page renders them, the worker's messages
// and IndexedDB's writes do not take its CPU (on two cores they had made that render a long
// task).
// `choice` is the officer's answer to the worker's question about this file (JSON), or ''.
// `keep`: the worker stores the list in IndexedDB (a new list, not a file to merge).
export function parseInWorker(file, name, key, owner, choice, keep) {
  const worker = takeWorker();
  // A workbook's cell references are scanned by the other waiting worker meanwhile, if one is
  // waiting (the file's worker waits for its verdict, over a channel of their own, before it
  // answers); for another file that worker stops warming up, and goes with the file's worker.
  const workbook = /\.(xlsx|xlsm|xltx|xltm)$/i.test(name);
  const checker = takeWarmer();
  if (checker && !workbook) checker.postMessage({ rest: true });
  const parts = [];
  // Parts handed to the page so far; the rest is asked for once, with the third.
  let handed = 0;
  let waiting = null;
  let ended = false;
  let failure = null;
  const wake = () => {
    if (!waiting) return;
    const { resolve, reject } = waiting;
    if (parts.length > 0) {
      handed += 1;
      resolve(parts.shift());
    }
    else if (failure) reject(failure);
    else if (ended) resolve(null);
    else return;
    waiting = null;
  };
  let timer = null;
  const finish = (error) => {
    if (ended || failure) return;
    clearTimeout(timer);
    worker.terminate();
    if (checker) checker.terminate();
    // The next file's workers.
    warmWorker();
    if (error) failure = error;
    else ended = true;
    wake();
  };
  timer = setTimeout(() => finish(new Error('timeout')), PARSE_TIMEOUT_MS);
  worker.onmessage = (event) => {
    const data = event.data || {};
    if (data.part) {
      parts.push(data.part);
      wake();
    } else if (data.done) {
      if (!data.stored) console.warn('could not keep the list in this browser');
      finish(null);
    } else {
      finish(new Error(data.error || 'worker failed'));
    }
  };
  worker.onerror = (event) => {
    event.preventDefault();
    finish(new Error(event.message || 'worker failed'));
  };
  let verdict = null;
  if (checker && workbook) {
    const channel = new MessageChannel();
    verdict = channel.port1;
    // A checker that fails outright cannot say so over the channel: the file's worker is
    // told, and scans the references itself.
    checker.onerror = (event) => {
      event.preventDefault();
      worker.postMessage({ checkerFailed: true });
    };
    checker.postMessage({ check: { file, name, port: channel.port2 } }, [channel.port2]);
  }
  worker.postMessage({ file: { file, name, key, owner, choice, keep, verdict } }, verdict ? [verdict] : []);
  return {
    next() {
      if (handed === 2 && !ended && !failure) worker.postMessage({ more: true });
      return new Promise((resolve, reject) => {
        waiting = { resolve, reject };
        wake();
      });
    },
    // The page no longer wants the answer (it stopped reading): the worker is stopped, not
    // left waiting to be asked for the rest.
    cancel() {
      finish(new Error('cancelled'));
    },
  };
}

// The officer's matches of a file's columns to the template's, by the file's headers
// (normalised), offered for the next file with the same headers. The newest few are kept.
const MAPPINGS = 'techbiz-invite.column-mappings';
const MAPPINGS_KEPT = 20;

function readMappings() {
  try {
    const kept = JSON.parse(localStorage.getItem(MAPPINGS) || '[]');
    return Array.isArray(kept) ? kept : [];
  } catch (e) {
    return [];
  }
}

export function mappingRead(signature) {
  const found = readMappings().find((m) => m && m.signature === signature);
  return found ? JSON.stringify(found.columns) : null;
}

export function mappingWrite(signature, columns) {
  const kept = readMappings().filter((m) => m && m.signature !== signature);
  kept.unshift({ signature, columns: JSON.parse(columns) });
  try {
    localStorage.setItem(MAPPINGS, JSON.stringify(kept.slice(0, MAPPINGS_KEPT)));
  } catch (e) {
    // Storage full or switched off: the mapping is simply not offered next time.
  }
}

// The whole list stored again, replacing what was kept (a merged or replaced list): meta is
// JSON text, entries [i, bytes, i, bytes, ...] its chunks. Resolves once committed.
export function draftReplace(owner, meta, entries) {
  return beginReplace(owner, meta).then(({ put, done }) => {
    for (let n = 0; n + 1 < entries.length; n += 2) put(entries[n], entries[n + 1]);
    return done;
  });
}

// A table (JSON of rows of cells) as an Excel workbook, made by a parsing worker (which has
// the zip writer the page's bundle leaves out). Resolves to the bytes.
export function exportXlsx(table, sheet) {
  const worker = takeWorker();
  return new Promise((resolve, reject) => {
    const finish = (bytes, error) => {
      worker.terminate();
      warmWorker();
      if (bytes) resolve(bytes);
      else reject(error);
    };
    worker.onmessage = (event) => {
      const data = event.data || {};
      if (data.exported) finish(data.exported, null);
      else finish(null, new Error(data.error || 'worker failed'));
    };
    worker.onerror = (event) => {
      event.preventDefault();
      finish(null, new Error(event.message || 'worker failed'));
    };
    worker.postMessage({ export: { table, sheet } });
  });
}

// Saves bytes as a download named `name`.
export function downloadBytes(name, type, bytes) {
  const url = URL.createObjectURL(new Blob([bytes], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.hidden = true;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

// Lets the browser paint and handle input between two pieces of work.
export function nextTask() {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

// Resolves once the browser has painted what the page just rendered (the task after the next
// frame), or after 100 ms where no frame comes (a page in a background tab paints none).
export function afterPaint() {
  return new Promise((resolve) => {
    requestAnimationFrame(() => setTimeout(resolve, 0));
    setTimeout(resolve, 100);
  });
}

export function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// Focuses the element now; whether it is there.
export function focusById(id) {
  const el = document.getElementById(id);
  if (el) el.focus();
  return !!el;
}

// Moves the grid's roving tab stop: the element `from` (if any, and if still in the page)
// leaves the tab order, the element `to` (if in the page) enters it.
export function moveTabStop(from, to) {
  const old = from ? document.getElementById(from) : null;
  if (old && from !== to) old.setAttribute('tabindex', '-1');
  const el = to ? document.getElementById(to) : null;
  if (el) el.setAttribute('tabindex', '0');
}
