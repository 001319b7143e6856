import { expect, test } from './fixtures/test';
import { expectAccessible, hydrated, linkIn, mailTo, signInAs, signUpAsWeiMing } from './fixtures/app';
import { sendInvite } from './fixtures/status';

const unique = () => `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;

test('email invitation arrives by SMTP; the invitee continues, signs up and is active', async ({ page, browser }) => {
  const address = `invitee.${unique()}@agency.gov.sg`;
  await signInAs(page, 'boss@agency.gov.sg');
  await sendInvite(page, address, 'No');

  const mail = await mailTo(address);
  expect(mail).toContain('boss@agency.gov.sg has invited you');
  const link = linkIn(mail);

  // The invitee, in a browser of their own.
  const invitee = await (await browser.newContext()).newPage();
  await invitee.goto(link);
  await hydrated(invitee);
  await expect(invitee.getByRole('heading', { level: 1, name: 'Create your TechPass account' })).toBeVisible();
  await expectAccessible(invitee, 'invitation landing');
  await invitee.getByRole('button', { name: 'Continue' }).click();
  await expect(invitee.getByRole('heading', { level: 1, name: 'Your details' })).toBeVisible();
  await expect(invitee.getByRole('main')).toContainText(address);

  await invitee.getByRole('button', { name: 'Create account' }).click();
  await expect(invitee.locator('#first_name-error')).toContainText(/first name/i);
  await expectAccessible(invitee, 'sign-up errors');
  await signUpAsWeiMing(invitee);
  await expectAccessible(invitee, 'account active');

  // The same link cannot be used again.
  await invitee.goto(link);
  await hydrated(invitee);
  await invitee.getByRole('button', { name: 'Continue' }).click();
  await expect(invitee.getByRole('alert')).toContainText('already been used');
});

test('a created account is activated from its email', async ({ page, browser }) => {
  const address = `vendor.${unique()}@acme.example.com`;
  await signInAs(page, 'boss@agency.gov.sg');
  await page.goto('/invite-users/create');
  await hydrated(page);
  await page.getByLabel('Email address').fill(address);
  await page.getByLabel('TechPass username').fill(`v${unique()}`.slice(0, 20));
  await page.getByLabel('First name').fill('Ana');
  await page.getByLabel('Last name').fill('Cruz');
  await page.getByLabel('Contact number').fill('+63 917 123 4567');
  await page.getByLabel('Organisation').fill('Acme');
  await page.getByRole('group', { name: 'Is onboarding to SEED required?' }).getByLabel('Yes').check();
  await page.getByLabel('Reason').fill('Builds the app');
  await page.getByRole('button', { name: 'Submit' }).click();
  await expect(page.getByRole('status')).toContainText(`Account created for ${address}`);

  const invitee = await (await browser.newContext()).newPage();
  await invitee.goto(linkIn(await mailTo(address)));
  await hydrated(invitee);
  await invitee.getByRole('button', { name: 'Continue' }).click();
  await expect(invitee.getByRole('heading', { level: 1, name: 'Activate your TechPass account' })).toBeVisible();
  await expectAccessible(invitee, 'activate');
  await invitee.getByRole('button', { name: 'Activate account' }).click();
  await expect(invitee.getByRole('heading', { name: 'Your TechPass account is active' })).toBeVisible();
});
