// Parses an uploaded batch file off the main thread, with the same Rust code (compiled to
// wasm) that the page and the server use. One worker per file, started before the file is
// chosen; the page terminates it.
// Answers with the head and the row chunks as UTF-8 JSON bytes, transferred rather than
// copied, after keeping the list in IndexedDB: the page then has nothing big to copy or
// store on its main thread.
import init, { parse_upload } from '/pkg/parser.js';
import { replaceDraft } from '/draft-store.js';

// The page sends the parser's module, compiled once for all its workers (app/js/batch.js),
// before or after the file; null means load it here.
let moduleArrived;
const ready = new Promise((resolve) => {
  moduleArrived = resolve;
}).then((module) => (module ? init({ module_or_path: module }) : init()));
// An unhandled failure here would surface as an error event; the file's message reports it.
ready.catch(() => {});

self.onmessage = async (event) => {
  if ('module' in event.data) {
    moduleArrived(event.data.module);
    return;
  }
  const { bytes, name, key, owner } = event.data.file;
  try {
    await ready;
    const parts = parse_upload(bytes, name, key);
    const head = JSON.parse(new TextDecoder().decode(parts[0]));
    let stored = false;
    if (head.Parsed) {
      try {
        await replaceDraft(owner, JSON.stringify(head.Parsed.meta), parts.slice(1));
        stored = true;
      } catch (err) {
        // Private windows and full disks refuse; the list still works until a refresh.
        console.warn('could not keep the list in this browser', err);
      }
    }
    self.postMessage({ ok: true, parts, stored }, parts.map((p) => p.buffer));
  } catch (err) {
    self.postMessage({ ok: false, error: String((err && err.message) || err) });
  }
};
