import { expect, test } from './fixtures/test';
import { expectAccessible, hydrated, linkIn, mailTo, signInAs } from './fixtures/app';
import { BatchPage, csv, unique, type Row } from './fixtures/batch';
import { rowOf, uniqueAgency } from './fixtures/status';

test('a batch invitee activates from the mailed link and shows as Active with their name', async ({ page, browser }) => {
  const agency = uniqueAgency();
  const u = unique();
  const address = `siew.ling.${u}@acme.example.com`;
  const row: Row = [
    address, `sl${u}`.slice(0, 30), 'Siew Ling', 'Goh', '+65 9123 4567', 'Acme Pte Ltd', '', 'No', 'Builds the portal',
  ];
  await signInAs(page, `boss@${agency}`);
  await page.goto('/invite-users/batch');
  await hydrated(page);
  const batch = new BatchPage(page);
  await batch.uploadBuffer(`team-${u}.csv`, csv([row]));
  await expect(batch.counts()).toHaveText('1 user');
  await batch.submit();
  await expect(batch.summary()).toHaveText('1 of 1 invited');

  // The invitee, in a browser of their own, from the link in the email.
  const mail = await mailTo(address);
  expect(mail).toContain(`boss@${agency} has created a TechPass account for you`);
  const invitee = await (await browser.newContext()).newPage();
  await invitee.goto(linkIn(mail));
  await hydrated(invitee);
  await invitee.getByRole('button', { name: 'Continue' }).click();
  await expect(invitee.getByRole('heading', { level: 1, name: 'Activate your TechPass account' })).toBeVisible();
  await expect(invitee.getByRole('main')).toContainText(address);
  await expectAccessible(invitee, 'a batch invitee activates');
  await invitee.getByRole('button', { name: 'Activate account' }).click();
  await expect(invitee.getByRole('heading', { name: 'Your TechPass account is active' })).toBeVisible();

  await page.goto('/invite-users/status');
  await hydrated(page);
  const status = rowOf(page, address);
  await expect(status.getByRole('cell').nth(7)).toHaveText('Active');
  await expect(status.getByRole('cell').nth(2)).toHaveText('Siew Ling Goh');
});
