// Debian's headless Chromium, launched as playwright.config.ts launches it for the tests
// (both take the arguments from shared.cjs). Shared by every browser benchmark.
import { chromium } from '@playwright/test';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../shared.cjs';

export { CHROMIUM_PATH };

export function launchChromium() {
  return chromium.launch({
    headless: true,
    executablePath: CHROMIUM_PATH,
    args: CHROMIUM_ARGS,
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
