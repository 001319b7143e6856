import crypto from 'node:crypto';
import { type Page } from '@playwright/test';
import { expect, test } from './fixtures/test';
import { expectAccessible, hydrated, linkIn, mailsTo, signUpAsWeiMing } from './fixtures/app';
import { inviteInNewAgency, rowOf } from './fixtures/status';

async function choose(page: Page, address: string, action: 'Resend' | 'Revoke') {
  await page.getByRole('checkbox', { name: `Select ${address}` }).check();
  await page.getByRole('button', { name: action, exact: true }).click();
  const dialog = page.getByRole('alertdialog');
  await expect(dialog).toContainText(`${action} 1 invitation?`);
  return dialog;
}

async function landing(page: Page, link: string) {
  await page.goto(link);
  await hydrated(page);
  await page.getByRole('button', { name: 'Continue' }).click();
}

test('Resend gives a new link and the old one stops working; Revoke withdraws the link', async ({ page, browser }) => {
  const address = await inviteInNewAgency(page, 'invitee', 'No');
  const first = linkIn((await mailsTo(address, 1))[0]);

  await page.goto('/invite-users/status');
  await hydrated(page);
  const row = rowOf(page, address);
  await expect(row).toContainText('Invited');

  // Cancel changes nothing.
  let dialog = await choose(page, address, 'Resend');
  await expectAccessible(page, 'resend confirmation');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(dialog).toBeHidden();
  await page.waitForTimeout(500);
  expect(await mailsTo(address, 1)).toHaveLength(1);

  dialog = await choose(page, address, 'Resend');
  await dialog.getByRole('button', { name: 'Resend' }).click();
  await expect(page.locator('.status-outcome')).toContainText('Sent a new link to 1 person');
  const mails = await mailsTo(address, 2);
  const second = linkIn(mails[1]);
  expect(second).not.toEqual(first);
  expect(mails[1]).toContain('replaces the one in earlier emails');

  const invitee = await (await browser.newContext()).newPage();
  await landing(invitee, first);
  await expect(invitee.getByRole('alert')).toContainText('replaced by a newer email');
  await landing(invitee, second);
  await expect(invitee.getByRole('heading', { level: 1, name: 'Your details' })).toBeVisible();

  dialog = await choose(page, address, 'Revoke');
  await dialog.getByRole('button', { name: 'Revoke' }).click();
  await expect(page.locator('.status-outcome')).toContainText('Revoked 1 invitation');
  await expect(row.getByRole('cell').nth(7)).toHaveText('Revoked');
  await landing(invitee, second);
  await expect(invitee.getByRole('alert')).toContainText('withdrawn');
  await expectAccessible(invitee, 'revoked link');

  // A revoked invitation cannot be resent: the outcome says why.
  dialog = await choose(page, address, 'Resend');
  await dialog.getByRole('button', { name: 'Resend' }).click();
  await expect(page.locator('.status-outcome')).toContainText(`${address} was revoked`);
  await expectAccessible(page, 'status after actions');
});

test('an existing account holder can be asked for SEED onboarding, once', async ({ page, browser }) => {
  const address = await inviteInNewAgency(page, 'holder', 'No');
  const invitee = await (await browser.newContext()).newPage();
  await landing(invitee, linkIn((await mailsTo(address, 1))[0]));
  await signUpAsWeiMing(invitee);

  await page.goto('/invite-users/status');
  await hydrated(page);
  const row = rowOf(page, address);
  await expect(row.getByRole('cell').nth(7)).toHaveText('Active');
  const request = row.getByRole('button', { name: `Request SEED onboarding for ${address}` });
  await request.click();
  let dialog = page.getByRole('alertdialog');
  await expect(dialog).toContainText('Request SEED onboarding for 1 invitation?');
  await expectAccessible(page, 'SEED request confirmation');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(dialog).toBeHidden();
  await expect(row.getByRole('cell').nth(8)).toContainText('Not requested');

  await request.click();
  dialog = page.getByRole('alertdialog');
  await dialog.getByRole('button', { name: 'Request' }).click();
  await expect(page.locator('.status-outcome')).toContainText('Requested SEED onboarding for 1 person');
  await expect(row.getByRole('cell').nth(8)).toHaveText('Pending');
  const mails = await mailsTo(address, 2);
  expect(mails[1]).toContain('You are asked to onboard to SEED');
  expect(mails[1]).toContain('https://docs.developer.tech.gov.sg/docs/techpass-user-guide/#/onboard-to-seed');

  // Asking again, through the selection, is refused with the reason and mails nothing.
  await page.getByRole('checkbox', { name: `Select ${address}` }).check();
  await page.getByRole('button', { name: 'Request SEED onboarding', exact: true }).click();
  await page.getByRole('alertdialog').getByRole('button', { name: 'Request' }).click();
  await expect(page.locator('.status-outcome')).toContainText(`${address} already has SEED onboarding pending`);
  await page.waitForTimeout(500);
  expect(await mailsTo(address, 2)).toHaveLength(2);
  await expectAccessible(page, 'status after the SEED request');
});

test('SEED reports change the SEED column; unsigned or wrongly signed reports are refused', async ({ page, request }) => {
  const address = await inviteInNewAgency(page, 'seed.user', 'Yes');
  await page.goto('/invite-users/status');
  await hydrated(page);
  const seedCell = rowOf(page, address).getByRole('cell').nth(8);
  await expect(seedCell).toHaveText('Pending');

  // The e2e server runs with development sign-in and no SEED secret: the development one.
  const body = JSON.stringify({ reports: [{ email: address, status: 'licensed' }] });
  const t = Math.floor(Date.now() / 1000);
  const sign = (secret: string) =>
    `t=${t},v1=${crypto.createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
  const post = (signature?: string) =>
    request.post('/webhooks/seed', {
      headers: { 'content-type': 'application/json', ...(signature ? { 'x-seed-signature': signature } : {}) },
      data: body,
    });
  expect((await post()).status()).toBe(401);
  expect((await post(sign('not-the-secret'))).status()).toBe(401);
  await page.waitForTimeout(4000); // longer than the page's polling interval
  await expect(seedCell).toHaveText('Pending');

  expect((await post(sign('dev-seed-secret'))).status()).toBe(200);
  await expect(seedCell).toHaveText('Licensed', { timeout: 15_000 });
});
