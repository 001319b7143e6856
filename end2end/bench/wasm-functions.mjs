// The largest function of a wasm module, from its code section.
// Usage (from the repository root): node end2end/bench/wasm-functions.mjs FILE.wasm
// Prints "BYTES INDEX": the largest function body's size and its index among the module's
// own functions (imports not counted). Exits non-zero on a file that is not a well-formed
// module. scripts/bench.sh (section bundles) bounds the parser's largest function: see the
// module documentation of app/src/import/mod.rs for why its size matters to a browser.
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';

/** `{ largest, index }` of a module's bytes; throws, naming why, on one that is not well formed. */
export function largestFunction(bytes) {
  const fail = (why) => {
    throw new Error(why);
  };
  if (bytes.length < 8 || Buffer.from(bytes.subarray(0, 4)).readUInt32LE(0) !== 0x6d736100) {
    fail('not a wasm module');
  }
  let at = 8;
  // An unsigned LEB128 number of at most 32 bits.
  const leb = () => {
    let value = 0;
    for (let shift = 0; shift <= 28; shift += 7) {
      if (at >= bytes.length) fail('truncated');
      const byte = bytes[at++];
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
    return fail('a number longer than 5 bytes');
  };
  while (at < bytes.length) {
    const id = bytes[at++];
    const size = leb();
    const end = at + size;
    if (end > bytes.length) fail('a section runs past the end');
    if (id === 10) {
      const count = leb();
      let largest = 0;
      let index = -1;
      for (let i = 0; i < count; i++) {
        const body = leb();
        if (body > largest) [largest, index] = [body, i];
        at += body;
      }
      if (at !== end) fail('the code section is not the size it says');
      return { largest, index };
    }
    at = end;
  }
  return fail('no code section');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const file = process.argv[2];
  try {
    const { largest, index } = largestFunction(fs.readFileSync(file));
    console.log(`${largest} ${index}`);
  } catch (err) {
    console.error(`${file}: ${err.message}`);
    process.exit(1);
  }
}
