// Tests of scripts/check-node.mjs (run by scripts/test.sh: `node --test scripts/`): the Node.js
// that `make test` and Playwright run under must meet every `engines.node` of the lock file.
// Each case runs the script as `make test` does, judging a given version.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const script = path.join(here, 'check-node.mjs');
const realLock = path.join(here, '..', 'end2end', 'package-lock.json');

function check(args) {
  const r = spawnSync(process.execPath, [script, ...args], { encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

function lockWith(engines) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'check-node-'));
  const packages = { '': { name: 'x' } };
  engines.forEach((node, i) => {
    packages[`node_modules/p${i}`] = { version: '1.0.0', engines: { node } };
  });
  const file = path.join(dir, 'package-lock.json');
  fs.writeFileSync(file, JSON.stringify({ lockfileVersion: 3, packages }));
  return file;
}

test('the current lock file refuses the Node 20 this machine came with, naming what it needs', () => {
  const r = check(['--version', 'v20.20.2', '--lock', realLock]);
  assert.equal(r.status, 1, r.out);
  assert.match(r.out, /Node\.js v20\.20\.2 found, end2end\/package-lock\.json needs >= 22\.12\.0/);
  assert.match(r.out, /@axe-core\/playwright/);
  assert.match(r.out, /run scripts\/setup\.sh/);
});

test("the current lock file refuses Debian 12's Node 18", () => {
  const r = check(['--version', 'v18.19.0', '--lock', realLock]);
  assert.equal(r.status, 1, r.out);
  assert.match(r.out, /needs >= 22\.12\.0/);
});

test('the current lock file accepts the Node that scripts/setup.sh installs (22.23.5)', () => {
  const r = check(['--version', 'v22.23.5', '--lock', realLock]);
  assert.equal(r.status, 0, r.out);
});

test('the version scripts/setup.sh pins is the one the test above accepts', () => {
  const setup = fs.readFileSync(path.join(here, 'setup.sh'), 'utf8');
  assert.match(setup, /^node_pin=22\.23\.5$/m);
});

test('just below the bound is refused, the bound itself accepted', () => {
  const lock = lockWith(['>=22.12.0', '>=20']);
  assert.equal(check(['--version', '22.11.9', '--lock', lock]).status, 1);
  assert.equal(check(['--version', '22.12.0', '--lock', lock]).status, 0);
  assert.equal(check(['--version', '23.0.0', '--lock', lock]).status, 0);
});

test('the binary given is asked its version', () => {
  const ok = check(['--node', process.execPath, '--lock', lockWith(['>=0.8'])]);
  assert.equal(ok.status, 0, ok.out);
  const tooOld = check(['--node', process.execPath, '--lock', lockWith(['>=999'])]);
  assert.equal(tooOld.status, 1, tooOld.out);
  assert.match(tooOld.out, new RegExp(`Node\\.js ${process.version.replace(/\./g, '\\.')} found`));
  assert.match(tooOld.out, /needs >= 999\.0\.0/);
});

test('a missing node binary is refused with the same advice', () => {
  const r = check(['--node', '/nonexistent/node', '--lock', lockWith(['>=20'])]);
  assert.equal(r.status, 1, r.out);
  assert.match(r.out, /run scripts\/setup\.sh/);
});

test('caret, tilde, x-ranges, hyphen ranges and alternatives are read as npm reads them', () => {
  const cases = [
    ['^18.17.0 || >=20.5.0', '18.16.0', 1],
    ['^18.17.0 || >=20.5.0', '18.17.1', 0],
    ['^18.17.0 || >=20.5.0', '19.0.0', 1],
    ['^18.17.0 || >=20.5.0', '20.5.0', 0],
    ['~16.14', '16.15.0', 1],
    ['~16.14', '16.14.9', 0],
    ['16.x || 18.x', '17.1.0', 1],
    ['16.x || 18.x', '18.0.0', 0],
    ['>=14 <23', '23.0.0', 1],
    ['>=14 <23', '22.99.0', 0],
    ['14 - 18', '18.9.0', 0],
    ['14 - 18', '19.0.0', 1],
    ['*', '0.10.0', 0],
    ['>20', '20.0.0', 1],
    ['>20', '21.0.0', 0],
  ];
  for (const [range, version, status] of cases) {
    const r = check(['--version', version, '--lock', lockWith([range])]);
    assert.equal(r.status, status, `${range} against ${version}: ${r.out}`);
  }
});

test('a range it cannot read stops the check rather than passing it', () => {
  const r = check(['--version', '22.23.5', '--lock', lockWith(['>=20 && something'])]);
  assert.equal(r.status, 2, r.out);
  assert.match(r.out, /cannot read/);
});
