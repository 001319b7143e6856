import type { APIRequestContext } from '@playwright/test';
import { expect, test } from './fixtures/test';
import { expectAccessible, hydrated, SignInPage, signInAs } from './fixtures/app';

test('an officer signs in, sees the Overview and the three invitation types', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));

  const signIn = new SignInPage(page);
  await signIn.goto();
  await expect(page).toHaveTitle('Sign in – TechBiz Invite');
  await expectAccessible(page, 'sign-in page');
  await signIn.signIn('officer@agency.gov.sg');

  await expect(page.getByRole('heading', { level: 1, name: 'Overview' })).toBeVisible();
  await expect(page.getByRole('banner')).toContainText('Signed in as officer@agency.gov.sg');
  const nav = page.getByRole('navigation', { name: 'Main' });
  for (const name of ['Overview', 'Invite Users', 'Invite user status']) {
    await expect(nav.getByRole('link', { name, exact: true })).toBeVisible();
  }
  await expectAccessible(page, 'Overview');

  await page.getByRole('link', { name: 'Invite users', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Invite users' })).toBeVisible();
  const table = page.getByRole('table', { name: 'Invitation types' });
  await expect(table.getByRole('row')).toHaveCount(4);
  await expect(table.getByRole('row', { name: /Email invitation/ })).toContainText(
    'To send an email invite to a public officer to create a TechPass account.',
  );
  await expect(table.getByRole('row', { name: /Create account/ })).toContainText(
    'To create a TechPass account on behalf of a public officer or a vendor.',
  );
  await expect(table.getByRole('row', { name: /Batch upload/ })).toContainText(
    'To create TechPass accounts for multiple users, including public officers and vendors.',
  );
  await expectAccessible(page, 'Invite users');
  expect(errors, 'no script errors').toEqual([]);
});

test('the sidebar reaches every page, each accessible', async ({ page }) => {
  await signInAs(page, 'officer@tech.gov.sg');
  const nav = page.getByRole('navigation', { name: 'Main' });
  await nav.getByRole('link', { name: 'Invite user status' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Invite user status' })).toBeVisible();
  await expect(nav.getByRole('link', { name: 'Invite user status' })).toHaveAttribute('aria-current', 'page');
  await expectAccessible(page, 'Invite user status');
  await nav.getByRole('link', { name: 'Invite Users', exact: true }).click();
  for (const type of ['Email invitation', 'Create account', 'Batch upload']) {
    await page.getByRole('link', { name: type }).click();
    await expect(page.getByRole('heading', { level: 1, name: type })).toBeVisible();
    await expectAccessible(page, type);
    await page.goBack();
  }
});

test('a vendor is refused with a clear message', async ({ page }) => {
  const signIn = new SignInPage(page);
  await signIn.goto();
  await signIn.signIn('vendor@example.com');
  await expect(
    page.getByRole('heading', { level: 1, name: 'Only public officers can invite users' }),
  ).toBeVisible();
  await expect(page.getByRole('main')).toContainText('You are signed in as vendor@example.com');
  await expect(page.getByRole('main')).toContainText('gov.sg');
  await expectAccessible(page, 'vendor refusal');
  // Going straight to the invite page gives the same answer from the server.
  const res = await page.goto('/invite-users');
  expect(res?.status()).toBe(403);
  await expect(page.getByRole('link', { name: 'Batch upload' })).toHaveCount(0);
});

test('a bad address gets an error summary that links to the field, and keeps the value', async ({ page }) => {
  const signIn = new SignInPage(page);
  await signIn.goto();
  await signIn.signIn('officer@@agency.gov.sg');
  const summary = page.getByRole('alert');
  await expect(summary).toContainText('There is a problem');
  await expect(page).toHaveTitle(/^Error: Sign in/);
  await expect(signIn.email()).toHaveValue('officer@@agency.gov.sg');
  await expect(signIn.email()).toHaveAttribute('aria-invalid', 'true');
  await expect(page.locator('#email-error')).toContainText('correct format');
  await expectAccessible(page, 'sign-in error state');
  await summary.getByRole('link').first().click();
  await expect(signIn.email()).toBeFocused();
});

test('a signed-out visitor is sent to sign in and then back where they were going', async ({ page }) => {
  await page.goto('/invite-users');
  await expect(page).toHaveURL(/\/sign-in\?next=%2Finvite-users$/);
  await hydrated(page);
  const signIn = new SignInPage(page);
  await signIn.signIn('officer@agency.gov.sg');
  await expect(page.getByRole('heading', { level: 1, name: 'Invite users' })).toBeVisible();
});

test('sign out ends the session', async ({ page }) => {
  await signInAs(page, 'officer@agency.gov.sg');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Sign in to TechBiz' })).toBeVisible();
  await page.goto('/');
  await expect(page).toHaveURL(/\/sign-in/);
});

test('every response carries a Trace ID and unknown pages say so', async ({ page }) => {
  await signInAs(page, 'officer@agency.gov.sg');
  const res = await page.goto('/no-such-page');
  expect(res?.status()).toBe(404);
  expect(res?.headers()['x-trace-id']).toMatch(/^[0-9a-f]{32}$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Page not found' })).toBeVisible();
  await expectAccessible(page, 'not found');
});

/** The lazily loaded parts of the page's bundle, by route, as the build's manifest lists them
 * (each route's own part and the parts it shares with another). */
async function routeParts(request: APIRequestContext): Promise<Record<string, string[]>> {
  const manifest = await request.get('/pkg/__wasm_split_manifest.json');
  expect(manifest.status(), 'the split manifest is served').toBe(200);
  const byRoute: Record<string, string[]> = {};
  for (const [key, parts] of Object.entries((await manifest.json()) as Record<string, string[]>)) {
    const route = /^__(batch_upload|invite_status)_route_view_/.exec(key)?.[1];
    if (route) byRoute[route] = parts.map((p) => `/pkg/${p}.wasm`);
  }
  expect(Object.keys(byRoute).sort(), 'the batch upload and status routes are split').toEqual([
    'batch_upload',
    'invite_status',
  ]);
  return byRoute;
}

test('the bundles are served brotli- and gzip-compressed to browsers that accept them', async ({ request }) => {
  const bundles = ['techbiz-invite.wasm', 'techbiz-invite.js', 'techbiz-invite.css', 'parser.wasm', 'parser.js'];
  const files = [
    ...bundles.map((f) => `/pkg/${f}`),
    // The split routes' parts and their loader, and the worker's scripts (from the site root).
    ...new Set(Object.values(await routeParts(request)).flat()),
    '/pkg/__wasm_split.______________________.js',
    '/parse-worker.js',
    '/parse-start.js',
    '/parse-warm.js',
    '/draft-store.js',
  ];
  for (const file of files) {
    const plain = await request.get(file, { headers: { 'accept-encoding': 'identity' } });
    expect(plain.status(), file).toBe(200);
    expect(plain.headers()['content-encoding'], file).toBeUndefined();
    for (const encoding of ['br', 'gzip']) {
      const packed = await request.get(file, { headers: { 'accept-encoding': encoding } });
      expect(packed.status(), file).toBe(200);
      expect(packed.headers()['content-encoding'], `${file} ${encoding}`).toBe(encoding);
      // Playwright undoes the encoding: every body is the same file.
      expect((await packed.body()).equals(await plain.body()), `${file} ${encoding}`).toBe(true);
    }
  }
});

test('the page bundle holds no parser: every page loads it, only the batch page loads the parser', async ({ page }) => {
  const loaded: string[] = [];
  page.on('request', (req) => {
    const path = new URL(req.url()).pathname;
    if (path.startsWith('/pkg/')) loaded.push(path);
  });
  await page.goto('/sign-in');
  await hydrated(page);
  expect(loaded).toContain('/pkg/techbiz-invite.wasm');
  expect(loaded).not.toContain('/pkg/parser.wasm');
});

test('a page loads only its own parts of the bundle: sign-in neither split route\'s, each split route its own', async ({
  page,
  request,
}) => {
  const parts = await routeParts(request);
  const own = (route: string) => parts[route].filter((p) => !p.includes('/chunk_'));
  const [batchPart] = own('batch_upload');
  const [statusPart] = own('invite_status');
  expect(batchPart && statusPart && batchPart !== statusPart, 'each route has a part of its own').toBeTruthy();
  const loaded: string[] = [];
  page.on('request', (req) => {
    const path = new URL(req.url()).pathname;
    if (path.endsWith('.wasm')) loaded.push(path);
  });

  await page.goto('/sign-in');
  await hydrated(page);
  expect(loaded, 'the sign-in page').toEqual(['/pkg/techbiz-invite.wasm']);
  await signInAs(page, 'officer@tech.gov.sg');
  expect(loaded.filter((p) => p !== '/pkg/techbiz-invite.wasm'), 'the Overview').toEqual([]);

  // Opened directly: the server's page preloads its parts, and it hydrates with them.
  await page.goto('/invite-users/batch');
  await hydrated(page);
  await expect(page.getByRole('heading', { level: 1, name: 'Batch upload' })).toBeVisible();
  expect(loaded, 'the batch page').toEqual(expect.arrayContaining(parts.batch_upload));
  expect(loaded, 'the batch page').not.toContain(statusPart);

  // Reached by a link: the router loads the route's part before it shows the page.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Invite user status' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Invite user status' })).toBeVisible();
  expect(loaded, 'the status page, by a link').toContain(statusPart);
});
