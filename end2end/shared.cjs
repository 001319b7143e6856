// Shared by the Playwright tests (TypeScript) and the benchmarks (plain node modules): the
// upload template's headers, CSV quoting, and how Debian's Chromium is launched. CommonJS, so
// that both the tests (compiled to CommonJS) and the ES-module benchmarks can import it.

/** The template's column headers, in order (as `app::import::COLUMNS` writes them). */
exports.HEADERS = [
  'Email address',
  'TechPass username',
  'First name',
  'Last name',
  'Contact number',
  'Organisation',
  'Department',
  'Is onboarding to SEED required?',
  'Reason',
];

/** A CSV cell, quoted only when it needs to be (as Excel writes it). */
exports.csvCell = (s) => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

/** Debian's Chromium (npx playwright install cannot work on these machines). */
exports.CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** Its launch arguments, the same for the tests and the benchmarks. */
exports.CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
