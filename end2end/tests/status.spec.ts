import fs from 'node:fs';
import { expect, test } from './fixtures/test';
import Papa from 'papaparse';
import XLSX from 'xlsx';
import { expectAccessible, hydrated, linkIn, openBeforeInteractive, mailTo, signInAs, signUpAsWeiMing } from './fixtures/app';
import { rowOf, sendInvite, uniqueAgency } from './fixtures/status';

test('an invitee who signs up shows as Active with their name, without a reload', async ({ page, browser }) => {
  const agency = uniqueAgency();
  const address = `invitee@${agency}`;
  await signInAs(page, `boss@${agency}`);
  await page.goto('/invite-users/status');
  await hydrated(page);
  await expect(page.locator('.status-summary')).toHaveText('No one has been invited yet.');
  await expectAccessible(page, 'invite user status, empty');

  await sendInvite(page, address, 'Yes');
  await page.getByRole('link', { name: 'Invite user status' }).first().click();
  await expect(page.getByRole('heading', { level: 1, name: 'Invite user status' })).toBeVisible();
  const row = rowOf(page, address);
  await expect(row).toContainText('Invited');
  await expect(row).toContainText('Not known yet');
  await expect(row).toContainText('Email invitation');
  await expect(row).toContainText(`boss@${agency}`);
  await expect(row.getByRole('cell').nth(8)).toHaveText('Pending'); // SEED requested
  // The relay hands the email to the SMTP server; the page notices by itself.
  await expect(row.getByRole('cell').nth(9)).toHaveText('Sent', { timeout: 15_000 });
  await expectAccessible(page, 'invite user status, one invitation');
  await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));

  const link = linkIn(await mailTo(address));
  const invitee = await (await browser.newContext()).newPage();
  await invitee.goto(link);
  await hydrated(invitee);
  await invitee.getByRole('button', { name: 'Continue' }).click();
  await signUpAsWeiMing(invitee);

  await expect(row.getByRole('cell').nth(7)).toHaveText('Active', { timeout: 15_000 });
  await expect(row.getByRole('cell').nth(2)).toHaveText('Wei Ming Lim');
  expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);

  // The name they gave finds them, surname first or not.
  await page.getByLabel('Search by email or name').fill('lim wei');
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page).toHaveURL(/q=lim/);
  await expect(page.locator('.status-summary')).toHaveText('Showing 1–1 of 1 invitation');
  await expect(rowOf(page, address)).toContainText('Wei Ming Lim');
});

test('a search typed before the page is interactive is still there once it is', async ({ page }) => {
  await signInAs(page, 'boss@agency.gov.sg');
  const release = await openBeforeInteractive(page, '/invite-users/status');
  await page.getByLabel('Search by email or name').fill('lim wei');
  release();
  await hydrated(page);
  await expect(page.getByLabel('Search by email or name')).toHaveValue('lim wei');
});

test('search, filter and sort run on the server and stay in the address', async ({ page }) => {
  const agency = uniqueAgency();
  await signInAs(page, `boss@${agency}`);
  for (const name of ['carol', 'alice', 'bob']) await sendInvite(page, `${name}@${agency}`, 'No');

  await page.goto('/invite-users/status');
  await hydrated(page);
  await expect(page.locator('.status-summary')).toHaveText('Showing 1–3 of 3 invitations');
  const emails = () => page.locator('.status-table__email').allTextContents();
  // Newest first by default.
  expect(await emails()).toEqual([`bob@${agency}`, `alice@${agency}`, `carol@${agency}`]);

  await page.getByRole('link', { name: 'Email', exact: true }).click();
  await expect(page).toHaveURL(/sort=email/);
  await expect(page.getByRole('columnheader', { name: 'Email', exact: true })).toHaveAttribute('aria-sort', 'ascending');
  await expect.poll(emails).toEqual([`alice@${agency}`, `bob@${agency}`, `carol@${agency}`]);
  await page.getByRole('link', { name: 'Email', exact: true }).click();
  await expect(page.getByRole('columnheader', { name: 'Email', exact: true })).toHaveAttribute('aria-sort', 'descending');
  await expect.poll(emails).toEqual([`carol@${agency}`, `bob@${agency}`, `alice@${agency}`]);

  await page.getByLabel('Search by email or name').fill('ALI');
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page).toHaveURL(/q=ALI/);
  await expect.poll(emails).toEqual([`alice@${agency}`]);
  await expect(page.locator('.status-summary')).toHaveText('Showing 1–1 of 1 invitation');

  // A refresh keeps the search; a filter with no match says so.
  await page.reload();
  await hydrated(page);
  await expect(page.getByLabel('Search by email or name')).toHaveValue('ALI');
  await page.getByLabel('TechPass account status').selectOption('Active');
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page.locator('.status-summary')).toHaveText('No invitations match your search.');
  await expectAccessible(page, 'invite user status, no match');
  await page.getByRole('link', { name: 'Clear search and filter' }).click();
  await expect.poll(emails).toHaveLength(3);

  // The export holds what the page lists, in its order, and opens in both formats.
  const all = [`bob@${agency}`, `alice@${agency}`, `carol@${agency}`];
  await expect.poll(emails).toEqual(all);
  const csvDownload = page.waitForEvent('download');
  await page.getByRole('link', { name: 'CSV', exact: true }).click();
  const csvFile = await (await csvDownload).path();
  const parsed = Papa.parse<Record<string, string>>(fs.readFileSync(csvFile, 'utf8').replace(/^\uFEFF/, ''), {
    header: true,
    skipEmptyLines: true,
  });
  expect(parsed.errors).toEqual([]);
  expect(parsed.data.map((r) => r['Email address'])).toEqual(all);
  expect(parsed.data.map((r) => r['TechPass account status'])).toEqual(['Invited', 'Invited', 'Invited']);
  const xlsxDownload = page.waitForEvent('download');
  await page.getByRole('link', { name: 'Excel (.xlsx)' }).click();
  const book = XLSX.read(fs.readFileSync(await (await xlsxDownload).path()), { type: 'buffer' });
  const sheet = XLSX.utils.sheet_to_json<Record<string, string>>(book.Sheets['Invite user status']);
  expect(sheet.map((r) => r['Email address'])).toEqual(all);
});
