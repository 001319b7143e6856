// Debian's headless Chromium, launched as playwright.config.ts launches it for the tests
// (keep the two lists of arguments the same). Shared by every browser benchmark.
import { chromium } from '@playwright/test';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function launchChromium() {
  return chromium.launch({
    headless: true,
    executablePath: CHROMIUM_PATH,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A new page whose errors and crashes end the benchmark instead of skewing it. */
export async function benchPage(browser) {
  const page = await browser.newPage();
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warning') console.error(`page console ${msg.type()}: ${msg.text()}`);
  });
  page.on('pageerror', (err) => console.error(`page error: ${err.message}`));
  page.on('crash', () => {
    console.error('the benchmark page crashed (out of memory?)');
    process.exit(1);
  });
  return page;
}
