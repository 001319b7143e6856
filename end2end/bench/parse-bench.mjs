// Times the batch upload parsers in one headless Chromium page: ours (the app's wasm:
// bench_parse = parse only, parse_upload = parse + validate + the rows packed, as the upload worker does),
// SheetJS and PapaParse, on the CSV and xlsx files make-data.mjs writes. Prints a table of
// medians and of our time as a share of theirs, against the targets:
//   xlsx: ours ≤ 0.30× SheetJS;  CSV: ours ≤ 0.50× PapaParse.
//
// Usage: node bench/parse-bench.mjs [--data DIR] [--pkg DIR] [--parsers ours,validate,sheetjs,papaparse]
//                                   [--json FILE]
// DIR defaults: ../target/bench and ../target/site/pkg. Exits non-zero if any parser fails or
// reads the wrong number of rows.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchPage, launchChromium } from './browser.mjs';
import { fileName, SIZES } from './make-data.mjs';
import { serveStatic } from './serve.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const { values: opts } = parseArgs({
  options: {
    data: { type: 'string', default: path.join(root, 'target/bench') },
    pkg: { type: 'string', default: path.join(root, 'target/site/pkg') },
    parsers: { type: 'string', default: 'ours,validate,sheetjs,papaparse' },
    json: { type: 'string' },
  },
});
const wanted = new Set(opts.parsers.split(','));

// The targets: our parse time as a share of the reference parser's, per format.
const TARGETS = { csv: { against: 'papaparse', max: 0.5 }, xlsx: { against: 'sheetjs', max: 0.3 } };
const PARSERS = { csv: ['ours', 'validate', 'sheetjs', 'papaparse'], xlsx: ['ours', 'validate', 'sheetjs'] };
const runsFor = (rows) => (rows >= 100_000 ? 3 : 5);
// The steps of ours+validate, as bench_stages times them.
const STAGES = ['parse', 'rules', 'clashes', 'counts+head', 'packing'];

const cases = ['csv', 'xlsx'].flatMap((format) =>
  SIZES.map((rows) => ({ format, rows, file: fileName(rows, format), label: `${format} ${rows / 1000}k` })),
);
for (const c of cases) {
  if (!fs.existsSync(path.join(opts.data, c.file))) {
    console.error(`parse-bench: ${path.join(opts.data, c.file)} is missing; run node bench/make-data.mjs first`);
    process.exit(1);
  }
}

const server = await serveStatic({
  '/': path.join(here, 'bench.html'),
  '/pkg/': opts.pkg,
  // The bundle's batch upload snippet imports the draft store from the site root.
  '/draft-store.js': path.join(root, 'public/draft-store.js'),
  '/data/': opts.data,
  '/vendor/xlsx.full.min.js': path.join(root, 'end2end/node_modules/xlsx/dist/xlsx.full.min.js'),
  '/vendor/papaparse.min.js': path.join(root, 'end2end/node_modules/papaparse/papaparse.min.js'),
});
const browser = await launchChromium();
const machine = `Chromium ${browser.version()} (headless) on ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}`;
let failed = false;
const results = {};
const errors = [];
try {
  const page = await benchPage(browser);
  await page.goto(`${server.url}/`);
  await page.waitForFunction(() => window.benchReady !== undefined, null, { timeout: 60_000 });
  const ready = await page.evaluate(() => window.benchReady);
  if ((wanted.has('ours') && !ready.ours) || (wanted.has('validate') && !ready.validate)) {
    throw new Error(
      `${path.join(opts.pkg, 'parser.js')} lacks bench_parse or parse_upload ` +
        `(rebuild with scripts/build.sh, or pass --parsers sheetjs,papaparse)` +
        (ready.oursError ? `:\n${ready.oursError}` : ''),
    );
  }
  if (!ready.crossOriginIsolated) console.error('parse-bench: page is not cross-origin isolated; timer is coarse');

  for (const c of cases) {
    results[c.label] = { file: c.file, rows: c.rows, bytes: fs.statSync(path.join(opts.data, c.file)).size, runs: runsFor(c.rows) };
    for (const parser of PARSERS[c.format].filter((p) => wanted.has(p))) {
      try {
        const r = await page.evaluate(([f, p, n, rows]) => window.runBench(f, p, n, rows), [
          c.file,
          parser,
          runsFor(c.rows),
          c.rows,
        ]);
        results[c.label][parser] = r.median;
        results[c.label][`${parser}_runs`] = r.times;
        results[c.label][`${parser}_first`] = r.first;
        if (r.note) results[c.label][`${parser}_note`] = r.note;
        console.error(
          `parse-bench: ${c.label} ${parser}: ${r.median.toFixed(1)} ms median ` +
            `(${r.times.map((t) => t.toFixed(0)).join(', ')}; first, cold: ${r.first.toFixed(0)})` +
            `${r.note ? `; ${r.note}` : ''}`,
        );
      } catch (e) {
        // Not timed, and the run fails at the end; the other parsers still run.
        const message = e.message.replace(/^page\.evaluate: (Error: )?/, '').split('\n')[0];
        results[c.label][`${parser}_error`] = message;
        errors.push(`${c.label} ${parser}: ${message}`);
        console.error(`parse-bench: ${c.label} ${parser}: FAILED: ${message}`);
      }
    }
    if (wanted.has('validate') && results[c.label].validate !== undefined) {
      // (Information: where validate's time goes. A failure here fails the run as above.)
      try {
        const stages = await page.evaluate(([f, n]) => window.runStages(f, n), [c.file, runsFor(c.rows)]);
        results[c.label].validate_stages = Object.fromEntries(STAGES.map((s, i) => [s, stages[i]]));
      } catch (e) {
        const message = e.message.replace(/^page\.evaluate: (Error: )?/, '').split('\n')[0];
        results[c.label].validate_stages_error = message;
        errors.push(`${c.label} stages: ${message}`);
      }
    }
  }
} catch (e) {
  failed = true;
  console.error(`parse-bench: FAILED: ${e.message}`);
} finally {
  await browser.close();
  await server.close();
}
if (failed) process.exit(1);

// ---- the table ------------------------------------------------------------------------------
const ms = (r, parser) =>
  r[`${parser}_error`] ? 'FAILED' : r[parser] === undefined ? '—' : r[parser] >= 100 ? r[parser].toFixed(0) : r[parser].toFixed(1);
const ratio = (a, b) => (a === undefined || b === undefined ? undefined : a / b);
const x = (v) => (v === undefined ? '—' : `${v.toFixed(2)}×`);
const verdict = (v, max) => (v === undefined ? 'not measured' : v <= max ? 'meets target' : 'misses target');

const head = ['parse (median ms)', 'ours', 'ours+validate', 'SheetJS', 'PapaParse', 'ratio', 'target', '', '+validate ratio'];
const lines = [head];
for (const c of cases) {
  const r = results[c.label];
  const t = TARGETS[c.format];
  const plain = ratio(r.ours, r[t.against]);
  const full = ratio(r.validate, r[t.against]);
  lines.push([
    `${c.label} (${(r.bytes / 1048576).toFixed(1)} MB)`,
    ms(r, 'ours'),
    ms(r, 'validate'),
    ms(r, 'sheetjs'),
    ms(r, 'papaparse'),
    x(plain),
    `≤${t.max.toFixed(2)}×`,
    verdict(plain, t.max),
    full === undefined ? '—' : `${x(full)} (${full <= t.max ? 'within' : 'over'} target)`,
  ]);
}
const widths = head.map((_, i) => Math.max(...lines.map((l) => [...l[i]].length)));
const pad = (s, w, i) => (i === 0 || i >= 7 ? s.padEnd(w) : s.padStart(w));
console.log(machine);
console.log(lines.map((l) => l.map((s, i) => pad(s, widths[i], i)).join('  ').trimEnd()).join('\n'));
const cold = cases
  .map((c) => {
    const r = results[c.label];
    const them = TARGETS[c.format].against;
    const f = (p) => (r[`${p}_first`] === undefined ? '—' : r[`${p}_first`].toFixed(0));
    return `${c.label} ${f('ours')} vs ${f(them)}`;
  })
  .join(', ');
for (const c of cases) {
  const st = results[c.label].validate_stages;
  if (!st) continue;
  const after = STAGES.slice(1).reduce((n, s) => n + st[s], 0);
  console.log(
    `ours+validate ${c.label}, by step (median ms): ${STAGES.map((s) => `${s} ${st[s].toFixed(1)}`).join(', ')}; ` +
      `validation + hand-over ${after.toFixed(1)} ms = ${(after / st.parse).toFixed(2)}× the parse (target ≤ 1.0×)`,
  );
}
console.log(`first (cold) run, ms, ours vs ${Object.values(TARGETS).map((t) => t.against).join('/')}: ${cold}`);
console.log(
  `medians of ${runsFor(10_000)} runs at 10k rows and ${runsFor(100_000)} at 100k, after untimed ` +
    'warm-up runs (at least 3 and 500 ms of parsing, for every parser); ' +
    'ratio = ours (parse only) ÷ PapaParse for CSV, ÷ SheetJS for xlsx. ' +
    'SheetJS on CSV is for information.',
);
if (opts.json) fs.writeFileSync(opts.json, JSON.stringify({ machine, results, errors }, null, 2));
if (errors.length > 0) {
  console.log(`FAILED, not measured:\n${errors.map((e) => `  ${e}`).join('\n')}`);
  process.exit(1);
}
