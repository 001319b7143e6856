import { type Page } from '@playwright/test';
import { expect, test } from './fixtures/test';
import { hydrated } from './fixtures/app';
import { BatchPage, csv, type Row, unique } from './fixtures/batch';
import { rowOf, uniqueAgency } from './fixtures/status';

// The main server's directory is a real SCIM 2.0 server (playwright.config.ts): accounts made
// through Create account and Batch upload are users there, and Invite user status shows them.
const scimUrl = process.env.E2E_SCIM_URL as string;

/** The SCIM server's users whose emails.value is `email`. */
async function scimUsers(email: string): Promise<{ userName: string; externalId: string; active: boolean }[]> {
  const filter = encodeURIComponent(`emails.value eq "${email}"`);
  const res = await fetch(`${scimUrl}/Users?filter=${filter}`, {
    headers: { Authorization: 'Bearer e2e-scim-token' },
  });
  expect(res.status).toBe(200);
  return (await res.json()).Resources;
}

async function createAccount(page: Page, email: string, username: string, first: string, last: string) {
  await page.goto('/invite-users/create');
  await hydrated(page);
  await page.getByLabel('Email address').fill(email);
  await page.getByLabel('First name').focus();
  if (username) await page.getByLabel('TechPass username').fill(username);
  await page.getByLabel('First name').fill(first);
  await page.getByLabel('Last name').fill(last);
  await page.getByLabel('Contact number').fill('+65 9123 4567');
  await page.getByLabel('Organisation').fill('Acme Pte Ltd');
  await page.getByRole('group', { name: 'Is onboarding to SEED required?' }).getByLabel('No').check();
  await page.getByLabel('Reason').fill('Joins the project');
  await page.getByRole('button', { name: 'Submit' }).click();
  await expect(page.getByRole('status')).toContainText(`Account created for ${email}`);
}

test('Create account and a batch upload make users in the SCIM directory, shown as Created with their names', async ({ page }) => {
  const agency = uniqueAgency();
  const u = unique();
  const batch = new BatchPage(page);
  await batch.open(`boss@${agency}`);

  const vendorEmail = `mei.${u}@acme.example.com`;
  const vendorName = `mei${u}`.slice(0, 20);
  await createAccount(page, vendorEmail, vendorName, 'Mei Ling', 'Tan');

  const rows: Row[] = [
    [`ann.${u}@${agency}`, '', 'Ann', 'Lee', '+65 9123 4567', 'GovTech', '', 'Yes', 'Joins the platform team'],
    [`raj.${u}@acme.example.com`, `raj${u}`.slice(0, 20), 'Raj', 'Kumar', '+65 9123 4568', 'Acme', 'Data', 'No', 'Vendor developer'],
  ];
  await page.goto('/invite-users/batch');
  await hydrated(page);
  await batch.uploadBuffer(`scim-${u}.csv`, csv(rows));
  await expect(batch.counts()).toHaveText('2 users');
  await batch.submit();
  await expect(batch.summary()).toHaveText('2 of 2 invited');

  await page.goto('/invite-users/status');
  await hydrated(page);
  for (const [email, name] of [
    [vendorEmail, 'Mei Ling Tan'],
    [rows[0][0], 'Ann Lee'],
    [rows[1][0], 'Raj Kumar'],
  ]) {
    const row = rowOf(page, email);
    await expect(row.getByRole('cell').nth(7)).toHaveText('Created', { timeout: 15_000 });
    await expect(row.getByRole('cell').nth(2)).toHaveText(name);
    const users = await scimUsers(email);
    expect(users).toHaveLength(1);
    expect(users[0].active).toBe(false);
  }
  expect((await scimUsers(vendorEmail))[0].userName).toBe(vendorName);
  expect((await scimUsers(rows[0][0]))[0].userName).toBe(rows[0][0]);
});
