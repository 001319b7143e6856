import { type Page } from '@playwright/test';
import { expect, test } from './fixtures/test';
import { hydrated } from './fixtures/app';

// This project's server signs in through a real OpenID provider (oidc-provider, started by
// playwright.config.ts from end2end/oidc/provider.mjs) with its own login and consent pages.

const unique = () => `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;

/** On the provider's login page: signs in as `email` (every test account's password is `password`). */
async function atProviderSignIn(page: Page, email: string) {
  await expect(page.getByLabel('Password')).toBeVisible();
  expect(new URL(page.url()).port, 'the login page is the provider\'s').not.toBe(new URL(test.info().project.use.baseURL!).port);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('password');
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Signs in through the provider from a page of the app, allowing access when asked. */
async function signInThroughProvider(page: Page, email: string, path = '/') {
  await page.goto(path);
  await atProviderSignIn(page, email);
  const allow = page.getByRole('button', { name: 'Allow' });
  // The provider asks for consent once per account and client.
  await Promise.race([
    allow.waitFor().then(() => allow.click()),
    page.waitForURL((u) => u.origin === new URL(test.info().project.use.baseURL!).origin),
  ]);
  await expect(page.getByText(`Signed in as ${email}`, { exact: true })).toBeVisible();
  await hydrated(page);
}

test('an officer signs in through the provider, invites, signs out of both', async ({ page }) => {
  await signInThroughProvider(page, 'officer.one@tech.gov.sg', '/invite-users');
  await expect(page, 'back on the page the sign-in began from').toHaveURL(/\/invite-users$/);

  await page.getByRole('link', { name: 'Email invitation' }).click();
  const address = `colleague.${unique()}@tech.gov.sg`;
  await page.getByLabel('Email address').fill(address);
  await page.getByRole('group', { name: 'Is onboarding to SEED required?' }).getByLabel('No').check();
  await page.getByLabel('Reason').fill('Joins the platform team');
  await page.getByRole('button', { name: 'Submit' }).click();
  await expect(page.getByRole('status')).toContainText(`Invitation sent to ${address}`);

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'You have signed out' })).toBeVisible();
  await page.goto('/invite-users/status');
  // The provider's session ended too: it asks for the password again rather than signing in.
  await expect(page.getByLabel('Password')).toBeVisible();
});

test('an officer of another agency sees none of the first one\'s invitations', async ({ browser }) => {
  const first = await (await browser.newContext()).newPage();
  await signInThroughProvider(first, 'officer.one@tech.gov.sg', '/invite-users/email');
  const address = `only.tech.${unique()}@tech.gov.sg`;
  await first.getByLabel('Email address').fill(address);
  await first.getByRole('group', { name: 'Is onboarding to SEED required?' }).getByLabel('No').check();
  await first.getByLabel('Reason').fill('Agency separation');
  await first.getByRole('button', { name: 'Submit' }).click();
  await expect(first.getByRole('status')).toContainText(`Invitation sent to ${address}`);
  await first.goto('/invite-users/status');
  await expect(first.getByText(address)).toBeVisible();

  const second = await (await browser.newContext()).newPage();
  await signInThroughProvider(second, 'officer.two@hdb.gov.sg', '/invite-users/status');
  await expect(second.getByRole('heading', { level: 1, name: 'Invite user status' })).toBeVisible();
  await expect(second.getByText(address)).toHaveCount(0);
});

test('a Subscription Admin invites for the agency the provider names', async ({ page }) => {
  await signInThroughProvider(page, 'admin@partner.example.com', '/invite-users');
  await expect(page.getByRole('heading', { level: 1, name: 'Invite users' })).toBeVisible();
});

test('a vendor and an unverified address are told why they cannot go on', async ({ browser }) => {
  const vendor = await (await browser.newContext()).newPage();
  await signInThroughProvider(vendor, 'vendor@vendor.example.com', '/invite-users');
  await expect(vendor.getByRole('heading', { level: 1, name: 'Only public officers can invite users' })).toBeVisible();

  const unverified = await (await browser.newContext()).newPage();
  await unverified.goto('/');
  await atProviderSignIn(unverified, 'unverified@tech.gov.sg');
  await unverified.getByRole('button', { name: 'Allow' }).click();
  await expect(unverified.getByRole('heading', { level: 1, name: 'Your email address is not verified' })).toBeVisible();
  await expect(unverified.locator('.notice__trace code')).toHaveText(/^[0-9a-f]{32}$/);
  await expect(unverified.getByRole('link', { name: 'Try again' })).toBeVisible();
});

test('declining consent says so, with Try again and the Trace ID', async ({ browser }) => {
  const page = await (await browser.newContext()).newPage();
  await page.goto('/invite-users');
  await atProviderSignIn(page, 'officer.two@hdb.gov.sg');
  await page.getByRole('button', { name: 'Deny' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'You did not allow TechBiz Invite to sign you in' })).toBeVisible();
  const trace = (await page.locator('.notice__trace code').textContent())?.trim();
  expect(trace).toMatch(/^[0-9a-f-]{8,}$/i);
  const support = page.getByRole('link', { name: /email techbiz-support@tech\.gov\.sg/ });
  await expect(support).toHaveAttribute('href', new RegExp(trace!));
  await page.getByRole('link', { name: 'Try again' }).click();
  await page.getByRole('button', { name: 'Allow' }).click();
  await expect(page).toHaveURL(/\/invite-users$/);
  await expect(page.getByText('Signed in as officer.two@hdb.gov.sg', { exact: true })).toBeVisible();
});
