// The admin page (web/) as a person uses it, at a laptop's size (1280x800) and a phone's
// (390x844): where what answers an action shows (in the viewport, beside the request),
// where the focus goes, how many messages a failure gives, what the explorer and the event
// log keep across a reload, and the screenshots README.md shows (docs/admin-page.png and
// docs/admin-page-phone.png, written by this test).
//
//   node --test tests/browser/page.test.js      (after ./build.sh build)
import { test, describe, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { adminSuite, SECRET, LAPTOP, PHONE, failedLoad } from './helpers/admin-suite.js';

const DOCS = fileURLToPath(new URL('../../docs/', import.meta.url));

const suite = adminSuite();
const { sandbox, openPage } = suite;

/** Connects with the demo's prefilled form (the secret typed again, as a person would). */
async function connect(page) {
  await page.fill('#client-secret', SECRET);
  await page.click('#connect-button');
  await page.waitForSelector('#table-list button');
}

/** An element's box in the viewport (what boundingBox reports), asserted present. */
async function box(page, selector) {
  const b = await page.locator(selector).boundingBox();
  assert.ok(b, `${selector} is laid out`);
  return b;
}

const inViewport = (b, viewport) => b.y >= 0 && b.y + Math.min(b.height, 40) <= viewport.height;
const focused = (page) => page.evaluate(() => {
  const a = document.activeElement;
  return a ? `${a.tagName.toLowerCase()}#${a.id}${a.closest('#table-list') ? ' in #table-list' : ''}` : '';
});

/** Hides the status line, so that a screenshot shows the page as it rests. */
const hideStatus = (page) => page.evaluate(() => document.getElementById('status').classList.remove('visible'));

describe('the admin page for daily use', () => {
  beforeEach(async () => { await sandbox('/__sandbox/reset', 'POST'); });

  test('laptop: Connect is on screen, then the tables take the view and the focus; the response shows beside its request', async () => {
    const { page, context, check } = await openPage();
    const connectButton = await box(page, '#connect-button');
    assert.ok(connectButton.y + connectButton.height <= LAPTOP.height, `Connect is below the fold (y ${connectButton.y})`);

    await connect(page);
    await page.waitForFunction(() => document.activeElement?.closest('#table-list'));
    const heading = await box(page, '#tables-heading');
    assert.ok(inViewport(heading, LAPTOP), `the tables heading is in view (y ${heading.y})`);
    assert.equal(await focused(page), 'button# in #table-list', 'the focus is on the first table');

    // With a table open, the explorer is further down: a click on an example answers in view,
    // beside the request.
    await page.keyboard.press('Enter');
    await page.waitForSelector('#grid tbody tr');
    await page.click('[data-example="orders"]');
    await page.waitForSelector('#ex-status.pill-ok');
    const response = await box(page, '#ex-response');
    const request = await box(page, '#explorer-form');
    assert.ok(inViewport(response, LAPTOP), `the response is in view (y ${response.y})`);
    assert.ok(response.x >= request.x + request.width, `the response is beside the request (x ${response.x} vs ${request.x}+${request.width})`);
    assert.ok(response.y < request.y + request.height, 'side by side, not below');

    // The screenshot README.md shows: the page at rest with Orders open.
    await page.click('[data-example="tables"]');
    await page.waitForSelector('#ex-status.pill-ok');
    await page.evaluate(() => window.scrollTo(0, 0));
    await hideStatus(page);
    await page.screenshot({ path: `${DOCS}admin-page.png` });
    check();
    await context.close();
  });

  test('phone: a compact token summary, the tables right after it, and the response in view after Send', async () => {
    const { page, context, check } = await openPage({ viewport: PHONE });
    const summary = async () => {
      const token = await box(page, '#token-card');
      const tables = await box(page, '#tables-heading');
      assert.ok(token.height <= 130, `the token panel is a summary (${token.height} px high)`);
      assert.ok(tables.y - (token.y + token.height) <= 60, `the tables follow the token summary (${token.y + token.height} → ${tables.y})`);
      return tables;
    };
    await summary();
    await connect(page);
    const tables = await summary();
    await page.evaluate(() => window.scrollTo(0, 0));
    assert.ok((await box(page, '#tables-heading')).y < PHONE.height - 100, `the tables start on the first screen (y ${tables.y})`);
    // Details opens the rest of the panel.
    await page.click('#token-more');
    assert.equal(await page.isVisible('#refresh-button'), true);
    assert.equal(await page.getAttribute('#token-more', 'aria-expanded'), 'true');
    await page.click('#token-more');

    await page.selectOption('#ex-method', 'GET');
    await page.fill('#ex-path', 'tables/Orders/records');
    await page.fill('#q-pagesize', '5');
    await page.click('#ex-send');
    await page.waitForSelector('#ex-status.pill-ok');
    const response = await box(page, '#ex-response');
    assert.ok(inViewport(response, PHONE), `the response is in view after Send (y ${response.y})`);

    // The status line (showing now) covers no control: it stays in the header bar, and every
    // control below the bar is the element at its own centre.
    assert.ok(await page.isVisible('#status.visible'), 'a message shows');
    const covered = await page.evaluate(() => {
      const bar = document.querySelector('header').getBoundingClientRect();
      const status = document.getElementById('status').getBoundingClientRect();
      const out = [];
      if (status.top < bar.top - 0.5 || status.bottom > bar.bottom + 0.5) out.push(`the status line leaves the bar: ${status.top}..${status.bottom}`);
      for (const n of document.querySelectorAll('input, select, textarea, button')) {
        const r = n.getBoundingClientRect();
        if (r.width === 0 || r.height === 0) continue;
        const x = r.left + r.width / 2;
        const y = r.top + r.height / 2;
        if (y <= bar.bottom || y >= innerHeight) continue;
        const hit = document.elementFromPoint(x, y);
        if (hit && hit !== n && !n.contains(hit) && !(n.labels && [...n.labels].some((l) => l.contains(hit)))) out.push(`${n.tagName.toLowerCase()}#${n.id} under ${hit.tagName.toLowerCase()}#${hit.id}.${hit.className}`);
      }
      return out;
    });
    assert.deepEqual(covered, []);

    await page.evaluate(() => window.scrollTo(0, 0));
    await hideStatus(page);
    await page.screenshot({ path: `${DOCS}admin-page-phone.png` });
    check();
    await context.close();
  });

  test('a failure after a success: the success is no longer shown, and the failure is said once', async () => {
    const { page, context, check } = await openPage({ allow: [failedLoad(400)] });
    await connect(page);
    await page.click('#table-list button[data-table="Orders"]');
    await page.waitForSelector('#grid tbody tr');
    const cell = (field) => page.locator(`#grid tbody tr[data-key="1"] button.cell[data-field="${field}"]`);
    const input = page.locator('#grid tbody tr[data-key="1"] input.cell-input');
    await cell('Status').click();
    await input.fill('Shipped');
    await input.press('Enter');
    await page.waitForFunction(() => /Saved/.test(document.getElementById('status').textContent) && document.getElementById('status').classList.contains('visible'));
    // The server refuses the next save (400): "Saved" must not stand beside the error.
    const fault = await fetch(`${suite.demo.origin}/__sandbox/faults`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ route: '/rest/v2/tables/Orders/records', status: 400, count: 1 }),
    });
    assert.ok(fault.ok, `fault: ${fault.status}`);
    await cell('Product').click();
    await input.fill('Refused Mug');
    await input.press('Enter');
    await page.waitForSelector('#tables-error:not([hidden]), #grid [role="alert"]:not([hidden])');
    const status = await page.evaluate(() => {
      const s = document.getElementById('status');
      return s.classList.contains('visible') ? s.textContent : '';
    });
    assert.doesNotMatch(status, /Saved/, 'the toast still reports success');
    // The explorer's failed request: its error box, and no second message.
    await page.click('[data-example="error"]');
    await page.waitForSelector('#ex-error:not([hidden])');
    const messages = await page.evaluate(() => [...document.querySelectorAll('.error-box:not([hidden]), [role="alert"]:not([hidden]), #status.visible')]
      .filter((n) => /NoSuchField|400/.test(n.textContent)).map((n) => n.id));
    assert.deepEqual(messages, ['ex-error'], 'one message for the bad query');
    check();
    await context.close();
  });

  test('the explorer keeps its fields, its history (run again) and named requests across a reload and in a new tab', async () => {
    const { page, context, check } = await openPage();
    await connect(page);
    await page.click('[data-example="tables"]');
    await page.waitForSelector('#ex-status.pill-ok');
    await page.click('[data-example="fields"]');
    await page.waitForFunction(() => document.getElementById('ex-body-out').textContent.includes('Fields') || document.getElementById('ex-body-out').textContent.includes('Name'));
    await page.fill('#ex-path', 'tables/Orders/records');
    await page.fill('#q-where', 'PK_ID=7');
    await page.fill('#ex-headers', 'X-Private: keep-out-of-storage');
    await page.click('#ex-send');
    await page.waitForFunction(() => document.querySelectorAll('#ex-history li').length === 3);
    const lines = await page.$$eval('#ex-history li', (ls) => ls.map((l) => l.textContent));
    assert.match(lines[0], /GET tables\/Orders\/records\?q\.where=PK_ID=7.*200/);
    assert.match(lines[2], /GET tables.*200/);

    // Run again: the second entry (Customer fields) is sent as it was.
    const sent = page.waitForRequest((r) => r.url().endsWith('/rest/v2/tables/Customers/fields'));
    await page.click('#ex-history li:nth-child(2) button');
    await sent;
    assert.equal(await page.inputValue('#ex-path'), 'tables/Customers/fields');

    // A named request.
    await page.fill('#ex-path', 'tables/Orders/records');
    await page.fill('#q-where', "Status = 'Pending'");
    await page.fill('#ex-save-name', 'Pending orders');
    await page.press('#ex-save-name', 'Enter');
    await page.waitForSelector('#ex-saved li');
    await page.fill('#ex-path', 'tables/Products/fields');
    await page.fill('#q-where', '');

    for (const tab of [page, await context.newPage()]) {
      if (tab === page) await page.reload();
      else await tab.goto(suite.demo.url);
      await tab.waitForSelector('body[data-ready="true"]');
      assert.equal(await tab.inputValue('#ex-path'), 'tables/Products/fields', 'the fields come back');
      assert.equal(await tab.locator('#ex-history li').count(), 4);
      assert.match(await tab.textContent('#ex-saved'), /Pending orders/);
    }
    await page.click('#ex-saved li button:has-text("Pending orders")');
    assert.equal(await page.inputValue('#q-where'), "Status = 'Pending'");
    assert.equal(await page.inputValue('#ex-path'), 'tables/Orders/records');
    const kept = await page.evaluate(() => JSON.stringify(Object.entries(localStorage)));
    const token = await page.evaluate(() => Object.values(sessionStorage).map((v) => { try { return JSON.parse(v); } catch { return null; } }).find((s) => s?.access_token)?.access_token);
    assert.ok(token && !kept.includes(token), 'no token kept');
    assert.ok(!kept.includes(SECRET) && !kept.includes('keep-out-of-storage'), 'no secret, no header kept');
    check();
    await context.close();
  });

  test('the event log keeps more than 12 entries, survives a reload, and agrees with the counters', async () => {
    const { page, context, check } = await openPage();
    await connect(page);
    for (let i = 1; i <= 7; i++) {
      await page.click('#refresh-button');
      await page.waitForFunction((n) => document.getElementById('token-refreshes')?.textContent === String(n), i);
    }
    const read = async () => ({
      entries: await page.locator('#token-events li').count(),
      requests: await page.locator('#token-events li', { hasText: 'Token request:' }).count(),
      counter: Number(await page.textContent('#token-requests')),
    });
    const before = await read();
    assert.ok(before.entries >= 16, `the log shows ${before.entries} entries`);
    assert.equal(before.counter, 8);
    assert.equal(before.requests, before.counter, 'the log and the counter count the same requests');
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    await page.waitForSelector('#table-list button');
    assert.deepEqual(await read(), before, 'the log survives the reload');
    check();
    await context.close();
  });
});
