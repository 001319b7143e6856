import { type Page } from '@playwright/test';
import { expect, test } from './fixtures/test';
import { expectAccessible, holdPageCode, hydrated, openBeforeInteractive, signInAs } from './fixtures/app';
import fs from 'node:fs';
import XLSX from 'xlsx';
import { BatchPage, csv, HEADERS, mailCount, unique, type Row } from './fixtures/batch';

const officer = (email: string, first = 'Ann', reason = 'Joins the platform team'): Row => [
  email, '', first, 'Tan', '+65 9123 4567', 'GovTech', 'Platform', 'Yes', reason,
];
const vendor = (email: string, username: string): Row => [
  email, username, 'Raj', 'Kumar', '81234567', 'Acme Pte Ltd', '', 'No', 'Builds the portal',
];

/** Uploads two officers, the second with a bad address, and fixes it in View details;
 * then reloads and expects the list back with the fix. Returns the fixed address. */
async function fixOneThenReload(page: Page, batch: BatchPage, name: string): Promise<string> {
  const u = unique();
  await batch.uploadBuffer(name, csv([officer(`ann.${u}@tech.gov.sg`), officer('not an address')]));
  await expect(batch.counts()).toHaveText('2 users, 1 needs attention');
  const dialog = await batch.viewDetails(3);
  const fixed = `cat.${u}@tech.gov.sg`;
  await dialog.getByLabel('Email address').fill(fixed);
  await dialog.getByRole('button', { name: 'Save' }).click();
  await expect(batch.counts()).toHaveText('2 users');
  await page.reload();
  await expect(batch.uploaded(name)).toBeVisible();
  await expect(batch.counts()).toHaveText('2 users');
  await expect(batch.row(3)).toContainText(fixed);
  return fixed;
}

test('the templates download as xlsx and csv', async ({ page }) => {
  const batch = new BatchPage(page);
  await batch.open();
  for (const [link, name] of [
    ['Download excel template (.xlsx)', 'techbiz-invite-users.xlsx'],
    ['Download template as CSV', 'techbiz-invite-users.csv'],
  ]) {
    const download = page.waitForEvent('download');
    await page.getByRole('link', { name: link }).click();
    expect((await download).suggestedFilename()).toBe(name);
  }
  await expectAccessible(page, 'batch upload, nothing uploaded');
});

test('the parsing worker starts as the officer points at Batch upload, before its page loads', async ({ page }) => {
  await signInAs(page, 'boss@agency.gov.sg');
  await page.getByRole('link', { name: 'Invite users', exact: true }).click();
  const link = page.getByRole('link', { name: 'Batch upload' });
  await expect(link).toBeVisible();
  await hydrated(page);
  expect(page.workers()).toHaveLength(0);
  await link.hover();
  // The parsing worker, and beside it the checker that scans a workbook's cell references.
  await expect.poll(() => page.workers().length).toBe(2);
  // The page then takes those workers instead of starting others.
  await link.click();
  await expect(page.getByRole('heading', { level: 1, name: 'Batch upload' })).toBeVisible();
  await page.waitForLoadState('networkidle');
  expect(page.workers()).toHaveLength(2);
});

test('a full load of Batch upload starts the parsing worker from its head, while the page\'s own code is still loading, and the page takes it', async ({ page }) => {
  await signInAs(page, 'boss@agency.gov.sg');
  // The page's code (the glue that runs its bundle) is held back: nothing of the page's own
  // code runs until it comes. The bundle itself arrives (the head preloads it).
  const release = await holdPageCode(page);
  let parserFetches = 0;
  page.on('request', (req) => {
    if (new URL(req.url()).pathname === '/pkg/parser.wasm') parserFetches += 1;
  });
  await page.goto('/invite-users/batch', { waitUntil: 'domcontentloaded' });
  // The parsing worker and the checker beside it.
  await expect.poll(() => page.workers().length).toBe(2);
  expect(await page.locator('body').getAttribute('data-hydrated')).toBeNull();
  release();
  await hydrated(page);
  await page.waitForLoadState('networkidle');
  // The page took those workers and their compiled module instead of starting its own.
  expect(page.workers()).toHaveLength(2);
  expect(parserFetches).toBe(1);
});

test('a file chosen before the page is interactive is read once it is, into a new list or into the kept one', async ({ page }) => {
  const batch = new BatchPage(page);
  await signInAs(page, 'boss@agency.gov.sg');
  const u = unique();
  // On a slow line the form shows seconds before the page's code runs: the officer chooses
  // the file then, and its change event comes before anything listens.
  let release = await openBeforeInteractive(page, '/invite-users/batch');
  await batch.uploadBuffer('early.csv', csv([officer(`early.${u}@tech.gov.sg`), officer('not an address')]));
  expect(await page.locator('body').getAttribute('data-hydrated')).toBeNull();
  release();
  await hydrated(page);
  await expect(batch.uploaded('early.csv')).toBeVisible();
  await expect(batch.counts()).toHaveText('2 users, 1 needs attention');

  // The list is kept; a file chosen as early on the next load is offered as a merge into it.
  await page.unrouteAll();
  release = await holdPageCode(page);
  await page.reload({ waitUntil: 'domcontentloaded' });
  await batch.uploadBuffer('later.csv', csv([officer(`later.${u}@tech.gov.sg`)]));
  expect(await page.locator('body').getAttribute('data-hydrated')).toBeNull();
  release();
  await hydrated(page);
  await expect(page.getByRole('heading', { name: 'Merge later.csv into the list?' })).toBeVisible();
  await page.getByRole('button', { name: 'Merge', exact: true }).click();
  await expect(batch.counts()).toHaveText('3 users, 1 needs attention');
});

test('opening Batch upload starts the parsing worker, whose module is fetched and compiled once for every file', async ({ page }) => {
  const parser = (url: string) => new URL(url).pathname === '/pkg/parser.wasm';
  let fetched = 0;
  page.on('request', (req) => {
    if (parser(req.url())) fetched += 1;
  });
  const batch = new BatchPage(page);
  await batch.open();
  // A worker is waiting before any file is chosen, its module on its way (and the checker
  // beside it, for a workbook's cell references).
  await expect.poll(() => page.workers().length).toBe(2);
  await page.waitForLoadState('networkidle');
  const before = fetched;
  const u = unique();
  await batch.uploadBuffer(`first-${u}.csv`, csv([officer(`ann.${u}@tech.gov.sg`)]));
  await expect(batch.counts()).toHaveText('1 user');
  await page.getByRole('button', { name: 'Reset' }).click();
  await page.getByRole('alertdialog').getByRole('button', { name: 'Confirm' }).click();
  await batch.uploadBuffer(`second-${u}.csv`, csv([officer(`bob.${u}@tech.gov.sg`), officer(`cat.${u}@tech.gov.sg`)]));
  await expect(batch.counts()).toHaveText('2 users');
  // A workbook: read by the next worker while the checker scans its references.
  await page.getByRole('button', { name: 'Reset' }).click();
  await page.getByRole('alertdialog').getByRole('button', { name: 'Confirm' }).click();
  await batch.uploadFixture('numeric-phones.xlsx');
  await expect(batch.counts()).toHaveText('3 users');
  // No file's worker, nor the checker, fetched the parser again: the page's compiled module
  // served them all.
  expect(fetched).toBe(before);
  // And the next file's worker and checker are already waiting.
  await expect.poll(() => page.workers().length).toBe(2);
});

test('a big file shows its counts and first rows while the rest of its rows are still arriving', async ({ page }) => {
  // When the counts first appear, the progress bar says how many rows have been taken so far;
  // and the list drawn then is the one the page keeps (not drawn again once every row is in).
  await page.addInitScript(() => {
    const w = window as unknown as {
      firstShown?: { counts: string; taken: number; of: number } | null;
      firstList?: Element | null;
    };
    w.firstShown = null;
    new MutationObserver((_, observer) => {
      const counts = document.querySelector('.counts');
      if (!counts) return;
      const bar = document.querySelector<HTMLProgressElement>('#batch-progress');
      w.firstShown = { counts: counts.textContent ?? '', taken: bar ? bar.value : -1, of: bar ? bar.max : -1 };
      w.firstList = document.querySelector('.batch-table tbody tr[aria-rowindex]');
      observer.disconnect();
    }).observe(document, { subtree: true, childList: true, characterData: true });
  });
  const batch = new BatchPage(page);
  await batch.open();
  const u = unique();
  const rows: Row[] = [];
  for (let i = 0; i < 20_000; i++) rows.push(officer(`user${i}.${u}@tech.gov.sg`));
  rows[19_999] = officer('not an address');
  await batch.uploadBuffer(`big-${u}.csv`, csv(rows));
  await expect(batch.counts()).toHaveText('20,000 users, 1 needs attention');
  const first = await page.evaluate(() => (window as unknown as { firstShown: unknown }).firstShown);
  // The whole list's counts, while fewer than all its rows were in.
  expect(first).toMatchObject({ counts: '20,000 users, 1 needs attention', of: 20_000 });
  expect((first as { taken: number }).taken).toBeGreaterThan(0);
  expect((first as { taken: number }).taken).toBeLessThan(20_000);
  // Then every row arrives and the page is free again.
  await expect(page.locator('#batch-progress')).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Submit' })).toBeEnabled();
  const kept = await page.evaluate(() => {
    const first = (window as unknown as { firstList?: Element | null }).firstList;
    return !!first && first.isConnected && first === document.querySelector('.batch-table tbody tr[aria-rowindex]');
  });
  expect(kept, 'the first row drawn is still the one shown').toBe(true);
  await page.getByRole('checkbox', { name: /Show only rows that need attention/ }).check();
  await expect(batch.row(20_001)).toBeVisible();
});

test('a change made while a big list is still arriving is kept after a refresh: it is stored after the list, not under it', async ({ page }) => {
  // The parsing worker keeps a list longer than a chunk once the page has painted its first
  // rows and asked for the rest; here it then waits until the test lets it go on, so the
  // officer's change comes while the list is still arriving and not yet kept.
  let heldWorkers = 0;
  await page.route('**/parse-worker.js', async (route) => {
    heldWorkers += 1;
    const source = await (await route.fetch()).text();
    const held = source.replace('await more;', 'await more; await new Promise((go) => { self.goOn = go; });');
    expect(held, 'the worker waits for the page before it keeps a long list').not.toBe(source);
    await route.fulfill({ status: 200, contentType: 'text/javascript', body: held });
  });
  const batch = new BatchPage(page);
  await batch.open();
  const u = unique();
  const rows: Row[] = [];
  for (let i = 0; i < 5_000; i++) rows.push(officer(`user${i}.${u}@tech.gov.sg`));
  const name = `arriving-${u}.csv`;
  await batch.uploadBuffer(name, csv(rows));
  await expect(batch.counts()).toHaveText('5,000 users');
  expect(heldWorkers, 'the page started a worker').toBeGreaterThan(0);
  await batch.remove(2);
  await expect(page.getByText(`Removed row 2 (user0.${u}@tech.gov.sg)`, { exact: true })).toBeVisible();
  await expect(page.locator('#batch-progress'), 'the list is still arriving').toHaveCount(1);

  // The worker goes on: the list arrives and is kept, then the change; a refresh shows both.
  const goOn = async () => {
    for (const worker of page.workers()) {
      if (await worker.evaluate(() => { const go = (self as unknown as { goOn?: () => void }).goOn; go?.(); return !!go; })) return true;
    }
    return false;
  };
  await expect.poll(goOn, { message: 'a worker held the list' }).toBe(true);
  await expect(page.locator('#batch-progress')).toHaveCount(0, { timeout: 15_000 });
  await expect(batch.counts()).toHaveText('4,999 users');
  await expect.poll(() => page.evaluate(() => localStorage.getItem('techbiz-invite.batch-journal')), {
    timeout: 15_000,
  }).toBeNull();
  await page.reload();
  await expect(batch.uploaded(name)).toBeVisible();
  await expect(batch.counts()).toHaveText('4,999 users');
  await expect(batch.row(2)).toHaveCount(0);
  await expect(batch.row(3)).toContainText(`user1.${u}@tech.gov.sg`);
});

test('view details, edit and save; remove; reset with cancel and with confirm', async ({ page }) => {
  const batch = new BatchPage(page);
  await batch.open();
  const u = unique();
  await batch.uploadBuffer(`team-${u}.csv`, csv([
    officer(`ann.${u}@tech.gov.sg`),
    officer(`bob.${u}@tech.gov.sg`, 'Bob'),
    vendor(`raj.${u}@acme.com.sg`, ''),
  ]));
  await expect(batch.uploaded(`team-${u}.csv`)).toBeVisible();
  await expect(batch.counts()).toHaveText('3 users, 1 needs attention');
  await expect(batch.row(4)).toContainText('Needs attention');
  await expect(batch.row(4)).toContainText('TechPass username');
  await expectAccessible(page, 'batch list');

  // The vendor's row has no username: fix it in View details.
  const dialog = await batch.viewDetails(4);
  await expect(dialog.getByLabel('Email address')).toHaveValue(`raj.${u}@acme.com.sg`);
  await expect(dialog.getByLabel('TechPass username')).toHaveAttribute('aria-invalid', 'true');
  await expectAccessible(page, 'View details dialog with an error');
  await dialog.getByLabel('TechPass username').fill('Not Valid!');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await expect(dialog).toBeVisible();
  await expect(dialog.getByRole('alert')).toContainText('TechPass username');
  await dialog.getByLabel('TechPass username').fill(`raj${u}`.slice(0, 30));
  await dialog.getByRole('button', { name: 'Save' }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByRole('button', { name: 'Actions for row 4' })).toBeFocused();
  await expect(batch.row(4)).toContainText('Ready');
  await expect(batch.counts()).toHaveText('3 users');

  // Cancel keeps what was there.
  const again = await batch.viewDetails(2);
  await again.getByLabel('First name').fill('Changed');
  await again.getByRole('button', { name: 'Cancel' }).click();
  await expect(batch.row(2)).toContainText('Ann');
  await expect(batch.row(2)).not.toContainText('Changed');

  await batch.remove(3);
  await expect(batch.row(3)).toHaveCount(0);
  await expect(batch.counts()).toHaveText('2 users');

  await page.getByRole('button', { name: 'Reset' }).click();
  const confirm = page.getByRole('alertdialog', { name: 'Remove all users from this list?' });
  await expect(confirm).toBeVisible();
  await expectAccessible(page, 'Reset confirmation');
  await confirm.getByRole('button', { name: 'Cancel' }).click();
  await expect(confirm).toBeHidden();
  await expect(batch.counts()).toHaveText('2 users');
  await expect(page.getByRole('button', { name: 'Reset' })).toBeFocused();

  await page.getByRole('button', { name: 'Reset' }).click();
  await confirm.getByRole('button', { name: 'Confirm' }).click();
  await expect(batch.uploaded(`team-${u}.csv`)).toHaveCount(0);
  await expect(batch.fileInput()).toBeVisible();
});

test('remove and reset can be undone, by the Undo button and by Ctrl+Z, and a refresh keeps what Undo brought back', async ({ page }) => {
  const batch = new BatchPage(page);
  await batch.open();
  const u = unique();
  const name = `undo-${u}.csv`;
  await batch.uploadBuffer(name, csv([
    officer(`ann.${u}@tech.gov.sg`),
    officer(`bob.${u}@tech.gov.sg`, 'Bob'),
    officer(`ann.${u}@tech.gov.sg`, 'Ann again'),
  ]));
  await expect(batch.counts()).toHaveText('3 users, 1 needs attention');
  const undo = page.locator('#undo-notice');

  // Remove, then Undo: the row is back, with its clash with row 2.
  await batch.remove(4);
  await expect(batch.counts()).toHaveText('2 users');
  await expect(undo).toContainText(`Removed row 4 (ann.${u}@tech.gov.sg)`);
  await expect(page.getByRole('status').filter({ hasText: 'Undo is available' })).toHaveCount(1);
  await expectAccessible(page, 'batch list with Undo');
  await undo.getByRole('button', { name: 'Undo' }).click();
  await expect(batch.counts()).toHaveText('3 users, 1 needs attention');
  await expect(batch.row(4)).toContainText('Row 2 already has the email address');
  await expect(page.getByRole('button', { name: 'Actions for row 4' })).toBeFocused();
  await expect(undo).toHaveCount(0);

  // Remove, then Ctrl+Z with the list focused.
  await batch.remove(3);
  await expect(batch.counts()).toHaveText('2 users, 1 needs attention');
  await page.locator('.batch-table').focus();
  await page.keyboard.press('Control+z');
  await expect(batch.counts()).toHaveText('3 users, 1 needs attention');
  await expect(batch.row(3)).toContainText('Bob');

  // Another change ends the chance to undo: a second Ctrl+Z does nothing.
  await batch.remove(3);
  const dialog = await batch.viewDetails(2);
  await dialog.getByRole('button', { name: 'Save' }).click();
  await expect(undo).toHaveCount(0);
  await page.locator('.batch-table').focus();
  await page.keyboard.press('Control+z');
  await expect(batch.counts()).toHaveText('2 users, 1 needs attention');

  // Reset, then Undo: the list is back, and a refresh keeps it.
  await page.getByRole('button', { name: 'Reset' }).click();
  await page.getByRole('alertdialog').getByRole('button', { name: 'Confirm' }).click();
  await expect(batch.uploaded(name)).toHaveCount(0);
  await expect(undo).toContainText(`Removed all users of ${name}`);
  await undo.getByRole('button', { name: 'Undo' }).click();
  await expect(batch.uploaded(name)).toBeVisible();
  await expect(batch.counts()).toHaveText('2 users, 1 needs attention');
  await page.reload();
  await expect(batch.uploaded(name)).toBeVisible();
  await expect(batch.counts()).toHaveText('2 users, 1 needs attention');

  // Reset, Ctrl+Z on the page, refresh: still there. Reset and refresh: gone.
  await page.getByRole('button', { name: 'Reset' }).click();
  await page.getByRole('alertdialog').getByRole('button', { name: 'Confirm' }).click();
  await expect(batch.uploaded(name)).toHaveCount(0);
  await page.locator('#undo-notice button').focus();
  await page.keyboard.press('Control+z');
  await expect(batch.uploaded(name)).toBeVisible();
  await page.getByRole('button', { name: 'Reset' }).click();
  await page.getByRole('alertdialog').getByRole('button', { name: 'Confirm' }).click();
  await page.reload();
  await batch.restored();
  await expect(batch.fileInput()).toBeVisible();
  await expect(batch.uploaded(name)).toHaveCount(0);
});

test('ten errors are fixed in the grid, by keyboard and double-click, and by Set a value', async ({ page }) => {
  const batch = new BatchPage(page);
  await batch.open();
  const u = unique();
  const rows: Row[] = [];
  for (let i = 0; i < 10; i++) {
    const row = officer(`p${i}.${u}@tech.gov.sg`, `P${String.fromCharCode(97 + i)}`);
    if (i < 5) row[4] = '12';
    else row[5] = '';
    rows.push(row);
  }
  await batch.uploadBuffer(`grid-${u}.csv`, csv(rows));
  await expect(batch.counts()).toHaveText('10 users, 10 need attention');
  const grid = page.getByRole('grid', { name: `Users in grid-${u}.csv` });
  await expect(grid).toBeVisible();
  await expectAccessible(page, 'batch grid');
  // Cells: select, row, nine fields (contact number the 5th), type, status, actions.
  const contact = (line: number) => batch.row(line).getByRole('gridcell').nth(6);
  const editor = page.getByRole('textbox', { name: 'Contact number (Enter saves, Escape cancels)' });

  // Double-click, type, Enter.
  await expect(contact(2)).toContainText('12');
  await contact(2).dblclick();
  await expect(editor).toBeFocused();
  await editor.fill('91234567');
  await editor.press('Enter');
  await expect(batch.counts()).toHaveText('10 users, 9 need attention');
  await expect(contact(2)).toBeFocused();
  await expect(contact(2)).toHaveText('91234567');

  // The keyboard: down a row, Enter, a wrong value shows its error in the cell; Escape
  // cancels; Enter saves.
  await page.keyboard.press('ArrowDown');
  await expect(contact(3)).toBeFocused();
  await page.keyboard.press('Enter');
  await editor.fill('not a number');
  await editor.press('Enter');
  await expect(contact(3)).toHaveClass(/cell--error/);
  await expect(contact(3)).toContainText('Contact number');
  await page.keyboard.press('Enter');
  await editor.fill('99999999');
  await editor.press('Escape');
  await expect(contact(3)).toBeFocused();
  await expect(contact(3)).toContainText('not a number');
  for (const line of [3, 4, 5, 6]) {
    if (line > 3) await page.keyboard.press('ArrowDown');
    await expect(contact(line)).toBeFocused();
    await page.keyboard.press('F2');
    await editor.fill(`8123456${line}`);
    await editor.press('Enter');
    // Focus returns to the saved cell once it is drawn anew, before the next key is taken
    // (see the next test).
    await expect(contact(line)).toBeFocused();
  }
  await expect(batch.counts()).toHaveText('10 users, 5 need attention');
  // Home and End reach the row's ends; the arrows stop at the grid's edges.
  await page.keyboard.press('Home');
  await expect(page.getByRole('checkbox', { name: 'Select row 6' })).toBeFocused();
  await page.keyboard.press('End');
  await expect(page.getByRole('button', { name: 'Actions for row 6' })).toBeFocused();

  // The five without an organisation: shown alone, selected together, set at once.
  await page.getByLabel(/Show only rows that need attention/).check();
  await page.getByRole('checkbox', { name: 'Select all rows shown' }).check();
  await expect(page.getByText('5 rows selected: set a value')).toBeVisible();
  await page.getByLabel('Column', { exact: true }).selectOption({ label: 'Organisation' });
  await page.getByLabel('Value', { exact: true }).fill('GovTech');
  await expectAccessible(page, 'set a value');
  await page.getByRole('button', { name: 'Set for 5 rows' }).click();
  await expect(batch.counts()).toHaveText('10 users');
  await expect(page.getByRole('status').filter({ hasText: 'Set Organisation to “GovTech” for 5 rows' })).toHaveCount(1);
  await page.reload();
  await expect(batch.counts()).toHaveText('10 users');
});

test('a key already waiting when Enter saves a cell goes to the grid, not the page', async ({ page }) => {
  const batch = new BatchPage(page);
  await batch.open();
  const u = unique();
  const rows = [0, 1, 2].map((i) => {
    const row = officer(`q${i}.${u}@tech.gov.sg`);
    row[4] = '12';
    return row;
  });
  await batch.uploadBuffer(`keys-${u}.csv`, csv(rows));
  await expect(batch.counts()).toHaveText('3 users, 3 need attention');
  const contact = (line: number) => batch.row(line).getByRole('gridcell').nth(6);
  const editor = page.getByRole('textbox', { name: 'Contact number (Enter saves, Escape cancels)' });
  await contact(2).dblclick();
  await editor.fill('91234567');
  // Enter, with the next key (ArrowDown) already waiting behind it, as a fast typist's is:
  // the browser's next task takes it, to whatever has focus then.
  await editor.evaluate((input) => {
    setTimeout(() => {
      const key = new KeyboardEvent('keydown', { key: 'ArrowDown', bubbles: true, cancelable: true });
      (document.activeElement ?? document.body).dispatchEvent(key);
    }, 0);
    input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true, cancelable: true }));
  });
  await expect(contact(2)).toHaveText('91234567');
  await expect(batch.counts()).toHaveText('3 users, 2 need attention');
  // The saved row was drawn anew and its cell focused before that key: it moved down.
  await expect(contact(3)).toBeFocused();
});

test('a refresh keeps the unsubmitted list, edits included, until it is reset', async ({ page }) => {
  const batch = new BatchPage(page);
  await batch.open();
  const name = `keep-${unique()}.csv`;
  await fixOneThenReload(page, batch, name);

  await page.getByRole('button', { name: 'Reset' }).click();
  await page.getByRole('alertdialog').getByRole('button', { name: 'Confirm' }).click();
  await page.reload();
  await expect(batch.fileInput()).toBeVisible();
  await expect(batch.uploaded(name)).toHaveCount(0);
});

test('a refresh straight after a change keeps it, even while the browser is slow to store the list', async ({ page }) => {
  // On this page every IndexedDB open answers 1.5 s late, so each change is still on its way
  // into IndexedDB when the page reloads (the parsing worker stores the upload as usual).
  await page.addInitScript(() => {
    const realOpen = IDBFactory.prototype.open;
    IDBFactory.prototype.open = function (this: IDBFactory, ...args: [string, number?]) {
      const real = realOpen.apply(this, args);
      const slow: Record<string, unknown> = {
        onsuccess: null,
        onerror: null,
        onupgradeneeded: null,
        get result() { return real.result; },
        get error() { return real.error; },
      };
      const call = (name: string, e: Event) => (slow[name] as ((e: Event) => void) | null)?.(e);
      real.onupgradeneeded = (e) => call('onupgradeneeded', e);
      real.onsuccess = (e) => setTimeout(() => call('onsuccess', e), 1500);
      real.onerror = (e) => call('onerror', e);
      return slow as unknown as IDBOpenDBRequest;
    };
  });
  const batch = new BatchPage(page);
  await batch.open();
  const name = `slow-${unique()}.csv`;
  const fixed = await fixOneThenReload(page, batch, name);

  // The restored change reaches IndexedDB too: without the quick copy, it is still there.
  await expect.poll(() => page.evaluate(() => localStorage.getItem('techbiz-invite.batch-journal')), {
    timeout: 15_000,
  }).toBeNull();
  await page.reload();
  await expect(batch.row(3)).toContainText(fixed);

  // Reset, then a refresh before IndexedDB has forgotten the list: it stays gone.
  await page.getByRole('button', { name: 'Reset' }).click();
  await page.getByRole('alertdialog').getByRole('button', { name: 'Confirm' }).click();
  await page.reload();
  await expect(page.locator('[data-restored="true"]')).toHaveCount(1, { timeout: 15_000 });
  await expect(batch.fileInput()).toBeVisible();
  await expect(batch.uploaded(name)).toHaveCount(0);
});

test('submit: failed rows stay marked, are fixed and resubmitted, and nobody is invited twice', async ({ page }) => {
  const batch = new BatchPage(page);
  await batch.open();
  const u = unique();
  const taken = `taken.${u}@tech.gov.sg`;
  // Someone already invited (by an earlier batch) ...
  await batch.uploadBuffer(`first-${u}.csv`, csv([officer(taken)]));
  await expect(batch.counts()).toHaveText('1 user');
  await batch.submit();
  await expect(batch.summary()).toHaveText('1 of 1 invited');
  await page.getByRole('button', { name: 'Upload another file' }).click();

  // ... is flagged before submit; a bad contact number is flagged in the browser.
  const good = `good.${u}@tech.gov.sg`;
  const vendorEmail = `raj.${u}@acme.com.sg`;
  const rows: Row[] = [officer(taken.toUpperCase()), officer(good), vendor(vendorEmail, `raj${u}`.slice(0, 30))];
  rows.push(officer(`bad.${u}@tech.gov.sg`));
  rows[3][4] = '12';
  await batch.uploadBuffer(`second-${u}.csv`, csv(rows));
  await expect(batch.counts()).toHaveText('4 users, 2 need attention');
  await expect(batch.row(2)).toContainText(/already has a TechPass account|already has a pending invitation/);
  await expect(batch.row(5)).toContainText('Contact number');

  await page.getByLabel(/Show only rows that need attention/).check();
  await expect(batch.rows()).toHaveCount(2);
  await page.getByLabel(/Show only rows that need attention/).uncheck();

  await batch.submit();
  await expect(batch.summary()).toContainText(/^2 of 4 invited\. 2 need attention/);
  await expect(batch.row(3)).toContainText('Invited');
  await expect(batch.row(4)).toContainText('Invited');
  await expectAccessible(page, 'batch after a partly failed submit');

  // Fix both and submit again: only they go.
  let dialog = await batch.viewDetails(2);
  await dialog.getByLabel('Email address').fill(`other.${u}@tech.gov.sg`);
  await dialog.getByRole('button', { name: 'Save' }).click();
  dialog = await batch.viewDetails(5);
  await dialog.getByLabel('Contact number').fill('9876 5432');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await expect(batch.counts()).toHaveText('4 users, 2 invited');
  await batch.submit();
  await expect(batch.summary()).toHaveText('4 of 4 invited');
  await expect(page.getByRole('link', { name: 'See Invite user status' })).toBeVisible();

  // One email each: the resubmit did not invite the first two again.
  await expect.poll(() => mailCount(good), { timeout: 15_000 }).toBe(1);
  await expect.poll(() => mailCount(`other.${u}@tech.gov.sg`), { timeout: 15_000 }).toBe(1);
  await page.waitForTimeout(1000);
  expect(mailCount(good)).toBe(1);
  expect(mailCount(vendorEmail)).toBe(1);
  expect(mailCount(taken)).toBe(1);
});

// Real-world-shaped files (end2end/fixtures/batch/README.md): what each shows.
const shaped: { file: string; counts: string; check?: Record<number, RegExp> }[] = [
  { file: 'users.csv', counts: '5 users', check: { 2: /tan\.wei\.ling@tech\.gov\.sg.*Public officer.*Ready/, 5: /john\.lim@acme-consulting\.com.*Vendor/ } },
  { file: 'excel-windows-1252.csv', counts: '3 users', check: { 2: /Zoë.*Tan/, 3: /José.*García.*Vendor/ } },
  { file: 'unicode-text.txt', counts: '3 users', check: { 2: /小明 陈|陈/, 4: /அருண்/ } },
  { file: 'multiline.csv', counts: '3 users', check: { 4: /ng\.siew\.ling@mom\.gov\.sg/ } },
  { file: 'numeric-phones.xlsx', counts: '' },
  {
    file: 'some-invalid.csv',
    counts: '8 users, 4 need attention',
    check: {
      3: /Needs attention.*Email address/,
      5: /Needs attention.*TechPass username/,
      7: /Needs attention.*Contact number/,
      9: /Needs attention.*Row 2 already has the email address/,
      2: /Ready/,
    },
  },
];

test('real-world-shaped files show the right rows and the right problems', async ({ page }) => {
  const batch = new BatchPage(page);
  await batch.open();
  for (const { file, counts, check } of shaped) {
    await batch.uploadFixture(file);
    await expect(batch.uploaded(file)).toBeVisible();
    if (counts) await expect(batch.counts()).toHaveText(counts);
    for (const [line, pattern] of Object.entries(check ?? {})) {
      await expect(batch.row(Number(line))).toHaveText(pattern);
    }
    if (file === 'multiline.csv') {
      const dialog = await batch.viewDetails(3);
      await expect(dialog.getByLabel('Reason')).toHaveValue('Needs access for:\n- the developer portal\n- the "SEED" pilot');
      await dialog.getByRole('button', { name: 'Cancel' }).click();
    }
    if (file === 'numeric-phones.xlsx') {
      // Numbers typed into Excel cells come back as typed: no ".0", no "E+", "+" kept.
      const dialog = await batch.viewDetails(2);
      await expect(dialog.getByLabel('Contact number')).not.toHaveValue(/\.0$|E\+/);
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await expect(page.locator('.batch-table')).not.toContainText('E+');
    }
    await page.getByRole('button', { name: 'Reset' }).click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Confirm' }).click();
    await expect(batch.uploaded(file)).toHaveCount(0);
  }

  // A missing required column, and a column the template does not know: the officer is asked
  // which column is which, Continue held back naming the field without one.
  await batch.uploadFixture('extra-and-missing.csv');
  await expect(page.getByRole('heading', { name: 'Match the columns of extra-and-missing.csv' })).toBeVisible();
  await expect(page.locator('#mapping-problems')).toHaveText('Choose a column for: Reason. Each is required.');
  await expect(page.getByRole('button', { name: 'Continue' })).toBeDisabled();
  await page.getByRole('button', { name: 'Choose another file' }).click();
  await expect(batch.fileInput()).toBeFocused();

  // A missing required column and nothing that could be it: one clear error naming it.
  await batch.uploadBuffer('no-reason.csv', Buffer.from('Email address,First name\r\nann@tech.gov.sg,Ann\r\n'));
  await expect(batch.uploadError()).toContainText('no-reason.csv could not be uploaded');
  await expect(batch.uploadError()).toContainText('The file has no column for: Last name, Contact number, Organisation');
  await expect(page).toHaveTitle(/^Error: Batch upload/);
  await expectAccessible(page, 'batch upload refused');
});

test('a file with other headers is matched to the template, and the match is offered for the next such file', async ({ page }) => {
  const batch = new BatchPage(page);
  await batch.open();
  const u = unique();
  const file = (name: string) =>
    Buffer.from(
      [
        'Work email,Given name,Surname,Handphone,Company,Unit,SEED?,Why',
        `ann.${u}@tech.gov.sg,Ann,Tan,91234567,GovTech,Platform,Yes,Joins the platform team`,
        `raj.${u}@tech.gov.sg,Raj,Kumar,81234567,Acme Pte Ltd,,No,${name}`,
      ].join('\r\n'),
    );
  await batch.uploadBuffer('staff.csv', file('Builds the portal'));
  await expect(page.getByRole('heading', { name: 'Match the columns of staff.csv' })).toBeFocused();
  // The guess: every field the headers name, with the file's first values beside it.
  await expect(page.getByLabel('Email address')).toHaveValue('0');
  await expect(page.getByRole('row', { name: /Email address/ })).toContainText(`ann.${u}@tech.gov.sg, raj.${u}@tech.gov.sg`);
  await expect(page.getByLabel('Department')).toHaveValue('5');
  await expect(page.getByLabel('Is onboarding to SEED required?')).toHaveValue('6');
  await expect(page.getByLabel('Reason')).toHaveValue('');
  await expect(page.locator('#mapping-problems')).toHaveText('Choose a column for: Reason. Each is required.');
  await expect(page.getByRole('button', { name: 'Continue' })).toBeDisabled();
  await expectAccessible(page, 'batch upload: match the columns');
  // One column for two fields is held back too.
  await page.getByLabel('Reason').selectOption({ label: 'Unit (column F)' });
  await expect(page.locator('#mapping-problems')).toHaveText('Unit (column F) is chosen for Department and Reason: choose one column for each field.');
  await page.getByLabel('Reason').selectOption({ label: 'Why (column H)' });
  await expect(page.getByRole('row', { name: /Reason/ })).toContainText('Joins the platform team, Builds the portal');
  await expect(page.locator('#mapping-problems')).toHaveCount(0);
  await page.getByRole('button', { name: 'Continue' }).click();
  await expect(batch.uploaded('staff.csv')).toBeVisible();
  await expect(batch.counts()).toHaveText('2 users');
  await expect(batch.row(2)).toContainText(`ann.${u}@tech.gov.sg`);
  const dialog = await batch.viewDetails(3);
  await expect(dialog.getByLabel('Reason')).toHaveValue('Builds the portal');
  await expect(dialog.getByLabel('Organisation')).toHaveValue('Acme Pte Ltd');
  await dialog.getByRole('button', { name: 'Cancel' }).click();

  // The next file with these headers: the officer's own match is offered.
  await page.getByRole('button', { name: 'Reset' }).click();
  await page.getByRole('alertdialog').getByRole('button', { name: 'Confirm' }).click();
  await batch.uploadBuffer('staff-2.csv', file('Tests the portal'));
  await expect(page.getByRole('heading', { name: 'Match the columns of staff-2.csv' })).toBeVisible();
  await expect(page.locator('#mapping-remembered')).toBeVisible();
  await expect(page.getByLabel('Reason')).toHaveValue('7');
  await page.getByRole('button', { name: 'Continue' }).click();
  await expect(batch.counts()).toHaveText('2 users');
});

test('the rows that need attention download as xlsx and CSV, are fixed in the file, and merge back into the list', async ({ page }) => {
  const batch = new BatchPage(page);
  await batch.open();
  const u = unique();
  const name = `fix-${u}.csv`;
  const bad = officer(`bo.${u}@tech.gov.sg`, 'Bo');
  bad[4] = '12';
  await batch.uploadBuffer(name, csv([
    officer(`ann.${u}@tech.gov.sg`),
    bad,
    vendor(`raj.${u}@acme.com.sg`, ''),
  ]));
  await expect(batch.counts()).toHaveText('3 users, 2 need attention');

  const csvDownload = page.waitForEvent('download');
  await page.getByRole('button', { name: 'CSV', exact: true }).click();
  const csvFile = await csvDownload;
  expect(csvFile.suggestedFilename()).toBe(`fix-${u} - rows to fix.csv`);
  const text = fs.readFileSync(await csvFile.path(), 'utf8');
  const lines = text.replace(/^\uFEFF/, '').trim().split('\r\n');
  expect(lines[0]).toBe([...HEADERS, 'Errors'].join(','));
  expect(lines).toHaveLength(3);
  // The contact number is defused for spreadsheets ('+65…) and the errors say what is wrong.
  expect(lines[1]).toContain(`bo.${u}@tech.gov.sg`);
  expect(lines[1]).toMatch(/Contact number: /);
  expect(lines[2]).toMatch(/TechPass username: /);

  const xlsxDownload = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Excel (.xlsx)' }).click();
  const xlsxFile = await xlsxDownload;
  expect(xlsxFile.suggestedFilename()).toBe(`fix-${u} - rows to fix.xlsx`);
  const book = XLSX.read(fs.readFileSync(await xlsxFile.path()), { type: 'buffer' });
  expect(book.SheetNames).toEqual(['Rows to fix']);
  const sheet = book.Sheets['Rows to fix'];
  const table = XLSX.utils.sheet_to_json<string[]>(sheet, { header: 1, defval: '' });
  expect(table[0]).toEqual([...HEADERS, 'Errors']);
  expect(table.slice(1).map((r) => r[0])).toEqual([`bo.${u}@tech.gov.sg`, `raj.${u}@acme.com.sg`]);

  // Fixed in the workbook, one new user added, and merged back.
  table[1][4] = '91234567';
  table[2][1] = `raj${u}`.slice(0, 30);
  table.push(officer(`cy.${u}@tech.gov.sg`, 'Cy'));
  const fixed = XLSX.utils.book_new();
  XLSX.utils.book_append_sheet(fixed, XLSX.utils.aoa_to_sheet(table), 'Rows to fix');
  await page.getByLabel('Upload a corrected file').setInputFiles({
    name: 'fixed.xlsx',
    mimeType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    buffer: XLSX.write(fixed, { type: 'buffer', bookType: 'xlsx' }) as Buffer,
  });
  const merge = page.getByRole('dialog', { name: 'Merge fixed.xlsx into the list?' });
  await expect(merge).toBeVisible();
  await expect(merge).toContainText('Merge: 2 rows of the file with an address in the list will replace them; 1 new row will be added.');
  await expect(merge).toContainText('Replace: the list becomes fixed.xlsx (3 users).');
  await expectAccessible(page, 'merge or replace');
  await merge.getByRole('button', { name: 'Merge' }).click();
  await expect(batch.counts()).toHaveText('4 users');
  await expect(page.locator('.notices')).toContainText('Merged fixed.xlsx: 2 rows replaced, 1 added');
  await expect(batch.row(3)).toContainText('Ready');
  await expect(batch.row(5)).toContainText(`cy.${u}@tech.gov.sg`);
  await page.reload();
  await expect(batch.counts()).toHaveText('4 users');
  await expect(batch.row(5)).toContainText(`cy.${u}@tech.gov.sg`);

  // Replace instead: the list becomes the file.
  await page.getByLabel('Upload a corrected file').setInputFiles({ name: 'other.csv', mimeType: 'text/csv', buffer: csv([officer(`di.${u}@tech.gov.sg`, 'Di')]) });
  await page.getByRole('dialog', { name: 'Merge other.csv into the list?' }).getByRole('button', { name: 'Replace the list' }).click();
  await expect(batch.uploaded('other.csv')).toBeVisible();
  await expect(batch.counts()).toHaveText('1 user');
  await page.reload();
  await expect(batch.uploaded('other.csv')).toBeVisible();
});

test('a workbook with two sheets of users asks which one; the template\'s Instructions sheet is never a choice', async ({ page }) => {
  const batch = new BatchPage(page);
  await batch.open();
  const u = unique();
  const book = XLSX.utils.book_new();
  XLSX.utils.book_append_sheet(book, XLSX.utils.aoa_to_sheet([['How to fill in this file'], ['One user per row']]), 'Instructions');
  XLSX.utils.book_append_sheet(book, XLSX.utils.aoa_to_sheet([['Email', 'Name'], [`x.${u}@tech.gov.sg`, 'X'], [`y.${u}@tech.gov.sg`, 'Y']]), 'Old list');
  XLSX.utils.book_append_sheet(book, XLSX.utils.aoa_to_sheet([HEADERS, officer(`ann.${u}@tech.gov.sg`), officer(`bo.${u}@tech.gov.sg`, 'Bo')]), 'Users');
  const bytes = XLSX.write(book, { type: 'buffer', bookType: 'xlsx' }) as Buffer;
  await batch.uploadBuffer('two-sheets.xlsx', bytes, 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
  await expect(page.getByRole('heading', { name: 'Choose the sheet of two-sheets.xlsx' })).toBeFocused();
  const sheets = page.getByRole('radio');
  await expect(sheets).toHaveCount(2);
  await expect(page.getByRole('radio', { name: /^Users: 9 of 9 template columns found, 3 rows \(suggested\)/ })).toBeChecked();
  await expect(page.getByRole('radio', { name: /^Old list: 1 of 9/ })).not.toBeChecked();
  await expectAccessible(page, 'batch upload: choose the sheet');
  await page.getByRole('button', { name: 'Continue' }).click();
  await expect(batch.uploaded('two-sheets.xlsx')).toBeVisible();
  await expect(batch.counts()).toHaveText('2 users');
  await expect(page.locator('.hint', { hasText: 'Excel workbook' })).toHaveText('Excel workbook (sheet “Users”)');
});

test('hostile files get a clear error each, and the page stays alive', async ({ page }) => {
  const batch = new BatchPage(page);
  await batch.open();
  const cases: [string, RegExp][] = [
    ['bomb.xlsx', /zip bomb|unpacks to more than/],
    ['shared-strings-billions.xlsx', /declares [\d,]+ different text values/],
    ['far-cell.xlsx', /row 1,048,576; the limit is 100,000 users per file/],
    ['truncated.xlsx', /damaged or not really an Excel workbook/],
    ['random.xlsx', /damaged or not really an Excel workbook/],
    // Read by one worker while another scans its cell references, and refused by the scan.
    ['overflowing-reference.xlsx', /damaged or not really an Excel workbook \(a cell reference in it is not valid\)/],
  ];
  for (const [file, message] of cases) {
    await batch.uploadFixture(file);
    await expect(batch.uploadError()).toContainText(`${file} could not be uploaded`);
    await expect(batch.uploadError()).toContainText(message);
  }
  // Still working: a good file goes through after all of them.
  await batch.uploadFixture('users.csv');
  await expect(batch.uploaded('users.csv')).toBeVisible();
  await expect(batch.counts()).toHaveText('5 users');
});

for (const [how, patch] of [
  ['never hears of the file', 'drop'],
  ['fails', 'break'],
] as const) {
  test(`a workbook whose checker ${how} has its references scanned by its own worker: refused or read as ever`, async ({ page }) => {
    // The page's message to the checker is dropped (it never begins), or given no file (its
    // scan throws and it says it failed): either way the file's worker scans the references
    // itself before it answers.
    await page.addInitScript((patch) => {
      const post = Worker.prototype.postMessage;
      Worker.prototype.postMessage = function (this: Worker, message: unknown, transfer?: Transferable[]) {
        const check = (message as { check?: { file: unknown } } | null)?.check;
        if (check && patch === 'drop') return undefined;
        if (check && patch === 'break') check.file = null;
        return transfer ? post.call(this, message, transfer) : post.call(this, message);
      } as typeof Worker.prototype.postMessage;
    }, patch);
    const batch = new BatchPage(page);
    await batch.open();
    await batch.uploadFixture('overflowing-reference.xlsx');
    await expect(batch.uploadError()).toContainText('overflowing-reference.xlsx could not be uploaded');
    await expect(batch.uploadError()).toContainText('a cell reference in it is not valid');
    await batch.uploadFixture('numeric-phones.xlsx');
    await expect(batch.uploaded('numeric-phones.xlsx')).toBeVisible();
    await expect(batch.counts()).toHaveText('3 users');
  });
}

test('a pre-check answer that comes after Reset and another file is not put on the new list, whose rows have the same numbers', async ({ page }) => {
  const batch = new BatchPage(page);
  await batch.open();
  const u = unique();
  const pending = `pending.${u}@tech.gov.sg`;
  const invited = await page.request.post('/api/send_invite', {
    form: { email: pending, seed_required: 'no', reason: 'Platform team' },
  });
  expect(invited.status()).toBe(200);
  // The first list's pre-check (which finds the pending invitation on its row 2) is held
  // until the next list is on the page and has had its own answer.
  let release = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  let calls = 0;
  await page.route('**/api/precheck_batch', async (route) => {
    calls += 1;
    if (calls === 1) await held;
    await route.continue();
  });
  let answered = 0;
  page.on('response', (res) => {
    if (new URL(res.url()).pathname === '/api/precheck_batch') answered += 1;
  });
  await batch.uploadBuffer(`first-${u}.csv`, csv([officer(pending)]));
  await expect(batch.uploaded(`first-${u}.csv`)).toBeVisible();
  await expect.poll(() => calls).toBe(1);
  await page.getByRole('button', { name: 'Reset' }).click();
  await page.getByRole('alertdialog').getByRole('button', { name: 'Confirm' }).click();
  await batch.uploadBuffer(`second-${u}.csv`, csv([officer(`fresh.${u}@tech.gov.sg`)]));
  await expect(batch.uploaded(`second-${u}.csv`)).toBeVisible();
  await expect.poll(() => answered).toBe(1);
  release();
  await expect.poll(() => answered).toBe(2);
  // Two frames: the answer has been handled and anything it changed painted.
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
  await expect(batch.counts()).toHaveText('1 user');
  await expect(batch.row(2)).not.toContainText('pending invitation');
});

test('100,000 rows: the list renders only what is visible, scrolls to the end, and is pre-checked to the end', async ({ page }) => {
  test.setTimeout(120_000);
  const batch = new BatchPage(page);
  await batch.open();
  // Someone far down the file already has a pending invitation: the pre-check (in several
  // calls for a file this big) must reach that row too.
  const tag = unique();
  const pending = `u${tag}-87654@t.gov.sg`;
  const invited = await page.request.post('/api/send_invite', {
    form: { email: pending, seed_required: 'no', reason: 'Platform team' },
  });
  expect(invited.status()).toBe(200);
  const rows: Row[] = [];
  for (let i = 0; i < 100_000; i++) rows.push([`u${tag}-${i}@t.gov.sg`, '', 'A', 'B', '91234567', 'G', '', 'No', 'R']);
  await batch.uploadBuffer('big.csv', csv(rows));
  await expect(batch.uploaded('big.csv')).toBeVisible({ timeout: 60_000 });
  await expect(batch.counts()).toHaveText('100,000 users, 1 needs attention', { timeout: 60_000 });
  expect(await batch.rows().count()).toBeLessThan(80);
  await page.getByLabel(/Show only rows that need attention/).check();
  await expect(batch.rows()).toHaveCount(1);
  await expect(batch.row(87_656)).toContainText('pending invitation');
  await page.getByLabel(/Show only rows that need attention/).uncheck();
  await page.locator('.batch-table').evaluate((el) => { el.scrollTop = el.scrollHeight; });
  await expect(batch.row(100_001)).toContainText(`u${tag}-99999@t.gov.sg`);
  expect(await batch.rows().count()).toBeLessThan(80);
});

test('leaving Batch upload while a 100,000-row file is still being read breaks nothing: no panic, and the next pages work', async ({ page }) => {
  test.setTimeout(120_000);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && /panicked/.test(m.text())) errors.push(m.text());
  });
  const batch = new BatchPage(page);
  await batch.open();
  const tag = unique();
  const rows: Row[] = [];
  for (let i = 0; i < 100_000; i++) rows.push([`left${tag}-${i}@t.gov.sg`, '', 'A', 'B', '91234567', 'G', '', 'No', 'R']);
  await batch.uploadBuffer('left.csv', csv(rows));
  // The first rows are on screen and the rest is still being read when the officer leaves.
  const reading = page.getByRole('status').filter({ hasText: 'Reading left.csv' });
  await expect(reading).toBeVisible({ timeout: 60_000 });
  await page.getByRole('link', { name: 'Invite user status', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Invite user status' })).toBeVisible();
  // Long enough for the rest of the file to have arrived, had the page still been reading it.
  await page.waitForTimeout(3000);
  // The app still answers: back to Batch upload, which works.
  await page.getByRole('link', { name: 'Invite Users', exact: true }).click();
  await page.getByRole('link', { name: 'Batch upload' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Batch upload' })).toBeVisible();
  await batch.restored();
  if (await batch.uploaded('left.csv').count()) {
    // The worker had kept the list in the browser (in one transaction) before the page was
    // left: it comes back whole, never in part.
    await expect(batch.counts()).toHaveText('100,000 users');
  } else {
    const u = unique();
    await batch.uploadBuffer(`after-${u}.csv`, csv([officer(`ann.${u}@tech.gov.sg`)]));
    await expect(batch.uploaded(`after-${u}.csv`)).toBeVisible();
    await expect(batch.counts()).toHaveText('1 user');
  }
  expect(errors, 'errors in the page').toEqual([]);
});

test('a click is never lost in View details: an error that appears as a field is left waits until the click has landed', async ({ page }) => {
  const batch = new BatchPage(page);
  await batch.open();
  const u = unique();
  await batch.uploadBuffer(`clicks-${u}.csv`, csv([officer(`ann.${u}@tech.gov.sg`)]));
  await expect(batch.counts()).toHaveText('1 user');
  // A screen tall enough for the whole dialog: it does not scroll, so the browser's scroll
  // anchoring cannot hold the controls in place (the dialog is centred and grows both ways).
  await page.setViewportSize({ width: 1280, height: 1600 });
  const dialog = await batch.viewDetails(2);
  const email = dialog.getByLabel('Email address');
  const seed = dialog.getByRole('group', { name: 'Is onboarding to SEED required?' });
  await expect(seed.getByLabel('Yes')).toBeChecked();

  // Pressing No (below) moves focus out of the address field, whose error (and the dialog's
  // error summary) would push No down between the press and the release.
  await email.fill('not an address');
  await seed.getByLabel('No').click();
  await expect(seed.getByLabel('No'), 'the click on No landed').toBeChecked();
  await expect(dialog.locator('#email-error')).toBeVisible();

  await email.fill(`ann.${u}@tech.gov.sg`);
  await email.press('Tab');
  await expect(dialog.locator('#email-error')).toHaveCount(0);
  await email.fill('not an address');
  await dialog.getByRole('button', { name: 'Save' }).click();
  // Save refused the row and took focus to the dialog's error summary.
  await expect(dialog.getByRole('alert'), 'the click on Save landed').toBeFocused();
  await expect(dialog.getByRole('alert')).toContainText('Email address');
});

test('the unsubmitted list is kept for the officer who uploaded it, and forgotten at sign-out', async ({ page }) => {
  const u = unique();
  const ann = `ann.${u}@agency.gov.sg`;
  const ben = `ben.${u}@agency.gov.sg`;
  const name = `anns-${u}.csv`;
  const batch = new BatchPage(page);
  await batch.open(ann);
  await batch.uploadBuffer(name, csv([officer(`new.${u}@tech.gov.sg`)]));
  await expect(batch.uploaded(name)).toBeVisible();
  await expect(batch.counts()).toHaveText('1 user');

  // Ben signs in on the same browser while Ann is still signed in (she walked away): he does
  // not see her list ...
  await batch.open(ben);
  await batch.restored();
  await expect(batch.fileInput()).toBeVisible();
  await expect(batch.uploaded(name), "Ben sees Ann's list").toHaveCount(0);

  // ... which is still there for her.
  await batch.open(ann);
  await expect(batch.uploaded(name)).toBeVisible();

  // Ann signs out: the browser forgets her list, for Ben and for herself.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Sign in to TechBiz' })).toBeVisible();
  for (const [who, officer] of [['Ben', ben], ['Ann', ann]]) {
    await batch.open(officer);
    await batch.restored();
    await expect(batch.fileInput()).toBeVisible();
    await expect(batch.uploaded(name), `${who} sees Ann's list after she signed out`).toHaveCount(0);
  }
});
