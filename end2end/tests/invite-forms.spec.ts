import { type Page } from '@playwright/test';
import { expect, test } from './fixtures/test';
import { expectAccessible, holdPageCode, hydrated, openBeforeInteractive, signInAs } from './fixtures/app';

// One server serves the whole run: every test uses addresses of its own.
const unique = () => `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;

async function open(page: Page, type: 'Email invitation' | 'Create account') {
  await signInAs(page, 'boss@agency.gov.sg');
  await page.getByRole('link', { name: 'Invite users', exact: true }).click();
  await page.getByRole('link', { name: type }).click();
  await expect(page.getByRole('heading', { level: 1, name: type })).toBeVisible();
  await hydrated(page);
}

const seed = (page: Page) => page.getByRole('group', { name: 'Is onboarding to SEED required?' });

test('email invitation: every empty field is named, fixed, sent, and a repeat is refused', async ({ page }) => {
  await open(page, 'Email invitation');
  await expectAccessible(page, 'email invitation form');

  await page.getByRole('button', { name: 'Submit' }).click();
  const summary = page.getByRole('alert');
  await expect(summary).toContainText('There is a problem');
  await expect(summary.getByRole('link')).toHaveCount(3);
  await expect(page).toHaveTitle(/^Error: Email invitation/);
  await expect(page.getByLabel('Email address')).toHaveAttribute('aria-invalid', 'true');
  await expect(page.locator('#reason-error')).toContainText(/reason/i);
  await expectAccessible(page, 'email invitation errors');
  await summary.getByRole('link').first().click();
  await expect(page.getByLabel('Email address')).toBeFocused();

  // Leaving a field checks it with the shared rules: vendors are pointed to Create account.
  await page.getByLabel('Email address').fill('someone@example.com');
  await page.getByLabel('Reason').focus();
  await expect(page.locator('#email-error')).toContainText('Create account');

  const address = `officer.${unique()}@agency.gov.sg`;
  await page.getByLabel('Email address').fill(address);
  await page.getByLabel('Reason').focus();
  await expect(page.locator('#email-error')).toHaveCount(0);
  await seed(page).getByLabel('Yes').check();
  await page.getByLabel('Reason').fill('Joins the platform team');
  await page.getByRole('button', { name: 'Submit' }).click();

  const done = page.getByRole('status');
  await expect(done).toContainText(`Invitation sent to ${address}`);
  await expect(page.getByRole('link', { name: 'See Invite user status' })).toBeVisible();
  await expectAccessible(page, 'email invitation sent');

  await page.getByRole('button', { name: 'Invite another user' }).click();
  await expect(page.getByLabel('Email address')).toHaveValue('');
  await page.getByLabel('Email address').fill(address.toUpperCase());
  await seed(page).getByLabel('No').check();
  await page.getByLabel('Reason').fill('Again');
  await page.getByRole('button', { name: 'Submit' }).click();
  await expect(page.locator('#email-error')).toContainText('already has a pending invitation');
  await expect(page.getByLabel('Reason')).toHaveValue('Again');
});

test('what is typed before the page is interactive is kept, and sent', async ({ page }) => {
  await signInAs(page, 'boss@agency.gov.sg');
  // On a slow line the form shows seconds before the page's code runs.
  const release = await openBeforeInteractive(page, '/invite-users/email');
  const address = `early.${unique()}@agency.gov.sg`;
  await page.getByLabel('Email address').fill(address);
  await seed(page).getByLabel('No').check();
  await page.getByLabel('Reason').fill('Typed while the page loaded');
  expect(await page.locator('body').getAttribute('data-hydrated')).toBeNull();
  release();
  await hydrated(page);
  await expect(page.getByLabel('Email address')).toHaveValue(address);
  await expect(seed(page).getByLabel('No')).toBeChecked();
  await expect(page.getByLabel('Reason')).toHaveValue('Typed while the page loaded');
  await page.getByRole('button', { name: 'Submit' }).click();
  await expect(page.getByRole('status')).toContainText(`Invitation sent to ${address}`);
});

test('create account: a username typed for a public officer before the page is interactive goes, with no message on the greyed-out field', async ({ page }) => {
  await signInAs(page, 'boss@agency.gov.sg');
  const release = await openBeforeInteractive(page, '/invite-users/create');
  const address = `early.officer.${unique()}@tech.gov.sg`;
  // Before the page is interactive the field cannot be greyed out yet.
  await page.getByLabel('Email address').fill(address);
  await page.getByLabel('TechPass username').fill('someone');
  release();
  await hydrated(page);
  await expect(page.getByLabel('Email address')).toHaveValue(address);
  await expect(page.getByLabel('TechPass username')).toBeDisabled();
  await expect(page.getByLabel('TechPass username')).toHaveValue('');
  await page.getByLabel('Email address').focus();
  await page.getByLabel('Reason').focus();
  await expect(page.locator('#email-error')).toHaveCount(0);
  await expect(page.locator('#username-error')).toHaveCount(0);
});

test('a form submitted before the page is interactive is sent once it is: its errors shown, nothing typed lost', async ({ page }) => {
  await signInAs(page, 'boss@agency.gov.sg');
  const release = await openBeforeInteractive(page, '/invite-users/email');
  const address = `submitted.early.${unique()}@agency.gov.sg`;
  await page.getByLabel('Email address').fill(address);
  await page.getByLabel('Reason').fill('Sent while the page loaded');
  // Without an answer to the SEED question: the page, once interactive, names it.
  await page.getByRole('button', { name: 'Submit' }).click();
  // The officer is told the form waits for the page.
  await expect(page.getByRole('status').filter({ hasText: 'will be sent as soon as' })).toHaveText(
    'Your form will be sent as soon as this page has finished loading.',
  );
  await page.waitForTimeout(300);
  expect(new URL(page.url()).pathname).toBe('/invite-users/email');
  expect(await page.locator('body').getAttribute('data-hydrated')).toBeNull();
  release();
  await hydrated(page);
  await expect(page.getByText('will be sent as soon as')).toHaveCount(0);
  await expect(page.getByRole('alert')).toContainText('There is a problem');
  await expect(page.locator('#seed_required-error')).toBeVisible();
  await expect(page.getByLabel('Email address')).toHaveValue(address);
  await expect(page.getByLabel('Reason')).toHaveValue('Sent while the page loaded');
  await seed(page).getByLabel('Yes').check();
  await page.getByRole('button', { name: 'Submit' }).click();
  await expect(page.getByRole('status')).toContainText(`Invitation sent to ${address}`);
});

const NOT_SENT =
  'This page could not finish loading, so your form has not been sent. Check your connection, then reload the page and send it again.';

/** Requests the page makes to server functions (a native post of the form would be one). */
function apiCalls(page: Page) {
  const calls: string[] = [];
  page.on('request', (r) => {
    if (new URL(r.url()).pathname.startsWith('/api/')) calls.push(r.url());
  });
  return calls;
}

async function fillEmailInvitation(page: Page, address: string) {
  await page.getByLabel('Email address').fill(address);
  await seed(page).getByLabel('Yes').check();
  await page.getByLabel('Reason').fill('Sent while the page failed to load');
}

test('a form submitted before the page is interactive, on a page whose code then fails to load, says it was not sent instead of waiting for ever', async ({ page, csp }) => {
  await signInAs(page, 'boss@agency.gov.sg');
  // The page's wasm is held, then refused: the page stays as the server rendered it.
  const fail = await holdPageCode(page, { fail: true });
  const calls = apiCalls(page);
  await page.goto('/invite-users/email', { waitUntil: 'domcontentloaded' });
  const address = `never.sent.${unique()}@agency.gov.sg`;
  await fillEmailInvitation(page, address);
  await page.getByRole('button', { name: 'Submit' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'will be sent as soon as' })).toBeVisible();
  await expect(page.locator('form[aria-busy="true"]')).toHaveCount(1);
  fail();
  await expect(page.getByRole('alert').filter({ hasText: 'could not finish loading' })).toHaveText(NOT_SENT);
  await expect(page.getByText('will be sent as soon as')).toHaveCount(0);
  await expect(page.locator('form[aria-busy]')).toHaveCount(0);
  // A second try is told the same again (the note emptied, then said again), and nothing is
  // posted natively (the function's raw answer) either.
  await page.getByRole('alert').filter({ hasText: 'could not finish loading' }).evaluate((note) => {
    note.textContent = '';
  });
  await page.getByRole('button', { name: 'Submit' }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'could not finish loading' })).toHaveText(NOT_SENT);
  await page.waitForTimeout(300);
  expect(new URL(page.url()).pathname).toBe('/invite-users/email');
  await expect(page.getByLabel('Email address')).toHaveValue(address);
  expect(calls).toEqual([]);
  // The page's failure to load, as arranged.
  expect(csp.takeThrown().length).toBeGreaterThan(0);
});

test('a page whose code fails before the page is interactive, and before the script of the note has come, still says a form sent on it was not sent', async ({ page, csp }) => {
  await signInAs(page, 'boss@agency.gov.sg');
  await page.route('**/pkg/techbiz-invite.wasm', (route) => route.abort());
  // The note's script comes only once the page's code has failed.
  let thrown = () => {};
  const failedFirst = new Promise<void>((resolve) => {
    thrown = resolve;
  });
  page.on('pageerror', () => thrown());
  await page.route('**/hold-submit.js', async (route) => {
    await failedFirst;
    await route.continue();
  });
  const calls = apiCalls(page);
  await page.goto('/invite-users/email', { waitUntil: 'domcontentloaded' });
  await failedFirst;
  await page.waitForFunction(() => document.querySelector('.held-submit') !== null);
  await fillEmailInvitation(page, `never.sent.${unique()}@agency.gov.sg`);
  await page.getByRole('button', { name: 'Submit' }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'could not finish loading' })).toHaveText(NOT_SENT);
  await page.waitForTimeout(300);
  expect(new URL(page.url()).pathname).toBe('/invite-users/email');
  expect(calls).toEqual([]);
  expect(csp.takeThrown().length).toBeGreaterThan(0);
});

test('create account: the username is required for a vendor and greyed out for an officer', async ({ page }) => {
  await open(page, 'Create account');
  await expectAccessible(page, 'create account form');
  const username = page.getByLabel('TechPass username');

  await page.getByLabel('Email address').fill(`peer.${unique()}@tech.gov.sg`);
  await page.getByLabel('First name').focus();
  await expect(username).toBeDisabled();
  await expect(page.locator('#username-hint')).toContainText('comes from their email address');

  const vendorEmail = `dev.${unique()}@acme.example.com`;
  await page.getByLabel('Email address').fill(vendorEmail);
  await page.getByLabel('First name').focus();
  await expect(username).toBeEnabled();

  await page.getByLabel('Contact number').fill('12ab');
  await page.getByLabel('Organisation').focus();
  await expect(page.locator('#contact_number-error')).toContainText(/contact number/i);

  await page.getByRole('button', { name: 'Submit' }).click();
  await expect(page.getByRole('alert')).toContainText('There is a problem');
  await expect(page.locator('#username-error')).toContainText(/username/i);
  await expect(page.locator('#first_name-error')).toContainText(/first name/i);
  await expect(page.locator('#last_name-error')).toContainText(/last name/i);
  await expect(page.locator('#organisation-error')).toContainText(/organisation/i);
  await expect(page.getByLabel('Contact number')).toHaveValue('12ab');
  await expectAccessible(page, 'create account errors');

  await username.fill(`dev${unique()}`.slice(0, 20));
  await page.getByLabel('First name').fill('Mei Ling');
  await page.getByLabel('Last name').fill('Tan');
  await page.getByLabel('Contact number').fill('+65 9123 4567');
  await page.getByLabel('Organisation').fill('Acme Pte Ltd');
  await seed(page).getByLabel('No').check();
  await page.getByLabel('Reason').fill('Vendor developer');
  await page.getByRole('button', { name: 'Submit' }).click();
  await expect(page.getByRole('status')).toContainText(`Account created for ${vendorEmail}`);
  await expectAccessible(page, 'account created');
});

test('a click is never lost: an error that appears as a field is left waits until the click has landed', async ({ page }) => {
  await open(page, 'Email invitation');
  const email = page.getByLabel('Email address');
  const no = seed(page).getByLabel('No');

  // Pressing No moves focus out of the address field, whose error would push No down
  // between the press and the release; locator.click() is a real press and release.
  await email.fill('someone@gmail.com');
  await no.click();
  await expect(no, 'the click on No landed').toBeChecked();
  await expect(page.locator('#email-error')).toContainText('Create account');

  // Tab still checks at once.
  await email.fill(`ok.${unique()}@agency.gov.sg`);
  await email.press('Tab');
  await expect(page.locator('#email-error')).toHaveCount(0);

  await email.fill('someone@gmail.com');
  await page.getByRole('button', { name: 'Submit' }).click();
  await expect(page.getByRole('alert'), 'the click on Submit landed').toContainText('There is a problem');
  await expect(page).toHaveTitle(/^Error: Email invitation/);
  await expect(page.locator('#email-error')).toContainText('Create account');
});
