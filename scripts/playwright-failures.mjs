#!/usr/bin/env node
// The tests that failed in a Playwright JSON report, a few lines each: make test prints this
// last when the Playwright layer fails, because CI shows only the end of the output.
//   node scripts/playwright-failures.mjs target/playwright-report.json
import fs from 'node:fs';

const ansi = /\u001b\[[0-9;]*m/g;
const file = process.argv[2];
let report;
try {
  report = JSON.parse(fs.readFileSync(file, 'utf8'));
} catch (error) {
  console.log(`no Playwright report to summarise (${file}: ${error.message})`);
  process.exit(0);
}

// Every test of every suite, with the titles of the suites around it.
function* tests(suite, titles) {
  for (const spec of suite.specs ?? []) {
    for (const test of spec.tests ?? []) {
      yield { spec, test, titles: [...titles, spec.title] };
    }
  }
  for (const child of suite.suites ?? []) {
    yield* tests(child, child.file === child.title ? titles : [...titles, child.title]);
  }
}

const lines = [];
let failed = 0;
for (const suite of report.suites ?? []) {
  for (const { spec, test, titles } of tests(suite, [])) {
    if (test.status !== 'unexpected' && test.status !== 'flaky') continue;
    if (test.status === 'unexpected') failed += 1;
    lines.push(`${test.status === 'flaky' ? 'FLAKY' : 'FAILED'} [${test.projectName}] ${spec.file}:${spec.line} › ${titles.join(' › ')}`);
    for (const result of test.results ?? []) {
      if (result.status === 'passed' || result.status === 'skipped') continue;
      const error = result.error ?? result.errors?.[0];
      const message = (error?.message ?? result.status).replace(ansi, '').split('\n').filter((l) => l.trim());
      lines.push(`  try ${result.retry + 1}, ${result.status} after ${(result.duration / 1000).toFixed(1)} s:`);
      for (const line of message.slice(0, 8)) lines.push(`    ${line.slice(0, 300)}`);
      const at = error?.location;
      if (at) lines.push(`    at ${at.file.replace(/^.*\/end2end\//, 'end2end/')}:${at.line}`);
    }
  }
}
// Errors outside any test: a server that did not start, a file that did not load.
for (const error of report.errors ?? []) {
  const message = (error.message ?? '').replace(ansi, '').split('\n').filter((l) => l.trim());
  lines.push('ERROR outside the tests:');
  for (const line of message.slice(0, 8)) lines.push(`    ${line.slice(0, 300)}`);
}
const stats = report.stats ?? {};
console.log(`Playwright: ${stats.expected ?? '?'} passed, ${stats.unexpected ?? failed} failed, ${stats.flaky ?? 0} flaky, ${stats.skipped ?? '?'} skipped`);
for (const line of lines) console.log(line);
