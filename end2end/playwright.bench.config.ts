import { defineConfig } from '@playwright/test';
import base from './playwright.config';

// `make bench` only (scripts/bench.sh, section "endtoend"): browser measurements of the real
// app, with the same server and browser as the tests. Not part of `make test`.
const { projects: _tests, ...shared } = base;

export default defineConfig({
  ...shared,
  testDir: './bench',
  testMatch: /.*\.bench\.ts$/,
  timeout: 600_000,
  workers: 1,
  fullyParallel: false,
  retries: 0,
  use: { ...base.use, trace: 'off' },
});
