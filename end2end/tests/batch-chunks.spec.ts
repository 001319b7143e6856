import { expect, test } from './fixtures/test';
import { BatchPage, csv, unique, type Row } from './fixtures/batch';

// Runs last (the `chunks` project, after the clock test): its 1,501 accounts and emails would
// keep the SCIM server and the mail relay busy under the other tests' waits for their mail.

const officer = (email: string): Row => [
  email, '', 'Ann', 'Tan', '+65 9123 4567', 'GovTech', 'Platform', 'Yes', 'Joins the platform team',
];

// The page's SUBMIT_CHUNKS_IN_FLIGHT (app/src/domain/limits.rs).
const IN_FLIGHT = 3;

test('a list of four chunks is sent three at a time, and every row is invited', async ({ page }) => {
  const u = unique();
  const batch = new BatchPage(page);
  // An officer of its own: the invitations count against nobody else's hourly quota.
  await batch.open(`long.${u}@agency.gov.sg`);
  const total = IN_FLIGHT * 500 + 1;
  const rows: Row[] = Array.from({ length: total }, (_, i) => officer(`p${i}.${u}@tech.gov.sg`));
  await batch.uploadBuffer(`long-${u}.csv`, csv(rows));
  await expect(batch.counts()).toHaveText(`${total.toLocaleString('en')} users`);

  // The first chunk (500 rows) is held back until the third has been sent: a page that
  // sent fewer at a time would send no third one before the first answer (the hold ends
  // after 10 s). The last (1 row) may go only once the first has been answered.
  let sent = 0;
  let sentWhenFirstWent = 0;
  let firstAnswered = false;
  let firstAnsweredWhenLastWent: boolean | undefined;
  let allSent!: () => void;
  const inFlight = new Promise<void>((resolve) => (allSent = resolve));
  await page.route('**/api/submit_batch', async (route) => {
    sent += 1;
    const n = sent;
    if (n === IN_FLIGHT) allSent();
    if (n === IN_FLIGHT + 1) firstAnsweredWhenLastWent = firstAnswered;
    if (n !== 1) return route.continue();
    await Promise.race([inFlight, new Promise((resolve) => setTimeout(resolve, 10_000))]);
    sentWhenFirstWent = sent;
    const response = await route.fetch();
    // (Before the page can have it.)
    firstAnswered = true;
    await route.fulfill({ response });
  });
  await batch.submit();
  const all = total.toLocaleString('en');
  await expect(batch.summary()).toHaveText(`${all} of ${all} invited`, { timeout: 30_000 });
  expect(sentWhenFirstWent, 'the second and third chunks went before the first was answered').toBe(IN_FLIGHT);
  expect(sent, 'four chunks (500, 500, 500, 1), each once').toBe(IN_FLIGHT + 1);
  expect(firstAnsweredWhenLastWent, 'the last went only after the first answer: three at a time').toBe(true);
  await expect(batch.row(2)).toContainText('Invited');
});
