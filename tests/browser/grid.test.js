// The admin page's records grid (web/tables.js) in Chromium, against `caspio-demo -serve`,
// driven as a person drives it: clicks, keys and two viewport sizes. Each test checks what
// is on screen: positions in the viewport, where the focus is, contrast, how many editors
// are open. One browser for the file; the tests share one page and run in order.
//
//   node --test tests/browser/grid.test.js      (after ./build.sh build)
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { collectErrors } from './helpers/chromium.js';
import { adminSuite, failedLoad, SECRET, LAPTOP, PHONE } from './helpers/admin-suite.js';

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
/** Chromium's console line for a fetch answered 400: a filter Caspio refuses, on purpose. */
const FAILED_400 = failedLoad(400);

const suite = adminSuite({ setup: openOrders });
const { sandbox } = suite;
/** The Result of a REST call made by the test itself (its own login). @param {string} path */
const api = async (path) => (await suite.api(path)).Result;
/** The page most tests share: laptop size, connected on v2 (no totals), Orders open. */
let context;
let page;
let errors;

async function openOrders() {
  await sandbox('/__sandbox/reset', 'POST');
  context = await suite.browser.newContext({ viewport: LAPTOP });
  page = await context.newPage();
  page.setDefaultTimeout(5000);
  errors = collectErrors(page);
  await page.goto(suite.demo.url);
  await page.waitForSelector('body[data-ready="true"]');
  await connect(page);
  await openTable(page, 'Orders');
}

/** Connects with the demo's prefilled form. */
async function connect(p) {
  await p.fill('#client-secret', SECRET);
  await p.click('#connect-button');
  await p.waitForSelector('#table-list button');
}

async function openTable(p, name) {
  await p.click(`#table-list button[data-table="${name}"]`);
  await p.waitForSelector('#grid tbody tr');
}

/** Waits until the grid is read and shows n records. */
const settled = (n) => page.waitForFunction((count) => document.querySelectorAll('#grid tbody tr').length === count &&
  !document.getElementById('grid').hasAttribute('aria-busy'), n);

/**
 * Shows page n of the given size as a person would (choosing the size, typing the page
 * number) and waits until the pager says so: records (n-1)*size+1 onwards.
 */
async function view(n, size = 25) {
  if (!(await page.isVisible('#table-view'))) await openTable(page, 'Orders');
  if (await page.inputValue('#page-size') !== String(size)) {
    await page.selectOption('#page-size', String(size));
    await settled(size);
  }
  await page.fill('#page-number', String(n));
  await page.press('#page-number', 'Enter');
  const first = ((n - 1) * size + 1).toLocaleString('en-US');
  await page.waitForFunction((f) => document.getElementById('page-info').textContent.startsWith(`records ${f}–`) &&
    !document.getElementById('grid').hasAttribute('aria-busy'), first);
}

/** The texts of one column of the grid. */
const column = (field) => page.$$eval(`#grid tbody td[data-label="${field}"]`, (tds) => tds.map((td) => td.textContent));

/** Where the focus is: the grid cell's row key and column, or the focused element's id. */
const focus = (p = page) => p.evaluate(() => {
  const a = document.activeElement;
  const cell = a?.closest('#grid td, #grid th');
  if (!cell) return { id: a?.id ?? '', tag: a?.tagName.toLowerCase() ?? '', inGrid: false };
  const tr = cell.parentElement;
  return { inGrid: true, key: tr.dataset.key ?? 'head', row: tr.rowIndex, col: cell.cellIndex, tag: a.tagName.toLowerCase(), editor: a.classList.contains('cell-input') };
});

/** The box of a selector in the viewport, and whether it lies wholly inside. */
async function box(selector, p = page) {
  const b = await p.locator(selector).boundingBox();
  assert.ok(b, `${selector} is on screen`);
  const size = p.viewportSize();
  return { ...b, inView: b.x >= 0 && b.y >= 0 && b.x + b.width <= size.width + 0.5 && b.y + b.height <= size.height + 0.5 };
}

/** WCAG contrast of an element's text on its own computed background. */
const contrast = (p, selector) => p.$eval(selector, (n) => {
  const rgb = (c) => (c.match(/[\d.]+/g) ?? []).map(Number).slice(0, 3);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const s = getComputedStyle(n);
  const [l1, l2] = [lum(rgb(s.color)), lum(rgb(s.backgroundColor))].sort((a, b) => b - a);
  return { ratio: (l1 + 0.05) / (l2 + 0.05), color: s.color, background: s.backgroundColor };
});

describe('records grid', () => {
  test('the filter box sends q.where; a condition Caspio refuses shows its message beside the box', async () => {
    const sent = page.waitForRequest((r) => r.url().includes('/tables/Orders/records') && r.url().includes('q.where='));
    await page.fill('#grid-filter', "Status = 'Shipped'");
    await page.press('#grid-filter', 'Enter');
    assert.equal(new URL((await sent).url()).searchParams.get('q.where'), "Status = 'Shipped'");
    await page.waitForFunction(() => [...document.querySelectorAll('#grid tbody td[data-label="Status"]')].every((td) => td.textContent === 'Shipped'));
    const shipped = await api(`tables/Orders/records?${new URLSearchParams({ 'q.where': "Status = 'Shipped'", 'q.orderBy': 'PK_ID', 'q.pageSize': '25', 'q.pageNumber': '1' })}`);
    assert.deepEqual(await page.$$eval('#grid tbody tr', (trs) => trs.map((tr) => tr.dataset.key)), shipped.map((r) => String(r.PK_ID)));
    assert.match(await page.textContent('#page-info'), /filtered/);

    await page.fill('#grid-filter', 'NoSuchField = 1');
    await page.click('#grid-filter-apply');
    await page.waitForSelector('#grid-filter-error:not([hidden])');
    const message = await page.textContent('#grid-filter-error');
    assert.match(message, /NoSuchField/, 'Caspio\'s message');
    assert.equal(await page.getAttribute('#grid-filter', 'aria-invalid'), 'true');
    const input = await box('#grid-filter');
    const error = await box('#grid-filter-error');
    assert.ok(error.inView, 'the message is in view');
    assert.ok(error.y >= input.y && error.y - (input.y + input.height) < 60, `the message is beside the box (box at ${input.y}, message at ${error.y})`);
    // The grid still shows what the last good filter selected.
    assert.deepEqual(await page.$$eval('#grid tbody tr', (trs) => trs.map((tr) => tr.dataset.key)), shipped.map((r) => String(r.PK_ID)));

    await page.click('#grid-filter-clear');
    await page.waitForSelector('#grid tbody tr:first-child[data-key="1"]');
    assert.equal(await page.isVisible('#grid-filter-error'), false);
    assert.equal(await page.getAttribute('#grid-filter', 'aria-invalid'), null);
  });

  test('a click on a column header sorts by it (q.orderBy, a marker, aria-sort); a second click reverses', async () => {
    const header = '#grid thead th:has(button[data-sort="Total"])';
    let sent = page.waitForRequest((r) => r.url().includes('/tables/Orders/records') && r.url().includes('q.orderBy=Total'));
    await page.click(`${header} button`);
    assert.match(new URL((await sent).url()).searchParams.get('q.orderBy'), /^Total ASC\b/);
    await page.waitForSelector(`${header}[aria-sort="ascending"]`);
    let totals = (await column('Total')).map(Number);
    assert.deepEqual(totals, [...totals].sort((a, b) => a - b), 'ascending');
    assert.equal(await page.textContent(`${header} .sort-mark`), '▲');
    assert.equal(await page.$$eval('#grid thead th[aria-sort]', (ths) => ths.length), 1, 'one column is marked sorted');

    sent = page.waitForRequest((r) => r.url().includes('q.orderBy=Total+DESC') || r.url().includes('q.orderBy=Total%20DESC'));
    await page.click(`${header} button`);
    await sent;
    await page.waitForSelector(`${header}[aria-sort="descending"]`);
    totals = (await column('Total')).map(Number);
    assert.deepEqual(totals, [...totals].sort((a, b) => b - a), 'descending');
    const [top] = await api('tables/Orders/records?q.orderBy=Total%20DESC&q.pageSize=5&q.pageNumber=1');
    assert.equal(totals[0], top.Total, 'the largest total of all comes first');
    assert.equal(await page.textContent(`${header} .sort-mark`), '▼');
    assert.equal(await page.getAttribute('#grid thead th:has(button[data-sort="PK_ID"])', 'aria-sort'), null);

    // Back to key order: PK_ID ascending.
    await page.click('#grid thead button[data-sort="PK_ID"]');
    await page.waitForSelector('#grid thead th:has(button[data-sort="PK_ID"])[aria-sort="ascending"]');
    await page.waitForSelector('#grid tbody tr:first-child[data-key="1"]');
  });

  test('Next is disabled on the last page, also on v2, which gives no total', async () => {
    await view(100);
    await page.waitForSelector('#grid tbody tr[data-key="2500"]');
    assert.equal(await page.isDisabled('#page-next'), true, 'page 100 of 2,500 records is the last');
    assert.equal(await page.isDisabled('#page-prev'), false);
    await view(99);
    assert.equal(await page.isDisabled('#page-next'), false);
  });

  test('changing the page size keeps the first record in view in view', async () => {
    await view(5);
    // Scroll the grid until record 110 is the first one under its header.
    await page.evaluate(() => {
      const scroller = document.getElementById('grid-scroll');
      const head = document.querySelector('#grid thead').getBoundingClientRect().height;
      const row = document.querySelector('#grid tr[data-key="110"]');
      scroller.scrollTop += row.getBoundingClientRect().top - scroller.getBoundingClientRect().top - head;
      window.scrollTo(0, 0);
    });
    await page.selectOption('#page-size', '100');
    await settled(100);
    assert.equal(await page.inputValue('#page-number'), '2', 'records 101–200');
    const row = await box('#grid tr[data-key="110"]');
    const scroller = await box('#grid-scroll');
    const head = await box('#grid thead');
    assert.ok(row.inView, `record 110 is in the window (top ${row.y})`);
    assert.ok(row.y >= head.y + head.height - 1 && row.y + row.height <= scroller.y + scroller.height + 1, 'record 110 is in the grid\'s view');

    await page.selectOption('#page-size', '10');
    await settled(10);
    assert.equal(await page.inputValue('#page-number'), '11', 'records 101–110');
    assert.ok((await box('#grid tr[data-key="110"]')).inView);
    await page.selectOption('#page-size', '25');
    await settled(25);
    assert.equal(await page.inputValue('#page-number'), '5');
  });

  test('after Add the grid shows the new record\'s page, marked and focused; Next is then disabled', async () => {
    await view(1);
    await page.click('#record-add');
    await page.waitForSelector('#add-dialog[open]');
    await page.fill('#add-CustomerID', '7');
    await page.fill('#add-Product', 'Grid Lamp');
    await page.fill('#add-Quantity', '2');
    await page.fill('#add-Total', '19.5');
    await page.press('#add-Total', 'Enter');
    await page.waitForSelector('#grid tr.row-added[data-key="2501"]');
    assert.equal(await page.inputValue('#page-number'), '101', '2,501 records at 25 a page: page 101');
    assert.ok((await box('#grid tr[data-key="2501"]')).inView, 'the new record is in view');
    assert.deepEqual(await focus(), { inGrid: true, key: '2501', row: 1, col: 0, tag: 'td', editor: false });
    assert.equal(await page.isDisabled('#page-next'), true);
    assert.equal((await api('tables/Orders/records?q.where=PK_ID=2501'))[0].Product, 'Grid Lamp');
  });

  test('a click on the table already open leaves it as it is', async () => {
    await view(3);
    const fieldsRequests = [];
    const watch = (r) => { if (r.url().includes('/fields') || r.url().includes('/records')) fieldsRequests.push(r.url()); };
    page.on('request', watch);
    await page.click('#table-list button[data-table="Orders"]');
    await page.waitForFunction(() => document.getElementById('grid').contains(document.activeElement));
    page.off('request', watch);
    assert.deepEqual(fieldsRequests, [], 'nothing read again');
    assert.equal(await page.inputValue('#page-number'), '3');
    assert.equal(await page.getAttribute('#grid tbody tr:first-child', 'data-key'), '51');
  });

  test('a reload, and a new tab, bring back the open table, its page and page size', async () => {
    await view(7, 50);
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    await page.waitForSelector('#grid tbody tr:first-child[data-key="301"]');
    assert.equal(await page.textContent('#table-title'), 'Orders');
    assert.equal(await page.inputValue('#page-size'), '50');
    assert.equal(await page.inputValue('#page-number'), '7');
    assert.equal(await page.getAttribute('#table-list button[data-table="Orders"]', 'aria-pressed'), 'true');

    const tab = await context.newPage();
    tab.setDefaultTimeout(5000);
    const tabErrors = collectErrors(tab);
    await tab.goto(suite.demo.url);
    await tab.waitForSelector('body[data-ready="true"]');
    // The tab connects, with the form or with what an open tab hands over.
    if (await tab.isVisible('#connect-button')) await connect(tab);
    await tab.waitForSelector('#grid tbody tr:first-child[data-key="301"]');
    assert.equal(await tab.inputValue('#page-size'), '50');
    assert.equal(await tab.inputValue('#page-number'), '7');
    const kept = await tab.evaluate(() => Object.entries({ ...localStorage }).filter(([k]) => k.startsWith('caspio-auth')));
    assert.ok(kept.length > 0, 'the view is kept on this device');
    assert.ok(kept.every(([, v]) => !v.includes('access_token') && !v.includes('refresh_token') && !v.includes(SECRET)), 'no token and no secret in localStorage');
    assert.deepEqual(tabErrors, []);
    await tab.close();
  });

  test('one cell editor at a time; an invalid value keeps it open with its error beside the cell', async () => {
    await view(2);
    const editors = () => page.$$eval('#grid input.cell-input', (inputs) => inputs.length);
    await page.click('#grid tr[data-key="30"] button.cell[data-field="Quantity"]');
    await page.fill('#grid input.cell-input', 'two');
    await page.click('#grid tr[data-key="34"] button.cell[data-field="Status"]');
    await page.click('#grid tr[data-key="38"] button.cell[data-field="Product"]');
    assert.equal(await editors(), 1, 'one editor');
    assert.deepEqual(await focus(), { inGrid: true, key: '30', row: 5, col: 3, tag: 'input', editor: true });
    const error = await box('#grid tr[data-key="30"] .cell-error');
    const input = await box('#grid tr[data-key="30"] input.cell-input');
    assert.match(await page.textContent('#grid tr[data-key="30"] .cell-error'), /Quantity takes a whole number; "two" is not one/);
    assert.ok(error.inView, 'the error is in view');
    assert.ok(Math.abs(error.y - (input.y + input.height)) < 40 && Math.abs(error.x - input.x) < 40, 'the error is beside the cell');
    assert.equal(await page.isVisible('#tables-error'), false, 'not in the box under the grid');

    await page.keyboard.press('Escape');
    assert.equal(await editors(), 0);
    assert.deepEqual(await focus(), { inGrid: true, key: '30', row: 5, col: 3, tag: 'button', editor: false });

    // A valid value is saved on leaving, and the cell clicked opens.
    await page.click('#grid tr[data-key="30"] button.cell[data-field="Quantity"]');
    await page.fill('#grid input.cell-input', '4');
    await page.click('#grid tr[data-key="34"] button.cell[data-field="Status"]');
    await page.waitForSelector('#grid tr[data-key="34"] input.cell-input');
    assert.equal(await editors(), 1);
    assert.equal(await page.textContent('#grid tr[data-key="30"] button.cell[data-field="Quantity"]'), '4');
    assert.equal((await api('tables/Orders/records?q.where=PK_ID=30'))[0].Quantity, 4);
    await page.keyboard.press('Escape');
    assert.equal(await editors(), 0);
  });

  test('keyboard: the grid is one Tab stop; arrows, Home and End move; Enter and F2 edit; Escape returns to the cell', async () => {
    await view(2);
    assert.equal(await page.getAttribute('#grid', 'role'), 'grid');
    await page.focus('#grid-filter-clear');
    await page.keyboard.press('Tab');
    let at = await focus();
    assert.ok(at.inGrid, 'Tab goes into the grid');
    const tabStops = await page.$$eval('#grid [tabindex="0"], #grid button:not([tabindex="-1"]), #grid input', (ns) => ns.length);
    assert.equal(tabStops, 1, 'one element of the grid is in the Tab order');
    await page.keyboard.press('Tab');
    assert.equal((await focus()).inGrid, false, 'the next Tab leaves the grid');
    await page.keyboard.press('Shift+Tab');
    assert.deepEqual(await focus(), at, 'Shift+Tab comes back to the same cell');

    await page.keyboard.press('Control+Home');
    assert.deepEqual(await focus(), { inGrid: true, key: 'head', row: 0, col: 0, tag: 'button', editor: false });
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowRight');
    assert.deepEqual(await focus(), { inGrid: true, key: '27', row: 2, col: 1, tag: 'button', editor: false });
    await page.keyboard.press('End');
    assert.equal((await focus()).col, 7, 'the last column: Delete');
    await page.keyboard.press('Home');
    assert.deepEqual(await focus(), { inGrid: true, key: '27', row: 2, col: 0, tag: 'td', editor: false });
    await page.keyboard.press('ArrowLeft'); // at the edge nothing moves
    assert.equal((await focus()).col, 0);
    assert.ok((await box('#grid tr[data-key="27"] td:first-child')).inView);

    // Enter edits the Product cell; Escape cancels and returns the focus to the cell.
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Enter');
    assert.deepEqual(await focus(), { inGrid: true, key: '27', row: 2, col: 2, tag: 'input', editor: true });
    await page.keyboard.type('changed, then cancelled');
    await page.keyboard.press('Escape');
    assert.deepEqual(await focus(), { inGrid: true, key: '27', row: 2, col: 2, tag: 'button', editor: false });
    assert.notEqual(await page.textContent('#grid tr[data-key="27"] button.cell[data-field="Product"]'), 'changed, then cancelled');
    await page.keyboard.press('F2');
    assert.deepEqual(await focus(), { inGrid: true, key: '27', row: 2, col: 2, tag: 'input', editor: true });
    await page.keyboard.press('Escape');
    assert.equal((await focus()).tag, 'button');
  });

  test('after a Delete the focus is on the next record; closing a dialog returns the focus', async () => {
    await view(2);
    await page.focus('#grid tr[data-key="27"] .row-delete');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#delete-dialog[open]');
    await page.keyboard.press('Escape');
    assert.equal(await page.isVisible('#delete-dialog'), false);
    assert.deepEqual(await focus(), { inGrid: true, key: '27', row: 2, col: 7, tag: 'button', editor: false });

    await page.keyboard.press('Enter');
    await page.waitForSelector('#delete-dialog[open]');
    await page.click('#delete-confirm');
    await page.waitForFunction(() => !document.querySelector('#grid tr[data-key="27"]'));
    await page.waitForFunction(() => document.activeElement?.closest('#grid tr')?.dataset.key === '28');
    assert.deepEqual(await focus(), { inGrid: true, key: '28', row: 2, col: 7, tag: 'button', editor: false });
    assert.deepEqual(await api('tables/Orders/records?q.where=PK_ID=27'), []);

    await page.click('#record-add');
    await page.waitForSelector('#add-dialog[open]');
    await page.keyboard.press('Escape');
    assert.equal(await page.isVisible('#add-dialog'), false);
    assert.equal((await focus()).id, 'record-add');
    assert.deepEqual(errors.filter((e) => !FAILED_400.test(e)), [], 'console errors');
  });

  describe('at phone and laptop sizes', () => {
    /** A second page: its own context, with touch, and without the page's CSP so that axe can be injected. */
    let phone;
    before(async () => {
      const ctx = await suite.browser.newContext({ viewport: LAPTOP, hasTouch: true, bypassCSP: true });
      phone = await ctx.newPage();
      phone.setDefaultTimeout(5000);
      await phone.goto(suite.demo.url);
      await phone.waitForSelector('body[data-ready="true"]');
      await connect(phone);
      await openTable(phone, 'Orders');
    });

    /** axe-core's serious and critical violations on the page as it is. */
    async function axeViolations() {
      if (!(await phone.evaluate(() => 'axe' in window))) await phone.addScriptTag({ path: AXE });
      const found = await phone.evaluate(async () => {
        const result = await window.axe.run(document, { resultTypes: ['violations'] });
        return result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) }));
      });
      return found.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    }

    test('the selected table\'s label stays readable on hover and after a tap', async () => {
      const selected = '#table-list button[aria-pressed="true"]';
      await phone.hover(selected);
      const hovered = await contrast(phone, selected);
      assert.ok(hovered.ratio >= 4.5, `hovered: ${hovered.color} on ${hovered.background} is ${hovered.ratio.toFixed(2)}:1`);
      await phone.setViewportSize(PHONE);
      await phone.tap(selected);
      const tapped = await contrast(phone, selected);
      assert.ok(tapped.ratio >= 4.5, `tapped: ${tapped.color} on ${tapped.background} is ${tapped.ratio.toFixed(2)}:1`);
      await phone.setViewportSize(LAPTOP);
    });

    test('axe-core finds no serious or critical violation, at 1280x800 and 390x844', async () => {
      await phone.waitForSelector('#grid tbody tr');
      assert.deepEqual(await axeViolations(), [], 'at 1280x800');
      await phone.setViewportSize(PHONE);
      assert.deepEqual(await axeViolations(), [], 'at 390x844');
    });

    test('at 390x844 the grid reads as cards: no scrolling sideways, none inside the page', async () => {
      await phone.setViewportSize(PHONE);
      const layout = await phone.evaluate(() => {
        const scroller = document.getElementById('grid-scroll');
        const cells = [...document.querySelectorAll('#grid tbody td')].map((td) => td.getBoundingClientRect());
        return {
          pageWidth: document.documentElement.scrollWidth,
          innerWidth,
          innerScroll: scroller.scrollWidth > scroller.clientWidth + 1 || scroller.scrollHeight > scroller.clientHeight + 1,
          outside: cells.filter((r) => r.left < -0.5 || r.right > innerWidth + 0.5).length,
          cells: cells.length,
        };
      });
      assert.ok(layout.pageWidth <= layout.innerWidth, `the document is ${layout.pageWidth} px wide in a ${layout.innerWidth} px viewport`);
      assert.equal(layout.innerScroll, false, 'the grid does not scroll inside the page');
      assert.equal(layout.outside, 0, `cells past the viewport's sides, of ${layout.cells}`);
      // A record's fields stack: its Status cell is below its Product cell, each with its name.
      const product = await box('#grid tr[data-key="1"] td[data-label="Product"]', phone);
      const status = await box('#grid tr[data-key="1"] td[data-label="Status"]', phone);
      assert.ok(status.y >= product.y + product.height - 1, 'fields one under the other');
      assert.equal(await phone.$eval('#grid tr[data-key="1"] td[data-label="Status"]', (td) => getComputedStyle(td, '::before').content), '"Status"');
      // The cell editor fits too.
      await phone.click('#grid tr[data-key="1"] button.cell[data-field="Product"]');
      const editor = await box('#grid tr[data-key="1"] input.cell-input', phone);
      assert.ok(editor.inView && editor.x + editor.width <= PHONE.width, 'the editor is within the screen');
      await phone.keyboard.press('Escape');
    });
  });
});
