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

// Two workers started ahead of the file, sharing the module and with it the code the browser
// optimises (public/parse-worker.js), each preparing half of what a fast first file needs, at
// the same time on two cores: the spare, for the file, takes and writes the memory a large file
// needs; the warmer runs the parser over small files of its own, so that the browser optimises
// the parser's code before the file comes. Done one after the other in one worker, the two
// took ~200 ms, and a file chosen the moment the page was interactive came before either was
// done.
let spare = null;
// The warmer then scans a workbook's cell references (message `check`) while the spare reads
// the workbook (a tenth to a third of that reading, done beside it on another core); for any
// other file it stops warming up (message `rest`), so as not to take the spare's core.
let warmer = null;

function startWorker(role) {
  const worker = new Worker('/parse-worker.js', { type: 'module' });
  // Exactly one module message: the compiled module, or null for the worker to load its own.
  parserModule().then(
    (module) => worker.postMessage({ module, ...role }),
    () => worker.postMessage({ module: null, ...role }),
  );
  return worker;
}

// Starts the workers for the next file, unless they are waiting already.
export function warmWorker() {
  if (!spare) spare = startWorker({ warm: false, reserve: true });
  if (!warmer) warmer = startWorker({ warm: true, reserve: false });
}

// The waiting warmer, for the file's worker to have it check a workbook's references or rest;
// null if none is waiting (the file's worker then scans the references itself).
export function takeWarmer() {
  const worker = warmer;
  warmer = null;
  return worker;
}

// The waiting spare (or a new one, which warms up itself), for a file: the next file gets a
// new one.
export function takeWorker() {
  const worker = spare || startWorker({ warm: true, reserve: true });
  spare = null;
  return worker;
}
