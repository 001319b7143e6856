import { expect, test } from './fixtures/test';
import { BatchPage, csv, unique, type Row } from './fixtures/batch';

// Runs last (the `chunks` project, after the clock test): its 1,001 accounts and emails would
// keep the SCIM server and the mail relay busy under the other tests' waits for their mail.

const officer = (email: string): Row => [
  email, '', 'Ann', 'Tan', '+65 9123 4567', 'GovTech', 'Platform', 'Yes', 'Joins the platform team',
];

test('a list of three chunks is sent two at a time, and every row is invited', async ({ page }) => {
  const u = unique();
  const batch = new BatchPage(page);
  // An officer of its own: the invitations count against nobody else's hourly quota.
  await batch.open(`long.${u}@agency.gov.sg`);
  const rows: Row[] = Array.from({ length: 1001 }, (_, i) => officer(`p${i}.${u}@tech.gov.sg`));
  await batch.uploadBuffer(`long-${u}.csv`, csv(rows));
  await expect(batch.counts()).toHaveText('1,001 users');

  // The first chunk (500 rows) is held back until the second has been sent: a page that
  // waited for each answer before sending the next would send no second one (the hold ends
  // after 10 s). The third (1 row) may go only once the first has been answered.
  let sent = 0;
  let sentWhenFirstWent = 0;
  let firstAnswered = false;
  let firstAnsweredWhenThirdWent: boolean | undefined;
  let secondSent!: () => void;
  const second = new Promise<void>((resolve) => (secondSent = resolve));
  await page.route('**/api/submit_batch', async (route) => {
    sent += 1;
    const n = sent;
    if (n === 2) secondSent();
    if (n === 3) firstAnsweredWhenThirdWent = firstAnswered;
    if (n !== 1) return route.continue();
    await Promise.race([second, new Promise((resolve) => setTimeout(resolve, 10_000))]);
    sentWhenFirstWent = sent;
    const response = await route.fetch();
    // (Before the page can have it.)
    firstAnswered = true;
    await route.fulfill({ response });
  });
  await batch.submit();
  await expect(batch.summary()).toHaveText('1,001 of 1,001 invited', { timeout: 30_000 });
  expect(sentWhenFirstWent, 'the second chunk went before the first was answered').toBe(2);
  expect(sent, 'three chunks (500, 500, 1), each once').toBe(3);
  expect(firstAnsweredWhenThirdWent, 'the third went only after the first answer: two at a time').toBe(true);
  await expect(batch.row(2)).toContainText('Invited');
});
