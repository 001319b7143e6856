// Parses an uploaded batch file off the main thread, with the same Rust code (compiled to
// wasm) that the page and the server use. One worker per file, started before the file is
// chosen; the page terminates it once it has said it is done.
//
// It reads the chosen File itself (the page copies nothing), parses and checks every row
// (with the officer's choice of sheet and columns, when the page was told to ask),
// then sends, as UTF-8 JSON bytes: the head (with the list's counts) and the rows in parts
// as soon as each is encoded, so the page shows the counts and the first rows while the rest
// follows; then { done, stored } once the list is kept in IndexedDB. Its IndexedDB
// transaction is opened before the first row is sent, so a change the page stores later is
// always written after it.
//
// A big file is checked by two workers at once (the page decides, and links them with a
// MessageChannel): this one, which answers the page, checks the first half of the list's
// chunks; a helper, sent { help }, parses the same file and checks the second half, and
// sends its head (its half's counts) and then its chunks over the channel. This worker adds
// the counts up before the head goes out, and passes the helper's chunks on in order after
// its own. Should the helper fail, this worker checks the rest itself.
import init, { export_xlsx as exportXlsx, prepare, prepare_part as preparePart, Upload } from '/pkg/parser.js';
import { beginReplace } from '/draft-store.js';

// The page sends the parser's module, compiled once for all its workers (app/js/batch.js),
// before or after the file; null means load it here.
let moduleArrived;
const ready = new Promise((resolve) => {
  moduleArrived = resolve;
}).then((module) => (module ? init({ module_or_path: module }) : init()));
// An unhandled failure here would surface as an error event; the file's message reports it.
ready.catch(() => {});

const decoder = new TextDecoder();
const encoder = new TextEncoder();
// Rows in the first part: more than a screenful of the list.
const FIRST_ROWS = 100;
// Rows in each part after it.
const PAGE_ROWS = 500;

self.onmessage = async (event) => {
  if ('module' in event.data) {
    moduleArrived(event.data.module);
    return;
  }
  if ('export' in event.data) {
    // The rows to fix, as a workbook.
    try {
      await ready;
      const bytes = exportXlsx(event.data.export.table, event.data.export.sheet);
      self.postMessage({ exported: bytes }, [bytes.buffer]);
    } catch (err) {
      self.postMessage({ error: String((err && err.message) || err) });
    }
    return;
  }
  if ('helperLost' in event.data) {
    // The page saw the helper die (an error or out of memory): what it still owed is this
    // worker's to check.
    helperLost(event.data.helperLost);
    return;
  }
  if ('help' in event.data) {
    await help(event.data.help);
    return;
  }
  // keep: store the list in IndexedDB (a new list); not for a file to merge into the open one.
  // helper: a port to the helper checking the second half, for a big file (else absent).
  const { file, name, key, owner, choice, keep, helper } = event.data.file;
  const fromHelper = helper ? messages(helper) : null;
  helperLost = (why) => fromHelper && fromHelper.push({ error: why || 'the helper stopped' });
  try {
    const [, buffer] = await Promise.all([ready, file.arrayBuffer()]);
    const bytes = new Uint8Array(buffer);
    const whole = () => prepare(bytes, name, key, choice || '');
    const upload = fromHelper ? preparePart(bytes, name, key, choice || '', 0, 2) : whole();
    // What is left to free once the rows are out.
    const held = [upload];
    try {
      let head = upload.head();
      const parsed = JSON.parse(decoder.decode(head)).Parsed;
      // Refused, or a question for the officer (which sheet, which column is which): nothing
      // is stored, the page asks again with the answer. The helper's answer is the same.
      if (!parsed) {
        self.postMessage({ part: head }, [head.buffer]);
        self.postMessage({ done: true, stored: false });
        return;
      }
      // The helper's head: the counts of its half. Without it, this worker checks the whole
      // list after all (`rest` then has every chunk after this worker's own).
      let rest = null;
      if (fromHelper) {
        const answer = await fromHelper.next();
        const theirs = answer.head && JSON.parse(decoder.decode(answer.head)).Parsed;
        if (theirs && theirs.meta.rows === parsed.meta.rows) {
          for (const count of Object.keys(parsed.counts)) parsed.counts[count] += theirs.counts[count];
          head = encoder.encode(JSON.stringify({ Parsed: parsed }));
        } else {
          console.warn('the helper could not check its half; checking the whole file here', answer.error);
          rest = whole();
          held.push(rest);
          head = rest.head();
        }
      }
      // The store is opened now (IndexedDB may refuse: private windows, full disks; the list
      // still works until a refresh).
      let keeping = !keep
        ? null
        : await beginReplace(owner, JSON.stringify(parsed.meta)).catch((err) => {
            console.warn('could not keep the list in this browser', err);
            return null;
          });
      self.postMessage({ part: head }, [head.buffer]);
      // The rows go to the page in parts of PAGE_ROWS (each read in a few milliseconds, so
      // the page never spends a long task on one), the first screenful on its own; the list
      // is kept in IndexedDB in chunks of Upload.chunk_rows().
      const total = parsed.meta.rows;
      const chunkRows = Upload.chunk_rows();
      const keep1 = (i, stored) => {
        if (!keeping) return;
        // IndexedDB copies the bytes when put() is called.
        try {
          keeping.put(i, stored);
        } catch (err) {
          // The draft is incomplete and will not be restored (its meta counts more rows).
          console.warn('could not keep the list in this browser', err);
          keeping = null;
        }
      };
      const sendChunk = (from, i) => {
        keep1(i, from.chunk(i));
        for (const part of rowParts(from, i * chunkRows, Math.min(total, (i + 1) * chunkRows))) {
          self.postMessage({ part }, [part.buffer]);
        }
      };
      const own = rest || upload;
      const end = rest ? rest.chunks() : upload.end_chunk();
      for (let i = 0; i < end; i++) sendChunk(own, i);
      // The helper's chunks, in order, as they come; from where it stopped, if it does,
      // this worker's own.
      for (let i = end; i < upload.chunks(); ) {
        const answer = await fromHelper.next();
        if (answer.chunk === i) {
          keep1(i, answer.stored);
          for (const part of answer.parts) self.postMessage({ part }, [part.buffer]);
          i += 1;
        } else {
          console.warn('the helper stopped; checking the rest of the file here', answer.error);
          rest = whole();
          held.push(rest);
          for (; i < rest.chunks(); i++) sendChunk(rest, i);
        }
      }
      let stored = !keep;
      if (keeping) {
        stored = await keeping.done.then(
          () => true,
          (err) => {
            console.warn('could not keep the list in this browser', err);
            return false;
          },
        );
      }
      self.postMessage({ done: true, stored });
    } finally {
      for (const upload of held) upload.free();
    }
  } catch (err) {
    self.postMessage({ error: String((err && err.message) || err) });
  }
};

// Rows start..end of `upload` in parts for the page: the first screenful on its own, then
// parts of PAGE_ROWS.
function rowParts(upload, start, end) {
  const parts = [];
  for (let s = start; s < end; ) {
    const e = Math.min(end, s === 0 ? FIRST_ROWS : s + PAGE_ROWS);
    parts.push(upload.rows(s, e));
    s = e;
  }
  return parts;
}

// The helper's side: parse the file, check the second half of its chunks and send them over
// `port`: { head }, then { chunk, stored, parts } for each (stored: the chunk for IndexedDB;
// parts: its rows for the page), then { done }; or { error }.
async function help({ file, name, key, choice, port }) {
  try {
    const [, buffer] = await Promise.all([ready, file.arrayBuffer()]);
    const upload = preparePart(new Uint8Array(buffer), name, key, choice || '', 1, 2);
    try {
      const head = upload.head();
      const parsed = JSON.parse(decoder.decode(head)).Parsed;
      port.postMessage({ head }, [head.buffer]);
      const chunkRows = Upload.chunk_rows();
      const total = parsed ? parsed.meta.rows : 0;
      for (let i = upload.first_chunk(); i < upload.end_chunk(); i++) {
        const stored = upload.chunk(i);
        const parts = rowParts(upload, i * chunkRows, Math.min(total, (i + 1) * chunkRows));
        port.postMessage({ chunk: i, stored, parts }, [stored.buffer, ...parts.map((p) => p.buffer)]);
      }
      port.postMessage({ done: true });
    } finally {
      upload.free();
    }
  } catch (err) {
    port.postMessage({ error: String((err && err.message) || err) });
  }
}

// A port's messages, taken one at a time: next() resolves to the next (waiting if need be);
// push() adds one from elsewhere (the page's word that the helper died).
function messages(port) {
  const queue = [];
  let waiting = null;
  const push = (message) => {
    queue.push(message);
    if (waiting) {
      const wake = waiting;
      waiting = null;
      wake();
    }
  };
  port.onmessage = (event) => push(event.data || {});
  return {
    push,
    async next() {
      while (queue.length === 0) await new Promise((resolve) => (waiting = resolve));
      return queue.shift();
    },
  };
}

// Set while a file with a helper is being read.
let helperLost = () => {};
