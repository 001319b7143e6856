import { expect, test } from './fixtures/test';
import { hydrated } from './fixtures/app';

test('the page runs under a Content-Security-Policy that refuses injected scripts, and the fixtures notice', async ({ page, csp }) => {
  const res = await page.goto('/sign-in');
  const policy = res?.headers()['content-security-policy'] ?? '';
  expect(policy, 'the policy of the sign-in page').toContain("frame-ancestors 'none'");
  expect(policy).not.toContain("'unsafe-inline'");
  // The page's own inline script (the hydration script, which carries the nonce) ran.
  await hydrated(page);

  // A script injected into the page (as a cross-site scripting hole would) does not run ...
  const ran = await page.evaluate(async () => {
    const injected = document.createElement('script');
    injected.textContent = 'window.injectedScriptRan = true;';
    document.head.append(injected);
    await new Promise((resolve) => setTimeout(resolve, 100));
    return (window as unknown as { injectedScriptRan?: boolean }).injectedScriptRan === true;
  });
  expect(ran, 'an injected inline script ran').toBe(false);
  // ... and the fixtures saw the violation: any test that causes one fails.
  await expect.poll(() => csp.take().join('\n'), { message: 'the violation reported' }).toMatch(/script/);
});

test('the sign-up link does not leave the site in a Referer', async ({ page }) => {
  const res = await page.goto('/invitations/accept?token=secret-token');
  expect(res?.headers()['referrer-policy']).toBe('no-referrer');
  expect(res?.headers()['x-content-type-options']).toBe('nosniff');
});
