import { type Locator, type Page } from '@playwright/test';
import XLSX from 'xlsx';
import { expect, test } from './fixtures/test';
import { expectAccessible } from './fixtures/app';
import { BatchPage, csv, HEADERS, unique, type Row } from './fixtures/batch';

// Every batch flow by keyboard alone: choose a file, choose its sheet, match its columns, fix
// cells, remove and undo, reset and undo, submit. No click after signing in; axe in each state.

/** Presses Tab (or Shift+Tab) until `target` has focus: it is reachable by keyboard. */
async function tabTo(page: Page, target: Locator, back = false, most = 60) {
  for (let i = 0; i < most; i++) {
    if (await target.evaluate((el) => el === document.activeElement)) return;
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
  }
  await expect(target, 'reachable by Tab').toBeFocused();
}

/** Chooses a file with the keyboard: Space on the focused file input opens the chooser. */
async function chooseFile(page: Page, input: Locator, name: string, buffer: Buffer, mimeType = 'text/csv') {
  await tabTo(page, input);
  const chooser = page.waitForEvent('filechooser');
  await page.keyboard.press('Space');
  await (await chooser).setFiles({ name, mimeType, buffer });
}

test('choose, match the columns, fix, remove, undo, reset, undo and submit: by keyboard alone', async ({ page }) => {
  test.setTimeout(90_000);
  const batch = new BatchPage(page);
  await batch.open();
  const u = unique();
  const rows = [
    `ann.${u}@tech.gov.sg,Ann,Tan,91234567,GovTech,Platform,Yes,Joins the platform team`,
    `bo.${u}@tech.gov.sg,Bo,Lim,12,GovTech,Platform,No,Joins the data team`,
    `cy.${u}@tech.gov.sg,Cy,Ng,81234567,GovTech,,No,Joins the design team`,
  ];
  const file = Buffer.from(['Work email,Given name,Surname,Handphone,Company,Unit,SEED?,Why', ...rows].join('\r\n'));
  await chooseFile(page, batch.fileInput(), 'staff.csv', file);

  // Match: the heading has focus; Reason is chosen by typing in its select.
  await expect(page.getByRole('heading', { name: 'Match the columns of staff.csv' })).toBeFocused();
  await expectAccessible(page, 'keyboard: match the columns');
  const reason = page.getByLabel('Reason');
  await tabTo(page, reason);
  await page.keyboard.type('Why');
  await expect(reason).toHaveValue('7');
  const proceed = page.getByRole('button', { name: 'Continue' });
  await tabTo(page, proceed);
  await page.keyboard.press('Enter');
  await expect(batch.uploaded('staff.csv')).toBeVisible();
  await expect(batch.counts()).toHaveText('3 users, 1 needs attention');
  await expectAccessible(page, 'keyboard: the list');

  // Fix: Tab into the grid (one tab stop), arrows to Bo's contact number, Enter, type, Enter.
  await tabTo(page, batch.row(2).getByRole('gridcell').nth(2));
  await page.keyboard.press('ArrowDown');
  for (let i = 0; i < 4; i++) await page.keyboard.press('ArrowRight');
  const boContact = batch.row(3).getByRole('gridcell').nth(6);
  await expect(boContact).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('textbox', { name: /^Contact number/ })).toBeFocused();
  await expectAccessible(page, 'keyboard: a cell being edited');
  await page.keyboard.press('Control+a');
  await page.keyboard.type('87654321');
  await page.keyboard.press('Enter');
  await expect(batch.counts()).toHaveText('3 users');
  await expect(boContact).toBeFocused();

  // Remove Cy through the row menu (End, Enter opens it, Down to Remove, Enter); Ctrl+Z.
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('End');
  await expect(page.getByRole('button', { name: 'Actions for row 4' })).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('menuitem', { name: 'View details' })).toBeFocused();
  await expectAccessible(page, 'keyboard: the row menu');
  await page.keyboard.press('ArrowDown');
  await expect(page.getByRole('menuitem', { name: 'Remove' })).toBeFocused();
  await page.keyboard.press('End');
  await expect(page.getByRole('menuitem', { name: 'Remove' })).toBeFocused();
  await page.keyboard.press('Home');
  await expect(page.getByRole('menuitem', { name: 'View details' })).toBeFocused();
  await page.keyboard.press('Escape');
  await expect(page.getByRole('button', { name: 'Actions for row 4' })).toBeFocused();
  await page.keyboard.press('Space');
  await expect(page.getByRole('menuitem', { name: 'View details' })).toBeFocused();
  await page.keyboard.press('ArrowUp');
  await expect(page.getByRole('menuitem', { name: 'Remove' })).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(batch.counts()).toHaveText('2 users');
  await expectAccessible(page, 'keyboard: Undo offered');
  await page.keyboard.press('Control+z');
  await expect(batch.counts()).toHaveText('3 users');
  await expect(page.getByRole('button', { name: 'Actions for row 4' })).toBeFocused();

  // Reset, confirmed from the keyboard (Cancel has focus; Shift+Tab to Confirm), then Undo.
  await tabTo(page, page.getByRole('button', { name: 'Reset' }));
  await page.keyboard.press('Enter');
  const confirm = page.getByRole('alertdialog');
  await expect(confirm.getByRole('button', { name: 'Cancel' })).toBeFocused();
  await page.keyboard.press('Shift+Tab');
  await expect(confirm.getByRole('button', { name: 'Confirm' })).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(batch.uploaded('staff.csv')).toHaveCount(0);
  await expect(batch.fileInput()).toBeFocused();
  await expectAccessible(page, 'keyboard: after Reset');
  await tabTo(page, page.locator('#undo-notice').getByRole('button', { name: 'Undo' }), true);
  await page.keyboard.press('Enter');
  await expect(batch.counts()).toHaveText('3 users');
  await expect(page.getByRole('heading', { name: 'Uploaded staff.csv' })).toBeFocused();

  // Submit.
  await tabTo(page, page.getByRole('button', { name: 'Submit', exact: true }));
  await page.keyboard.press('Enter');
  await expect(batch.summary()).toHaveText('3 of 3 invited');
  await expectAccessible(page, 'keyboard: submitted');
});

test('choose a sheet, and merge a corrected file: by keyboard alone', async ({ page }) => {
  const batch = new BatchPage(page);
  await batch.open();
  const u = unique();
  const officer = (email: string, first: string, contact = '91234567'): Row => [
    email, '', first, 'Tan', contact, 'GovTech', '', 'No', 'Joins the team',
  ];
  const book = XLSX.utils.book_new();
  XLSX.utils.book_append_sheet(book, XLSX.utils.aoa_to_sheet([HEADERS, officer(`ann.${u}@tech.gov.sg`, 'Ann', '12')]), 'Users');
  XLSX.utils.book_append_sheet(book, XLSX.utils.aoa_to_sheet([HEADERS, officer(`old.${u}@tech.gov.sg`, 'Old'), officer(`older.${u}@tech.gov.sg`, 'Older')]), 'Last year');
  const xlsx = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
  await chooseFile(page, batch.fileInput(), 'book.xlsx', XLSX.write(book, { type: 'buffer', bookType: 'xlsx' }) as Buffer, xlsx);

  // The sheet: the arrow keys move between the choices.
  await expect(page.getByRole('heading', { name: 'Choose the sheet of book.xlsx' })).toBeFocused();
  await expectAccessible(page, 'keyboard: choose the sheet');
  await tabTo(page, page.getByRole('radio', { checked: true }));
  await page.keyboard.press('ArrowDown');
  await expect(page.getByRole('radio', { name: /^Last year/ })).toBeChecked();
  await page.keyboard.press('ArrowUp');
  await expect(page.getByRole('radio', { name: /^Users/ })).toBeChecked();
  await tabTo(page, page.getByRole('button', { name: 'Continue' }));
  await page.keyboard.press('Enter');
  await expect(batch.counts()).toHaveText('1 user, 1 needs attention');

  // A corrected file, merged from the keyboard (Merge has focus in the dialog).
  const fixed = XLSX.utils.book_new();
  XLSX.utils.book_append_sheet(fixed, XLSX.utils.aoa_to_sheet([HEADERS, officer(`ann.${u}@tech.gov.sg`, 'Ann')]), 'Users');
  await chooseFile(page, page.getByLabel('Upload a corrected file'), 'fixed.xlsx', XLSX.write(fixed, { type: 'buffer', bookType: 'xlsx' }) as Buffer, xlsx);
  const merge = page.getByRole('dialog', { name: 'Merge fixed.xlsx into the list?' });
  await expect(merge.getByRole('button', { name: 'Merge' })).toBeFocused();
  await expectAccessible(page, 'keyboard: merge or replace');
  await page.keyboard.press('Enter');
  await expect(batch.counts()).toHaveText('1 user');
  await expect(page.getByRole('heading', { name: 'Uploaded book.xlsx' })).toBeFocused();
});

test('the grid is one tab stop, which follows the active cell as it moves, scrolls out of view and loses its row', async ({ page }) => {
  const batch = new BatchPage(page);
  await batch.open();
  const u = unique();
  const rows: Row[] = Array.from({ length: 60 }, (_, i) => [
    `p${i}.${u}@tech.gov.sg`, '', 'Ann', 'Tan', '91234567', 'GovTech', '', 'No', 'Joins the team',
  ]);
  await batch.uploadBuffer('tabstop.csv', csv(rows));
  await expect(batch.counts()).toHaveText('60 users');
  const grid = page.getByRole('grid');
  // Exactly one element of the grid is in the tab order, and it is the one with focus.
  const oneTabStop = async (what: string) => {
    await expect(grid.locator('[tabindex="0"]'), `${what}: one tab stop`).toHaveCount(1);
    expect(
      await grid.locator('[tabindex="0"]').evaluate((el) => el === document.activeElement),
      `${what}: the tab stop has focus`,
    ).toBe(true);
  };
  await tabTo(page, batch.row(2).getByRole('gridcell').nth(2));
  await oneTabStop('tabbed in');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowRight');
  await expect(batch.row(4).getByRole('gridcell').nth(3)).toBeFocused();
  await oneTabStop('moved by arrows');
  // To the last row's actions, which scrolls the first rows out of the rendered ones.
  await page.keyboard.press('Control+End');
  await expect(page.getByRole('button', { name: 'Actions for row 61' })).toBeFocused();
  await oneTabStop('at the end');
  await page.keyboard.press('Control+Home');
  await expect(page.getByRole('checkbox', { name: 'Select row 2' })).toBeFocused();
  await oneTabStop('back at the start');
  // Its row removed, the tab stop is in the row that takes its place.
  await page.keyboard.press('End');
  await page.keyboard.press('Enter');
  await page.getByRole('menuitem', { name: 'Remove' }).press('Enter');
  await expect(batch.counts()).toHaveText('59 users');
  await expect(page.getByRole('button', { name: 'Actions for row 3' })).toBeFocused();
  await oneTabStop('after a remove');
  // Leaving the grid and coming back lands on the same cell.
  await page.keyboard.press('Shift+Tab');
  await expect(page.getByRole('button', { name: 'Actions for row 3' })).not.toBeFocused();
  await tabTo(page, page.getByRole('button', { name: 'Actions for row 3' }));
  await oneTabStop('tabbed back in');
});
