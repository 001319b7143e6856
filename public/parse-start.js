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

function startWorker() {
  const worker = new Worker('/parse-worker.js', { type: 'module' });
  // Exactly one module message: the compiled module, or null for the worker to load its own.
  parserModule().then(
    (module) => worker.postMessage({ module }),
    () => worker.postMessage({ module: null }),
  );
  return worker;
}

// Starts a worker for the next file, unless one is waiting already.
export function warmWorker() {
  if (!spare) spare = startWorker();
}

// The waiting worker (or a new one), for a file: the next file gets a new one.
export function takeWorker() {
  const worker = spare || startWorker();
  spare = null;
  return worker;
}
