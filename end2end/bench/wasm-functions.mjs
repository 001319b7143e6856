// The functions of a wasm module, from its code section: how many, and the largest body.
// Usage: node bench/wasm-functions.mjs FILE.wasm  →  prints JSON { functions, largest, index }
// (`index` counts the module's own functions, imports not included).
// scripts/bench.sh (section bundles) bounds the parser's largest function: see
// app/src/import/mod.rs, `open`, for why its size matters to a browser.
import fs from 'node:fs';

const bytes = fs.readFileSync(process.argv[2]);
if (bytes.readUInt32LE(0) !== 0x6d736100) throw new Error(`${process.argv[2]} is not a wasm module`);
let at = 8;
function leb() {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = bytes[at++];
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if (byte < 0x80) return value;
  }
}
let result = null;
while (at < bytes.length && !result) {
  const id = bytes[at++];
  const size = leb();
  const end = at + size;
  if (id === 10) {
    const count = leb();
    let largest = 0;
    let index = -1;
    for (let i = 0; i < count; i++) {
      const body = leb();
      if (body > largest) [largest, index] = [body, i];
      at += body;
    }
    result = { functions: count, largest, index };
  }
  at = end;
}
if (!result) throw new Error(`${process.argv[2]} has no code section`);
console.log(JSON.stringify(result));
