// Runs after every other test (the "clock" project in playwright.config.ts): it moves the
// server's clock on, which would expire the invitations of tests running beside it.
import { expect, test } from './fixtures/test';
import { hydrated, linkIn, mailsTo } from './fixtures/app';
import { inviteInNewAgency, rowOf } from './fixtures/status';

test.afterAll(async ({ request }) => {
  await request.post('/dev/clock', { form: { reset: '1' } });
});

test('an invitation past its days shows as Expired, its link says so, and Resend revives it', async ({ page, request }) => {
  const address = await inviteInNewAgency(page, 'late', 'No');
  const link = linkIn((await mailsTo(address, 1))[0]);

  const moved = await request.post('/dev/clock', { form: { advance_days: '15' } });
  expect(moved.status()).toBe(200);
  await page.goto('/invite-users/status');
  await hydrated(page);
  const row = rowOf(page, address);
  await expect(row.getByRole('cell').nth(7)).toContainText('Expired');
  await page.getByLabel('TechPass account status').selectOption('Expired');
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page.locator('.status-summary')).toHaveText('Showing 1–1 of 1 invitation');

  const invitee = await (await page.context().browser()!.newContext()).newPage();
  await invitee.goto(link);
  await hydrated(invitee);
  await invitee.getByRole('button', { name: 'Continue' }).click();
  await expect(invitee.getByRole('alert')).toContainText('expired');

  await row.getByRole('button', { name: `Resend to ${address}` }).click();
  await page.getByRole('alertdialog').getByRole('button', { name: 'Resend' }).click();
  await expect(page.locator('.status-outcome')).toContainText('Sent a new link to 1 person');
  const fresh = linkIn((await mailsTo(address, 2))[1]);
  await invitee.goto(fresh);
  await hydrated(invitee);
  await invitee.getByRole('button', { name: 'Continue' }).click();
  await expect(invitee.getByRole('heading', { level: 1, name: 'Your details' })).toBeVisible();
});
