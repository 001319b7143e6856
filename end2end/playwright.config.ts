import { defineConfig } from '@playwright/test';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './shared.cjs';

// Debian's Chromium, driven by Playwright (no browser download: `npx playwright install`
// cannot work on these machines). The server is the release build on a throwaway database.
const port = Number(process.env.E2E_PORT ?? 3100);
const smtpPort = Number(process.env.E2E_SMTP_PORT ?? 2526);
// A second server signs in through a real OpenID provider (oidc-provider, end2end/oidc/).
const oidcPort = Number(process.env.E2E_OIDC_PORT ?? port + 1);
const providerPort = Number(process.env.E2E_PROVIDER_PORT ?? port + 2);
const issuer = `http://127.0.0.1:${providerPort}`;
const oidcApp = `http://127.0.0.1:${oidcPort}`;
// The main server's TechPass directory is a real SCIM 2.0 server (scim2-server, PyPI).
const scimPort = Number(process.env.E2E_SCIM_PORT ?? port + 3);
export const scimUrl = `http://127.0.0.1:${scimPort}`;
export const scimToken = 'e2e-scim-token';
process.env.E2E_SCIM_URL = scimUrl;
// Mail the app sends lands here (a real SMTP server process); tests read it back.
export const mailDir = path.join(os.tmpdir(), `techbiz-e2e-mail-${port}`);
if (!process.env.TEST_WORKER_INDEX) {
  fs.rmSync(mailDir, { recursive: true, force: true });
  fs.mkdirSync(mailDir, { recursive: true });
}
process.env.E2E_MAIL_DIR = mailDir;

export default defineConfig({
  testDir: './tests',
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: true,
  workers: 2,
  forbidOnly: !!process.env.CI,
  // CI retries a failed test once, so that one timing slip on a busy machine does not stop a
  // landing; make test names every test that needed the retry at the end of its output
  // (scripts/playwright-failures.mjs), to be mended. Here, a failure fails at once.
  retries: process.env.CI ? 1 : 0,
  // The list as the tests run; the JSON report is for scripts/playwright-failures.mjs, which
  // make test prints last when a test failed (CI shows the end of the output).
  reporter: [['list'], ['json', { outputFile: '../target/playwright-report.json' }]],
  // The clock test moves the server's clock on, so it runs alone, after everything else.
  projects: [
    { name: 'main', testIgnore: /(clock|oidc|batch-chunks)\.spec\.ts$/ },
    // The batch upload's flows again, every action by keyboard alone (tests/fixtures/keyboard.ts);
    // not the ones about speed, limits or the mouse.
    {
      name: 'keyboard',
      testMatch: /batch\.spec\.ts$/,
      grepInvert: /100,000 rows|before the page is interactive|big file|parsing worker|hostile files|click is never lost|slow to store|templates download/,
      use: { keyboard: true },
    },
    { name: 'oidc', testMatch: /oidc\.spec\.ts$/, use: { baseURL: oidcApp } },
    { name: 'clock', testMatch: /clock\.spec\.ts$/, dependencies: ['main', 'keyboard', 'oidc'] },
    // A list of three chunks: last of all, since its accounts and emails keep the directory and
    // the mail relay busy for a while.
    { name: 'chunks', testMatch: /batch-chunks\.spec\.ts$/, dependencies: ['clock'] },
  ],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: CHROMIUM_PATH,
      args: CHROMIUM_ARGS,
    },
  },
  webServer: [
    {
      command: `node smtp-sink.mjs ${smtpPort} ${mailDir}`,
      port: smtpPort,
      reuseExistingServer: false,
      timeout: 60_000,
    },
    {
      command: `bash ../scripts/scim-server.sh ${scimPort} ${scimToken}`,
      url: `${scimUrl}/ServiceProviderConfig`,
      reuseExistingServer: false,
      timeout: 60_000,
    },
    {
      command: `bash ../scripts/e2e-server.sh ${port} smtp://127.0.0.1:${smtpPort}`,
      url: `http://127.0.0.1:${port}/healthz`,
      env: { SCIM_URL: scimUrl, SCIM_TOKEN: scimToken },
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: 'ignore',
      stderr: 'pipe',
    },
    {
      command:
        `node oidc/provider.mjs --port ${providerPort} --client-id techbiz-e2e --client-secret e2e-client-secret` +
        ` --redirect-uri ${oidcApp}/auth/callback --post-logout-redirect-uri ${oidcApp}/signed-out` +
        ` --backchannel-logout-uri ${oidcApp}/auth/backchannel-logout`,
      url: `${issuer}/.well-known/openid-configuration`,
      reuseExistingServer: false,
      timeout: 60_000,
    },
    {
      command: `bash ../scripts/e2e-server.sh ${oidcPort} smtp://127.0.0.1:${smtpPort} ${issuer}`,
      url: `${oidcApp}/healthz`,
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: 'ignore',
      stderr: 'pipe',
    },
  ],
});
