import { expect, test } from './fixtures/test';
import { BatchPage, csv, unique, type Row } from './fixtures/batch';

// Runs last (the `chunks` project, after the clock test): its 501 accounts and emails would
// keep the SCIM server and the mail relay busy under the other tests' waits for their mail.

const officer = (email: string): Row => [
  email, '', 'Ann', 'Tan', '+65 9123 4567', 'GovTech', 'Platform', 'Yes', 'Joins the platform team',
];

test('a list longer than a chunk is sent two chunks at a time, and every row is invited', async ({ page }) => {
  const u = unique();
  const batch = new BatchPage(page);
  // An officer of its own: the invitations count against nobody else's hourly quota.
  await batch.open(`long.${u}@agency.gov.sg`);
  const rows: Row[] = Array.from({ length: 501 }, (_, i) => officer(`p${i}.${u}@tech.gov.sg`));
  await batch.uploadBuffer(`long-${u}.csv`, csv(rows));
  await expect(batch.counts()).toHaveText('501 users');

  // The first chunk is held back until the second has been sent: a page that waited for each
  // answer before sending the next would send no second one (and the hold ends after 10 s).
  let sent = 0;
  let sentWhenFirstWent = 0;
  let inFlight = 0;
  let mostInFlight = 0;
  let secondSent!: () => void;
  const second = new Promise<void>((resolve) => (secondSent = resolve));
  page.on('request', (r) => {
    if (r.url().includes('/api/submit_batch')) mostInFlight = Math.max(mostInFlight, ++inFlight);
  });
  const answered = (r: { url(): string }) => {
    if (r.url().includes('/api/submit_batch')) inFlight -= 1;
  };
  page.on('requestfinished', answered);
  page.on('requestfailed', answered);
  await page.route('**/api/submit_batch', async (route) => {
    sent += 1;
    if (sent === 2) secondSent();
    if (sent === 1) {
      await Promise.race([second, new Promise((resolve) => setTimeout(resolve, 10_000))]);
      sentWhenFirstWent = sent;
    }
    await route.continue();
  });
  await batch.submit();
  await expect(batch.summary()).toHaveText('501 of 501 invited', { timeout: 30_000 });
  expect(sentWhenFirstWent, 'the second chunk went before the first was answered').toBe(2);
  expect(sent, 'two chunks (500 and 1), each once').toBe(2);
  expect(mostInFlight, 'at most two at a time').toBeLessThanOrEqual(2);
  await expect(batch.row(2)).toContainText('Invited');
});
