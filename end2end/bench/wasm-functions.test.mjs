// Tests of end2end/bench/wasm-functions.mjs (run by scripts/test.sh), the reader behind
// `make bench`'s check of the parser's largest function: the figure it prints for a real
// module, and a clear refusal, never a hang, for a file that is not a well-formed one.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'wasm-functions.mjs');

function run(bytes) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wasm-functions-'));
  const file = path.join(dir, 'module.wasm');
  fs.writeFileSync(file, bytes);
  // A reader that loops on a bad file is killed, and fails the test, instead of holding it.
  const r = spawnSync(process.execPath, [script, file], { encoding: 'utf8', timeout: 10_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}`.trim() };
}

const leb = (n) => {
  const out = [];
  do {
    let byte = n & 0x7f;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return out;
};
// `wrongBy`: a section that says it is longer than it is.
const section = (id, body, wrongBy = 0) => [id, ...leb(body.length + wrongBy), ...body];
const name = (s) => [s.length, ...Buffer.from(s)];

// A valid module: one imported function, then three of its own whose bodies are 2, 303 and
// 12 bytes (the second the largest: index 1, imports not counted), and a custom section.
// `codeWrongBy`: its code section says it is that many bytes longer than its bodies.
function module(codeWrongBy = 0) {
  const body = (nops) => [0, ...Array(nops).fill(0x01), 0x0b];
  const bodies = [body(0), body(301), body(10)];
  return Buffer.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 0, 0]),
    ...section(2, [1, ...name('m'), ...name('f'), 0x00, 0]),
    ...section(3, [3, 0, 0, 0]),
    ...section(10, [bodies.length, ...bodies.flatMap((b) => [...leb(b.length), ...b])], codeWrongBy),
    ...section(0, [...name('note'), 1, 2, 3]),
  ]);
}

test('prints the largest function body and its index among the module’s own functions', () => {
  const bytes = module();
  assert.ok(WebAssembly.validate(bytes), 'the test module is valid wasm');
  assert.deepEqual(run(bytes), { status: 0, out: '303 1' });
});

test('refuses a module cut short anywhere, naming why, without hanging', () => {
  // Every cut of the module, read in one child process: a reader that loops on one of them
  // is killed there, and fails the test, instead of holding it.
  const sweep = `
    import { largestFunction } from ${JSON.stringify(script)};
    const bytes = Buffer.from(${JSON.stringify([...module()])});
    const answers = [];
    for (let end = 0; end < bytes.length; end++) {
      try { const r = largestFunction(bytes.subarray(0, end)); answers.push([end, r.largest + ' ' + r.index]); }
      catch (err) { answers.push([end, err.message]); }
    }
    console.log(JSON.stringify(answers));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', sweep], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(r.status, 0, `the sweep did not finish: ${r.stderr}`);
  for (const [end, answer] of JSON.parse(r.stdout)) {
    if (end < 8) assert.equal(answer, 'not a wasm module', `cut at ${end}`);
    // Cut after the code section, only the custom section is lost: still the same answer.
    else if (!/^\d/.test(answer)) assert.match(answer, /truncated|runs past the end|no code section/, `cut at ${end}`);
    else assert.equal(answer, '303 1', `cut at ${end}`);
  }
});

test('refuses what is not a wasm module, and a malformed size', () => {
  assert.match(run(Buffer.from('name,email\n')).out, /not a wasm module/);
  const tooLong = Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 10, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
  assert.match(run(tooLong).out, /longer than 5 bytes/);
  const r = run(module(1));
  assert.equal(r.status, 1);
  assert.match(r.out, /not the size it says/);
});
