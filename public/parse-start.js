// The batch upload's parsing workers, started ahead of the file. A module of the site root,
// so that the page's glue (app/js/batch.js) and the batch page's early script
// (/parse-warm.js) share one copy of it, and with it the compiled parser and the spare worker.

// The parser's wasm, compiled once for the page (streaming, while it downloads) and handed to
// every worker, which then neither fetches nor compiles it again.
const PARSER_WASM = '/pkg/parser.wasm';
let compiled = null;

function parserModule() {
  if (!compiled) {
    compiled = WebAssembly.compileStreaming(fetch(PARSER_WASM, { credentials: 'same-origin' }));
    // A failed compile is tried again with the next worker.
    compiled.catch(() => {
      compiled = null;
    });
  }
  return compiled;
}

// A worker started ahead of the file, already instantiating the parser (and warming it up:
// public/parse-worker.js).
let spare = null;
// A second one, for a workbook's cell references: it scans them while the first reads the
// workbook (public/parse-worker.js, message `check`), a tenth to a third of that reading done
// beside it on another core. It does not warm up: the module is shared, and with it the code
// the first one's warm-up has the browser optimise.
let spareChecker = null;

function startWorker(warm) {
  const worker = new Worker('/parse-worker.js', { type: 'module' });
  // Exactly one module message: the compiled module, or null for the worker to load its own.
  parserModule().then(
    (module) => worker.postMessage({ module, warm }),
    () => worker.postMessage({ module: null, warm }),
  );
  return worker;
}

// Starts a worker for the next file and a checker beside it, unless they are waiting already.
export function warmWorker() {
  if (!spare) spare = startWorker(true);
  if (!spareChecker) spareChecker = startWorker(false);
}

// The waiting checker, or null: one started for the file would be ready no sooner than the
// file's own worker, which then scans the references itself.
export function takeChecker() {
  const worker = spareChecker;
  spareChecker = null;
  return worker;
}

// The waiting worker (or a new one), for a file: the next file gets a new one.
export function takeWorker() {
  const worker = spare || startWorker(true);
  spare = null;
  return worker;
}
