// Parses an uploaded batch file off the main thread, with the same Rust code (compiled to
// wasm) that the page and the server use. One worker per file, started before the file is
// chosen; the page terminates it once it has said it is done.
//
// It reads the chosen File itself (the page copies nothing), a part at a time as the browser
// reads it from disk (a workbook that the checker scans, whole), parses and checks every row
// (with the officer's choice of sheet and columns, when the page was told to ask),
// then sends the head (UTF-8 JSON, with the list's counts) and the first screenful of rows
// (packed bytes); for a list longer than a chunk it waits for the page to ask for more (it
// has painted them by then); keeps the list in IndexedDB and sends the rest in parts; then
// { done, stored } once the list is kept. The page stores none of its own changes to a list
// until its worker is done.
//
// A workbook's cell references may be scanned meanwhile by a second worker, the checker
// (message `check`, started beside this one by public/parse-start.js): the workbook is read
// without that scan, and nothing read is sent before the checker's verdict (or this worker's
// own scan, if the checker had not begun or failed) has passed the file.
import init, {
  check_references as checkReferences,
  export_xlsx as exportXlsx,
  Feed,
  prepare,
  Reserve,
  Upload,
  warm_up as warmUp,
} from '/pkg/parser.js';
import { beginReplace } from '/draft-store.js';

// The page sends the parser's module, compiled once for all its workers (public/parse-start.js),
// before or after the file; null means load it here. With it, what to do while waiting for the
// file: warm up, or take the file's memory, or both (public/parse-start.js gives each of its
// two waiting workers one of them).
let moduleArrived;
let warmUpWanted = true;
let reserveWanted = true;
const ready = new Promise((resolve) => {
  moduleArrived = resolve;
}).then((module) => (module ? init({ module_or_path: module }) : init()));
// An unhandled failure here would surface as an error event; the file's message reports it.
ready.catch(() => {});

// While it waits for the file, the worker parses and checks small files of its own, CSV and
// xlsx in turn, each a task of a few milliseconds: the browser runs wasm first through its
// baseline compiler and optimises a function only once it has run a while, and never
// switches a call already running, so the officer's file would otherwise be parsed and
// checked wholly by baseline code. The module is shared with the other workers of the page,
// its optimised code too. A message stops it at the next task.
const WARM_UP_STEPS = 12;
// Resolves in a later task: the messages that came meanwhile are handled first. A message to
// itself, not a timer: the browser holds back a timer set from a timer's task by at least
// 4 ms, which made the waiting worker idle more than it worked (the memory below took ~180 ms
// to write instead of ~70 ms).
const tasks = new MessageChannel();
const waitingForTask = [];
tasks.port1.onmessage = () => waitingForTask.shift()();
function nextTask() {
  return new Promise((resolve) => {
    waitingForTask.push(resolve);
    tasks.port2.postMessage(null);
  });
}
let busy = false;
// Then it takes the memory a 100,000-row CSV needs (its bytes, twice, and its rows) from the
// browser and writes it once, RESERVE_STEP at a time (a task of a few milliseconds each), and
// frees it to the parser's allocator, which keeps it (see Reserve in frontend/worker): the
// browser maps a page of memory the first time it is written, and would otherwise do it
// while the officer's file is parsed. A file that comes first frees what was written so far.
const RESERVE_BYTES = 96 << 20;
const RESERVE_STEP = 4 << 20;
let reserve = null;
function freeReserve() {
  if (reserve) reserve.free();
  reserve = null;
}
ready.then(async () => {
  try {
    for (let i = 0; i < WARM_UP_STEPS && warmUpWanted && !busy; i++) {
      warmUp(i % 2 === 1);
      await nextTask();
    }
    if (reserveWanted && !busy) {
      reserve = new Reserve(RESERVE_BYTES);
      while (reserve && reserve.touch(RESERVE_STEP)) {
        await nextTask();
      }
      freeReserve();
    }
  } catch (err) {
    // Only the officer's first file is slower for it.
    freeReserve();
    console.warn('the parser did not warm up', err);
  }
}, () => {});

const decoder = new TextDecoder();
// Rows in the first part: more than a screenful of the list.
const FIRST_ROWS = 100;
// Rows in each part after it.
const PAGE_ROWS = 500;

// Resolved when the page asks for the rest of the rows (app/js/batch.js asks with its third
// part, once it has painted the first rows).
let moreAsked;
const more = new Promise((resolve) => {
  moreAsked = resolve;
});

// The checker's verdict on the file's cell references, when the page has a checker scan them
// (message `check`, in another worker; the file's message brings this worker its end of
// their channel): `refusal(scanHere)` resolves to null when the file passed, or to the head
// that refuses it. It waits for the checker only if the checker had begun by the time the
// file was read; else, or if the checker failed, it scans the references here.
let checkerFailed = () => {};

function awaitVerdict(port) {
  let begun = false;
  // undefined: no answer yet; null: the checker failed; { refused }: its verdict.
  let answer;
  let answered;
  const settled = new Promise((resolve) => {
    answered = (value) => {
      if (answer === undefined) answer = value;
      resolve(answer);
    };
  });
  port.onmessage = (event) => {
    const data = event.data || {};
    if (data.begun) begun = true;
    else if ('refused' in data) answered({ refused: data.refused });
    else answered(null);
  };
  checkerFailed = () => answered(null);
  return {
    async refusal(scanHere) {
      // The checker's messages that came while this worker was busy.
      await nextTask();
      if (answer === undefined && begun) await settled;
      port.close();
      if (answer) return answer.refused;
      return scanHere() ?? null;
    },
  };
}

// The checker's whole job: the file's cell references scanned (the parser's check_references),
// the verdict sent over the channel the page gave it.
async function check({ file, name, port }) {
  try {
    await ready;
    port.postMessage({ begun: true });
    const bytes = new Uint8Array(await file.arrayBuffer());
    const refused = checkReferences(bytes, name) ?? null;
    port.postMessage({ refused }, refused ? [refused.buffer] : []);
  } catch (err) {
    port.postMessage({ failed: String((err && err.message) || err) });
  }
}

// A workbook whose cell references the checker scans meanwhile: read whole, and used only
// once the scan has passed it. Null if the scan refused it (the refusal is sent: nothing is
// stored).
async function prepareChecked(file, name, key, choice, verdict) {
  const [, buffer] = await Promise.all([ready, file.arrayBuffer()]);
  const bytes = new Uint8Array(buffer);
  // The head refusing the file if its references do not pass (null if they do).
  const refusal = () => verdict.refusal(() => checkReferences(bytes, name));
  const refuse = (head) => {
    self.postMessage({ part: head }, [head.buffer]);
    self.postMessage({ done: true, stored: false });
    return null;
  };
  let upload;
  try {
    upload = prepare(bytes, name, key, choice, true);
  } catch (err) {
    // Read without its references scanned, a workbook with one that overflows can make the
    // parser fail: the scan's refusal is the answer then.
    const refused = await refusal();
    if (!refused) throw err;
    return refuse(refused);
  }
  // Nothing read is used before the references have passed.
  const refused = await refusal();
  if (refused) {
    upload.free();
    return refuse(refused);
  }
  return upload;
}

// Any other file: handed to the parser a part at a time as the browser reads it from disk (a
// 20 MB CSV comes in 20 to 50 parts over 50 to 80 ms), so that a text file's records are
// mostly read by the time its last part comes (`import::Feed`, through the parser's Feed);
// the parts that come before the parser is ready wait here. The same answer as `prepare`.
async function readAsItComes(file, name, key, choice) {
  const reader = file.stream().getReader();
  const early = [];
  let feed = null;
  let parserReady = false;
  let parserFailed = null;
  ready.then(
    () => {
      parserReady = true;
    },
    (err) => {
      parserFailed = err || new Error('the parser did not load');
    },
  );
  const begin = () => {
    feed = new Feed(name, file.size, choice);
    for (const part of early.splice(0)) feed.push(part);
  };
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (parserFailed) throw parserFailed;
      if (done) break;
      if (!feed && parserReady) begin();
      if (feed) feed.push(value);
      else early.push(value);
    }
    await ready;
    if (!feed) begin();
  } catch (err) {
    reader.cancel().catch(() => {});
    try {
      if (feed) feed.free();
    } catch {
      // A parser that trapped may not free: the error below is the one to report.
    }
    throw err;
  }
  return feed.finish(key);
}

self.onmessage = async (event) => {
  if ('module' in event.data) {
    warmUpWanted = event.data.warm !== false;
    reserveWanted = event.data.reserve !== false;
    moduleArrived(event.data.module);
    return;
  }
  if ('more' in event.data) {
    moreAsked();
    return;
  }
  if ('checkerFailed' in event.data) {
    checkerFailed();
    return;
  }
  // Any other message ends the waiting work (at its next task, or before it begins if the
  // module has not come yet).
  busy = true;
  freeReserve();
  // The file went to the other worker: this one only stops, not to take that one's core.
  if ('rest' in event.data) return;
  if ('check' in event.data) {
    await check(event.data.check);
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
  // keep: store the list in IndexedDB (a new list); not for a file to merge into the open one.
  const { file, name, key, owner, choice, keep } = event.data.file;
  const verdict = event.data.file.verdict ? awaitVerdict(event.data.file.verdict) : null;
  try {
    const upload = verdict
      ? await prepareChecked(file, name, key, choice || '', verdict)
      : await readAsItComes(file, name, key, choice || '');
    // Refused by the checker's scan (the answer is sent).
    if (!upload) return;
    try {
      const head = upload.head();
      const parsed = JSON.parse(decoder.decode(head)).Parsed;
      // Refused, or a question for the officer (which sheet, which column is which): nothing
      // is stored, the page asks again with the answer.
      if (!parsed) {
        self.postMessage({ part: head }, [head.buffer]);
        self.postMessage({ done: true, stored: false });
        return;
      }
      // The rows go to the page in parts of PAGE_ROWS (each read in a few milliseconds, so
      // the page never spends a long task on one), the first screenful on its own, with the
      // head.
      const total = parsed.meta.rows;
      const send = (start, end) => {
        for (let s = start; s < end; ) {
          const e = Math.min(end, s + PAGE_ROWS);
          const part = upload.rows(s, e);
          self.postMessage({ part }, [part.buffer]);
          s = e;
        }
      };
      const first = Math.min(total, FIRST_ROWS);
      const showFirst = () => {
        self.postMessage({ part: head }, [head.buffer]);
        const part = upload.rows(0, first);
        self.postMessage({ part }, [part.buffer]);
      };
      // A list of one chunk has its transaction opened and its rows put before the page
      // shows it (a short transaction, and the officer may leave the page at once). A
      // longer one is kept once the page has painted its first rows and asks for the rest:
      // its writes and messages would take the CPU that render needs.
      const short = upload.chunks() <= 1;
      if (!short) {
        showFirst();
        await more;
      }
      // The list is kept in IndexedDB in chunks of Upload.chunk_rows(), in one transaction
      // (IndexedDB may refuse: private windows, full disks; the list still works until a
      // refresh). The page stores none of its own changes until this worker is done, so they
      // land after this list, not under it.
      let keeping = !keep
        ? null
        : await beginReplace(owner, JSON.stringify(parsed.meta)).catch((err) => {
            console.warn('could not keep the list in this browser', err);
            return null;
          });
      const chunks = upload.chunks();
      const chunkRows = Upload.chunk_rows();
      // (put() must come in the task in which beginReplace resolved.)
      for (let i = 0; i < chunks; i++) {
        if (keeping) {
          // IndexedDB copies the bytes when put() is called.
          try {
            keeping.put(i, upload.chunk(i));
          } catch (err) {
            // The draft is incomplete and will not be restored (its meta counts more rows).
            console.warn('could not keep the list in this browser', err);
            keeping = null;
          }
        }
        if (short) showFirst();
        send(Math.max(first, i * chunkRows), Math.min(total, (i + 1) * chunkRows));
      }
      // (An empty list has no chunk: its head and its no rows.)
      if (short && chunks === 0) showFirst();
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
      upload.free();
    }
  } catch (err) {
    self.postMessage({ error: String((err && err.message) || err) });
  }
};
