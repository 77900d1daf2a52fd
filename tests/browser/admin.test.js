// The admin page (web/) in Chromium, against `caspio-demo -serve`: the page, the sandbox
// and caspio-auth on one origin. Each test has a fresh browser context (empty storages)
// and a reset sandbox, and ends with no console error.
//
//   node --test tests/browser/admin.test.js      (after ./build.sh build)
import { test, describe, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ARTIFACTS } from './helpers/chromium.js';
import { adminSuite, SECRET, CLIENT_ID, failedLoad } from './helpers/admin-suite.js';

const LAPTOP = { width: 1280, height: 860 };
/** What the sandbox answers a token request with, as Caspio does: expires_in 86399. */
const TOKEN_LIFETIME_MS = 86_399_000;
const DAY_MS = 24 * 3600 * 1000;
/** The client's default refresh margin (index.d.ts: 300 s), as the page words it. */
const DEFAULT_MARGIN = '5 min';


const suite = adminSuite();
const { sandbox, api } = suite;
/** The page in a fresh context, at this file's laptop size unless told. @param {Parameters<typeof suite.openPage>[0]} [options] */
const openPage = (options) => suite.openPage({ viewport: LAPTOP, ...options });

/** Fills what the demo did not prefill and connects; waits for the table list. */
async function connect(page, { credentials = 'body', apiVersion = 'v2', secret = SECRET, tokenStorage = 'session', remember = false, refreshMargin = '' } = {}) {
  await page.selectOption('#credentials', credentials);
  await page.selectOption('#api-version', apiVersion);
  await page.selectOption('#token-storage', tokenStorage);
  if (refreshMargin !== '') await page.fill('#refresh-margin-input', String(refreshMargin));
  await page.fill('#client-secret', secret);
  if (remember) await page.check('#remember-secret');
  await page.click('#connect-button');
}

async function tableNames(page) {
  await page.waitForSelector('#table-list button');
  return page.$$eval('#table-list button', (bs) => bs.map((b) => b.textContent));
}

async function openTable(page, name) {
  await page.click(`#table-list button[data-table="${name}"]`);
  await page.waitForSelector('#grid tbody tr');
}

/** The instant a <time> element of the page shows, in Unix milliseconds. */
async function shownTime(page, selector) {
  return Date.parse(await page.getAttribute(`${selector} time`, 'datetime'));
}

/** Requests the page sends to the token endpoint, from now on. */
function watchTokenRequests(page) {
  const seen = [];
  page.on('request', (r) => { if (r.url() === `${suite.demo.origin}/oauth/token`) seen.push(r); });
  return seen;
}

/** Every key and value of both storages, as one string per entry. */
async function storageDump(page) {
  return page.evaluate(() => {
    const out = [];
    for (const [label, area] of [['local', localStorage], ['session', sessionStorage]]) {
      for (let i = 0; i < area.length; i++) {
        const key = area.key(i);
        out.push(`${label} ${key} = ${area.getItem(key)}`);
      }
    }
    return out;
  });
}

/** Hides the status toast, which would cover part of a screenshot for a few seconds. */
const hideToast = (page) => page.evaluate(() => {
  const toast = document.getElementById('status');
  toast.style.transition = 'none';
  toast.classList.remove('visible');
});

const shot = async (page, name, options = {}) => {
  await hideToast(page);
  await page.screenshot({ path: join(ARTIFACTS, `admin-${name}.png`), ...options });
};

describe('admin page', () => {
  beforeEach(async () => { await sandbox('/__sandbox/reset', 'POST'); });

  test('the demo prefills the form; connecting with credentials in the body or a Basic header lists the tables', async () => {
    for (const credentials of ['body', 'basic']) {
      const { page, context, check } = await openPage();
      assert.equal(await page.inputValue('#integration-url'), suite.demo.origin);
      assert.equal(await page.inputValue('#client-id'), CLIENT_ID);
      if (credentials === 'body') await shot(page, 'connect-form', { fullPage: true });

      const tokenRequests = [];
      page.on('request', (r) => { if (r.url() === `${suite.demo.origin}/oauth/token`) tokenRequests.push(r); });
      await connect(page, { credentials });
      assert.deepEqual(await tableNames(page), ['Customers', 'Orders', 'Products']);
      await page.waitForSelector('#connection-badge.badge-on');
      // With the margin left empty the client's default applies, as its status() reports it.
      await page.waitForSelector('#lease-line:not([hidden])');
      assert.equal(await page.textContent('#refresh-margin'), DEFAULT_MARGIN);

      assert.equal(tokenRequests.length, 1, 'one login');
      const body = new URLSearchParams(tokenRequests[0].postData() ?? '');
      const authorization = await tokenRequests[0].headerValue('authorization');
      assert.equal(body.get('grant_type'), 'client_credentials');
      if (credentials === 'body') {
        assert.equal(body.get('client_secret'), SECRET);
        assert.equal(authorization, null);
      } else {
        assert.equal(body.get('client_secret'), null);
        assert.equal(authorization, `Basic ${Buffer.from(`${CLIENT_ID}:${SECRET}`).toString('base64')}`);
      }
      check();
      await context.close();
    }
    const stats = await sandbox('/__sandbox/stats');
    assert.equal(stats.token_requests.client_credentials, 2);
  });

  test('pages through the 2,500 orders (v3 gives the total)', async () => {
    const { page, context, check } = await openPage();
    await connect(page, { apiVersion: 'v3' });
    await tableNames(page);
    await openTable(page, 'Orders');
    await page.selectOption('#page-size', '100');
    await page.waitForFunction(() => document.querySelectorAll('#grid tbody tr').length === 100);
    assert.match(await page.textContent('#page-info'), /records 1–100 of 2,500 · page 1 of 25/);
    assert.ok(await page.isDisabled('#page-prev'));

    await page.click('#page-next');
    await page.waitForSelector('#grid tbody tr[data-key="101"]');
    assert.match(await page.textContent('#page-info'), /records 101–200 of 2,500 · page 2 of 25/);

    await page.fill('#page-number', '25');
    await page.press('#page-number', 'Enter');
    await page.waitForSelector('#grid tbody tr[data-key="2500"]');
    assert.ok(await page.isDisabled('#page-next'));

    await page.click('#page-prev');
    await page.waitForSelector('#grid tbody tr[data-key="2400"]');
    assert.equal(await page.inputValue('#page-number'), '24');

    // The screenshot for the README: the first page of Orders at laptop width.
    await page.selectOption('#page-size', '25');
    await page.waitForSelector('#grid tbody tr[data-key="2301"]'); // the first record in view stays in view
    await page.fill('#page-number', '1');
    await page.press('#page-number', 'Enter');
    await page.waitForSelector('#grid tbody tr[data-key="1"]');
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, 'table-grid');
    // docs/admin-page.png, shown in README.md, is written by page.test.js.

    // The explorer shows v3's answers as they come: Pagination, and fields with IsFormula.
    await page.click('[data-example="orders"]');
    await page.waitForSelector('#ex-status.pill-ok');
    let body = JSON.parse(await page.textContent('#ex-body-out'));
    assert.deepEqual(body.Pagination, { PageNumber: 1, PageSize: 10, TotalCount: 2500 });
    assert.equal(body.Result.length, 10);
    await page.click('[data-example="fields"]');
    await page.waitForFunction(() => document.getElementById('ex-body-out').textContent.includes('IsFormula'));
    body = JSON.parse(await page.textContent('#ex-body-out'));
    assert.ok(body.Result.every((f) => typeof f.IsFormula === 'boolean' && !('Editable' in f)), 'fields carry IsFormula');
    check();
    await context.close();
  });

  test('creates, edits and deletes a record (checked through the API)', async () => {
    const { page, context, check } = await openPage();
    await connect(page);
    await tableNames(page);
    await openTable(page, 'Orders');

    await page.click('#record-add');
    await page.waitForSelector('#add-dialog[open]');
    await page.fill('#add-CustomerID', '7');
    await page.fill('#add-Product', 'Admin Page Lamp');
    await page.fill('#add-Quantity', '2');
    await page.fill('#add-Total', '19.5');
    await page.fill('#add-Status', 'Pending');
    await page.fill('#add-OrderDate', '2026-01-02T03:04:05');
    await page.press('#add-OrderDate', 'Enter');
    await page.waitForFunction(() => /Added record 2501 to Orders/.test(document.getElementById('status').textContent));
    assert.equal(await page.isVisible('#add-dialog'), false);
    let [added] = (await api('tables/Orders/records?q.where=PK_ID=2501')).Result;
    assert.equal(added.Product, 'Admin Page Lamp');
    assert.equal(added.Total, 19.5);

    // Edit the new record's Status inline, on the last page.
    await page.fill('#page-number', '101');
    await page.press('#page-number', 'Enter');
    await page.waitForSelector('#grid tr[data-key="2501"]');
    await page.click('#grid tr[data-key="2501"] button.cell[data-field="Status"]');
    const input = page.locator('#grid tr[data-key="2501"] input.cell-input');
    await input.fill('Shipped');
    await input.press('Enter');
    await page.waitForSelector('#grid tr[data-key="2501"] button.cell[data-field="Status"]:text("Shipped")');
    [added] = (await api('tables/Orders/records?q.where=PK_ID=2501')).Result;
    assert.equal(added.Status, 'Shipped');

    // A bad value is refused in the page, before any request.
    await page.click('#grid tr[data-key="2501"] button.cell[data-field="Quantity"]');
    await input.fill('two');
    await input.press('Enter');
    await page.waitForSelector('#grid tr[data-key="2501"] .cell-error:not([hidden])');
    assert.match(await page.textContent('#grid tr[data-key="2501"] .cell-error'), /Quantity takes a whole number; "two" is not one/);
    await input.press('Escape');
    assert.equal(await page.isVisible('#grid .cell-error'), false);

    // Delete asks first: Cancel keeps the record, Delete removes it.
    await page.click('#grid tr[data-key="2501"] .row-delete');
    await page.waitForSelector('#delete-dialog[open]');
    assert.match(await page.textContent('#delete-text'), /Record 2501 will be deleted from Orders/);
    await page.keyboard.press('Enter'); // Cancel has the focus
    assert.equal(await page.isVisible('#delete-dialog'), false);
    assert.equal((await api('tables/Orders/records?q.where=PK_ID=2501')).Result.length, 1);

    await page.click('#grid tr[data-key="2501"] .row-delete');
    await page.click('#delete-confirm');
    await page.waitForFunction(() => /Deleted record 2501/.test(document.getElementById('status').textContent));
    await page.waitForFunction(() => !document.querySelector('#grid tr[data-key="2501"]'));
    assert.equal((await api('tables/Orders/records?q.where=PK_ID=2501')).Result.length, 0);
    check();
    await context.close();
  });

  test('an access token expired on the server is refreshed without the user noticing', async () => {
    const { page, context, check } = await openPage({ allow: [failedLoad(401)] });
    const loginFrom = Date.now();
    await connect(page);
    await tableNames(page);
    await page.waitForSelector('#token-state[data-phase="valid"]');
    const loginBy = Date.now();
    assert.match(await page.textContent('#token-countdown'), /^2[34] h \d\d m \d\d s$/);
    // The refresh token's expiry, as the client reckons it: 60 days after the login, while it
    // is unused. The login happened between loginFrom and loginBy, on the page's clock (this
    // machine's), however long it took.
    const unused = await shownTime(page, '#refresh-expiry');
    assert.ok(unused >= loginFrom + 60 * DAY_MS && unused <= loginBy + 60 * DAY_MS,
      `an unused refresh token expires 60 days after the login, not ${new Date(unused).toISOString()}`);
    assert.match(await page.textContent('#refresh-expiry'), /^in 59 days, /);

    await sandbox('/__sandbox/clock?advance=25h', 'POST');
    await page.click('#tables-reload');
    await page.waitForFunction(() => document.getElementById('token-refreshes')?.textContent === '1');
    await page.waitForSelector('#token-state[data-phase="valid"]');
    assert.equal(await page.isVisible('#tables-error'), false, 'the call succeeded');
    assert.equal(await page.textContent('#token-logins'), '1');
    assert.match(await page.textContent('#token-events'), /Refreshed: new access token/);
    // Used once, it lasts a year from when it was minted.
    const used = await shownTime(page, '#refresh-expiry');
    assert.ok(Math.abs(used - unused - 305 * DAY_MS) < 60_000, `a used refresh token expires a year after it was minted, not ${new Date(used).toISOString()}`);
    assert.equal(await page.textContent('#token-requests'), '2', 'the client counts a login and a refresh');
    const stats = await sandbox('/__sandbox/stats');
    assert.equal(stats.token_requests.client_credentials, 1);
    assert.equal(stats.token_requests.refresh_token, 1);

    // The token stays masked until Show is pressed.
    const stored = await page.evaluate(() => Object.values(sessionStorage).map((v) => { try { return JSON.parse(v); } catch { return null; } }).find((s) => s?.access_token));
    assert.ok(stored?.access_token);
    assert.ok(!(await page.textContent('#token-value')).includes(stored.access_token));
    await page.click('#token-show');
    assert.equal(await page.textContent('#token-value'), stored.access_token);
    assert.equal(await page.getAttribute('#token-show', 'aria-pressed'), 'true');
    await page.click('#token-show');
    await hideToast(page);
    await page.locator('#token-heading').locator('xpath=ancestor::section').screenshot({ path: join(ARTIFACTS, 'admin-token-panel.png') });
    check();
    await context.close();
  });

  test('after the refresh token is revoked, the next call logs in again', async () => {
    const { page, context, check } = await openPage({ allow: [failedLoad(401), failedLoad(400)] });
    await connect(page);
    await tableNames(page);
    await sandbox('/__sandbox/revoke', 'POST');
    await sandbox('/__sandbox/clock?advance=25h', 'POST'); // the refresh is tried first, and refused
    await page.click('#tables-reload');
    await page.waitForFunction(() => document.getElementById('token-logins')?.textContent === '2');
    await page.waitForSelector('#token-state[data-phase="valid"]');
    assert.equal(await page.isVisible('#tables-error'), false, 'the call succeeded');
    const stats = await sandbox('/__sandbox/stats');
    assert.equal(stats.token_requests.client_credentials, 2);
    check();
    await context.close();
  });

  test('a wrong secret shows a clear error that does not contain it', async () => {
    const wrong = 'wrong-secret-7Hq2vX';
    const { page, context, check } = await openPage({ allow: [failedLoad(401)] });
    await connect(page, { secret: wrong });
    await page.waitForSelector('#connect-error:not([hidden])');
    const message = await page.textContent('#connect-error');
    assert.match(message, /The token endpoint refused the request/);
    assert.match(message, /invalid_client/);
    assert.match(message, /Check the Client ID and Client Secret/);
    assert.ok(!message.includes(wrong), 'the error shows no secret');
    assert.ok(!(await page.evaluate(() => document.body.innerText)).includes(wrong), 'no secret anywhere on the page');
    assert.ok(!(await storageDump(page)).some((e) => e.includes(wrong)), 'no secret in storage');
    assert.equal(await page.textContent('#connection-badge'), 'Connection failed');
    assert.equal(await page.isVisible('#connect-form'), true, 'the form stays open to fix it');
    await shot(page, 'error');
    check();
    await context.close();
  });

  test('a reload keeps the session (sessionStorage) without a new login', async () => {
    const { page, context, check } = await openPage();
    await connect(page);
    await tableNames(page);
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    assert.deepEqual(await tableNames(page), ['Customers', 'Orders', 'Products']);
    await page.waitForSelector('#connection-badge.badge-on');
    assert.equal(await page.getAttribute('#token-state', 'data-phase'), 'valid');
    assert.equal(await page.textContent('#token-logins'), '1');
    const stats = await sandbox('/__sandbox/stats');
    assert.equal(stats.token_requests.client_credentials, 1, 'no new login');
    assert.equal(stats.token_requests.refresh_token ?? 0, 0);
    check();
    await context.close();
  });

  test('a session restored without the secret asks for it once the token is refused, sending no token request, then refreshes', async () => {
    const { page, context, check } = await openPage({ allow: [failedLoad(401)] });
    await connect(page);
    await tableNames(page);
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    await tableNames(page);
    assert.equal(await page.inputValue('#client-secret'), '', 'the secret did not survive the reload');
    assert.equal(await page.textContent('#token-requests'), '1');

    const sent = watchTokenRequests(page);
    await sandbox('/__sandbox/clock?advance=25h', 'POST');
    await page.click('#tables-reload');
    await page.waitForSelector('#connect-error:not([hidden])');
    assert.match(await page.textContent('#connect-error'), /The server no longer accepts the stored access token, and getting a new one needs the Client Secret/);
    assert.equal(await page.isVisible('#client-secret'), true, 'the form is open to take it');
    assert.equal(await page.getAttribute('#client-secret', 'placeholder'), 'needed now');
    assert.equal(await page.getAttribute('#token-state', 'data-phase'), 'held');
    const events = await page.textContent('#token-events');
    assert.match(events, /The API refused the access token \(401\)/);
    assert.match(events, /Refresh held: the Client Secret is not in memory, so nothing was sent/);
    // The log survives the reload: no token request is newer than the first login.
    assert.doesNotMatch(events.split('Logged in')[0], /Token request/);
    // The client held the refresh: nothing left the page, and its counter did not move.
    assert.equal(sent.length, 0, 'no token request left the page');
    assert.equal(await page.textContent('#token-requests'), '1');
    let stats = await sandbox('/__sandbox/stats');
    assert.equal(stats.token_requests.refresh_token ?? 0, 0, 'no token request reached the server');
    assert.equal(stats.token_requests.client_credentials, 1);

    await page.fill('#client-secret', SECRET);
    await page.press('#client-secret', 'Enter');
    await page.waitForFunction(() => document.getElementById('token-refreshes')?.textContent === '1');
    await page.waitForSelector('#connection-badge.badge-on');
    stats = await sandbox('/__sandbox/stats');
    assert.equal(stats.token_requests.client_credentials, 1, 'the stored refresh token was used: no new login');
    assert.equal(stats.token_requests.refresh_token, 1);
    assert.equal(sent.length, 1);
    assert.equal(new URLSearchParams(sent[0].postData() ?? '').get('grant_type'), 'refresh_token');
    check();
    await context.close();
  });

  test("a session restored without the secret uses the stored token until the client's lease ends, then asks for the secret without a request", async () => {
    const { page, context, check } = await openPage({ clock: true });
    await connect(page);
    await tableNames(page);
    const leaseEnd = await shownTime(page, '#lease-until');
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    await tableNames(page);
    await page.waitForSelector('#token-state[data-phase="valid"]');
    assert.equal(await page.textContent('#token-requests'), '1');
    assert.equal(await shownTime(page, '#lease-until'), leaseEnd, 'the stored token, as the client read it back');
    let stats = await sandbox('/__sandbox/stats');
    assert.equal(stats.token_requests.client_credentials, 1, 'the reload made no login');

    // The page's clock passes the end of the lease, still short of the token's expiry: the
    // client would refresh now, and holds that request.
    const sent = watchTokenRequests(page);
    const resourceRequests = stats.resource_requests;
    await page.clock.setSystemTime(leaseEnd + 1000);
    await page.waitForSelector('#token-state[data-phase="expired"]');
    assert.equal(await page.textContent('#token-state'), 'Refresh due');
    await page.click('#tables-reload');
    await page.waitForSelector('#connect-error:not([hidden])');
    const message = await page.textContent('#connect-error');
    assert.match(message, /The Client Secret is needed/);
    assert.match(message, /restored without the Client Secret, and its access token is due for a refresh/);
    assert.match(message, /the stored refresh token is used, so no new login is needed/);
    assert.equal(await page.getAttribute('#token-state', 'data-phase'), 'held');
    assert.match(await page.textContent('#token-events'), /Refresh held/);
    assert.equal(await page.textContent('#token-requests'), '1', 'the client counted no token request');
    assert.equal(sent.length, 0, 'no token request left the page');
    stats = await sandbox('/__sandbox/stats');
    assert.deepEqual([stats.token_requests.client_credentials, stats.token_requests.refresh_token ?? 0], [1, 0]);
    assert.equal(stats.resource_requests, resourceRequests, 'not even the resource request was sent');
    await hideToast(page);
    await page.locator('#token-heading').locator('xpath=ancestor::section').screenshot({ path: join(ARTIFACTS, 'admin-token-held.png') });

    await page.fill('#client-secret', SECRET);
    await page.press('#client-secret', 'Enter');
    await page.waitForSelector('#connection-badge.badge-on');
    await page.waitForSelector('#token-state[data-phase="valid"]');
    assert.equal(await page.textContent('#token-refreshes'), '1');
    assert.equal(await page.textContent('#token-requests'), '2');
    assert.equal(sent.length, 1);
    assert.equal(new URLSearchParams(sent[0].postData() ?? '').get('grant_type'), 'refresh_token');
    check();
    await context.close();
  });

  test('the token panel shows the refresh margin and lease the client reports; the client judges the margin', async () => {
    const { page, context, check } = await openPage();
    // A margin the client refuses: its message, and no request.
    const sent = watchTokenRequests(page);
    await connect(page, { refreshMargin: 86400 });
    await page.waitForSelector('#connect-error:not([hidden])');
    assert.match(await page.textContent('#connect-error'), /These settings cannot be used.*refreshMargin/s);
    assert.equal(sent.length, 0);

    const before = Date.now();
    await connect(page, { refreshMargin: 3600 });
    await tableNames(page);
    const after = Date.now();
    await page.waitForSelector('#lease-line:not([hidden])');
    assert.equal(await page.textContent('#refresh-margin'), '1 h');
    assert.match(await page.textContent('#lease-line'), /^Used until .+ \(refresh margin 1 h\)$/);
    const leaseEnd = await shownTime(page, '#lease-until');
    const hour = 3600 * 1000;
    assert.ok(leaseEnd >= before + TOKEN_LIFETIME_MS - hour - 1000 && leaseEnd <= after + TOKEN_LIFETIME_MS - hour + 1000,
      `the lease ends an hour before the token expires: ${new Date(leaseEnd).toISOString()}`);

    // The margin is one of the saved settings.
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    await tableNames(page);
    assert.equal(await page.inputValue('#refresh-margin-input'), '3600');
    await page.waitForSelector('#lease-line:not([hidden])');
    assert.equal(await page.textContent('#refresh-margin'), '1 h');
    assert.equal(await shownTime(page, '#lease-until'), leaseEnd);
    await hideToast(page);
    await page.locator('#token-heading').locator('xpath=ancestor::section').screenshot({ path: join(ARTIFACTS, 'admin-token-margin.png') });
    check();
    await context.close();
  });

  test('no secret in any storage unless remembered; Forget clears everything', async () => {
    const { page, context, check } = await openPage();
    await connect(page);
    await tableNames(page);
    let dump = await storageDump(page);
    assert.ok(!dump.some((e) => e.includes(SECRET)), `no secret stored:\n${dump.join('\n')}`);
    assert.ok(dump.some((e) => e.startsWith('session caspio-auth') && e.includes('access_token')), 'tokens in sessionStorage');
    assert.ok(!dump.some((e) => e.startsWith('local ')), 'nothing in localStorage');

    // Tokens on this device, and the secret remembered: localStorage, with a warning.
    await page.click('#connect-toggle');
    await page.selectOption('#token-storage', 'local');
    await page.fill('#client-secret', SECRET);
    await page.check('#remember-secret');
    assert.match(await page.textContent('#remember-warning'), /stored unencrypted in this browser's localStorage/);
    await page.click('#connect-button');
    await page.waitForSelector('#connect-form', { state: 'hidden' });
    dump = await storageDump(page);
    assert.ok(dump.some((e) => e.startsWith('local caspio-auth') && e.includes(SECRET)), 'the secret is remembered');
    assert.ok(dump.some((e) => e.startsWith('local caspio-auth') && e.includes('access_token')), 'tokens in localStorage');
    assert.ok(!dump.some((e) => e.startsWith('session caspio-auth') && e.includes('access_token')), `none left in sessionStorage:\n${dump.join('\n')}`);
    assert.equal((await sandbox('/__sandbox/stats')).token_requests.client_credentials, 1, 'the tokens moved: no new login');

    await page.click('#connect-toggle');
    await page.click('#forget-button');
    dump = await storageDump(page);
    assert.deepEqual(dump.filter((e) => / caspio-auth/.test(e)), [], 'Forget leaves no caspio-auth key');
    assert.equal(await page.inputValue('#client-secret'), '');
    assert.equal(await page.textContent('#connection-badge'), 'Not connected');
    assert.equal(await page.getAttribute('#token-state', 'data-phase'), 'none');
    check();
    await context.close();
  });

  test('the REST explorer shows X-Caspio-Request-ID, Caspio errors and checks the JSON body', async () => {
    const { page, context, check } = await openPage({ allow: [failedLoad(400)] });
    await connect(page);
    await tableNames(page);

    await page.fill('#ex-path', 'tables/Orders/records');
    await page.fill('#q-where', "NoSuchField = 'x'");
    await page.press('#q-where', 'Enter');
    await page.waitForSelector('#ex-error:not([hidden])');
    const error = await page.textContent('#ex-error');
    assert.match(error, /Caspio answered 400 IncorrectQueryParameter/);
    assert.match(error, /CodeIncorrectQueryParameter/);
    assert.match(error, /Message.*NoSuchField/);
    assert.match(await page.textContent('#ex-request-id'), /^X-Caspio-Request-ID [0-9a-f-]{36}$/);
    assert.match(await page.textContent('#ex-status'), /^400/);

    await page.fill('#q-where', "Status = 'Shipped'");
    await page.fill('#q-select', 'PK_ID, Product, Total');
    await page.fill('#q-orderby', 'Total DESC');
    await page.fill('#q-pagesize', '5');
    await page.fill('#q-pagenumber', '');
    const sent = page.waitForRequest((r) => r.url().includes('/rest/v2/tables/Orders/records'));
    await page.click('#ex-send');
    const url = new URL((await sent).url());
    assert.deepEqual([...url.searchParams.keys()].sort(), ['q.orderBy', 'q.pageSize', 'q.select', 'q.where'], 'empty parameters are left out');
    await page.waitForSelector('#ex-status.pill-ok');
    assert.match(await page.textContent('#ex-time'), /^\d+ ms$/);
    assert.equal(await page.isVisible('#ex-error'), false);
    const body = JSON.parse(await page.textContent('#ex-body-out'));
    assert.equal(body.Result.length, 5);
    assert.deepEqual(Object.keys(body.Result[0]), ['PK_ID', 'Product', 'Total']);
    await page.click('#ex-response details.headers summary');
    assert.match(await page.textContent('#ex-headers-out tr.highlight'), /X-Caspio-Request-ID\s*[0-9a-f-]{36}/);
    await hideToast(page);
    await page.locator('#explorer-heading').locator('xpath=ancestor::section').screenshot({ path: join(ARTIFACTS, 'admin-explorer.png') });

    // A body that is not JSON is refused before sending.
    const before = (await sandbox('/__sandbox/stats')).resource_requests;
    await page.selectOption('#ex-method', 'POST');
    await page.fill('#ex-body', '{"Status": ');
    await page.click('#ex-send');
    await page.waitForSelector('#ex-body-error:not([hidden])');
    assert.match(await page.textContent('#ex-body-error'), /not valid JSON/);
    assert.equal(await page.getAttribute('#ex-body', 'aria-invalid'), 'true');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'ex-body');
    assert.equal((await sandbox('/__sandbox/stats')).resource_requests, before, 'nothing was sent');
    check();
    await context.close();
  });

  test('copy as curl redacts the token unless "include the token" is ticked', async () => {
    const { page, context, check } = await openPage({ permissions: ['clipboard-read', 'clipboard-write'] });
    await connect(page);
    await tableNames(page);
    const token = await page.evaluate(() => Object.values(sessionStorage).map((v) => { try { return JSON.parse(v); } catch { return null; } }).find((s) => s?.access_token)?.access_token);
    assert.ok(token);

    await page.fill('#ex-path', 'tables/Orders/records');
    await page.fill('#q-where', 'PK_ID=5');
    await page.click('#curl-copy');
    await page.waitForSelector('#curl-output:not([hidden])');
    const redacted = await page.inputValue('#curl-output');
    assert.match(redacted, /^curl '.*\/rest\/v2\/tables\/Orders\/records\?q\.where=PK_ID%3D5'/);
    assert.match(redacted, /-H 'Authorization: Bearer <token>'/);
    assert.ok(!redacted.includes(token));
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), redacted);

    await page.check('#curl-token');
    await page.click('#curl-copy');
    await page.waitForFunction(() => document.getElementById('curl-output').value.includes('Bearer ') && !document.getElementById('curl-output').value.includes('<token>'));
    assert.ok((await page.inputValue('#curl-output')).includes(`Bearer ${token}`));
    check();
    await context.close();
  });

  test('the curl command shows the URL and method the client sends, however the path is written', async () => {
    // A table named "My Table" is not in the sandbox: its 404 is expected.
    const { page, context, check } = await openPage({ permissions: ['clipboard-read', 'clipboard-write'], allow: [failedLoad(404)] });
    await connect(page);
    await tableNames(page);
    const base = `${suite.demo.origin}/rest/v2`;
    const curlUrl = async () => /^curl (?:-X \w+ )?'([^']*)'/.exec(await page.inputValue('#curl-output'))?.[1];
    // Each way of writing one resource: the command shows the URL the request goes to.
    for (const [typed, want] of [
      ['v2/tables', `${base}/tables`],
      ['rest/v2/tables', `${base}/tables`],
      [`${base}/tables`, `${base}/tables`],
      ['tables/My Table/fields', `${base}/tables/My%20Table/fields`],
    ]) {
      await page.fill('#ex-path', typed);
      await page.click('#curl-copy');
      await page.waitForSelector('#curl-output:not([hidden])');
      assert.equal(await curlUrl(), want, typed);
      const sent = page.waitForRequest((r) => r.url().startsWith(base + '/tables'));
      await page.click('#ex-send');
      assert.equal((await sent).url(), want, `${typed}: the request sent`);
      await page.waitForSelector('#ex-send:not([disabled])');
      assert.equal(await curlUrl(), want, `${typed}: after sending`);
    }
    // A command shown for a DELETE is replaced by the GET sent after it.
    await page.selectOption('#ex-method', 'DELETE');
    await page.fill('#ex-path', 'tables/Orders/records');
    await page.fill('#q-where', 'PK_ID=999999');
    await page.click('#curl-copy');
    await page.waitForFunction(() => document.getElementById('curl-output').value.startsWith('curl -X DELETE '));
    await page.selectOption('#ex-method', 'GET');
    await page.fill('#q-where', '');
    await page.click('#ex-send');
    await page.waitForSelector('#ex-send:not([disabled])');
    const shown = await page.inputValue('#curl-output');
    assert.ok(!shown.includes('DELETE'), shown);
    assert.equal(await curlUrl(), `${base}/tables/Orders/records`);
    check();
    await context.close();
  });

  test('keyboard: the connect form is tabbed through in order and submitted with Enter', async () => {
    const { page, context, check } = await openPage();
    const order = [];
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press('Tab');
      order.push(await page.evaluate(() => document.activeElement?.id ?? ''));
    }
    assert.deepEqual(order, [
      'skip-link', 'endpoint-kind', 'integration-url', 'api-version', 'credentials', 'client-id',
      'client-secret', 'token-storage', 'refresh-margin-input', 'remember-secret', 'connect-button', 'forget-button',
    ]);
    // Focus is visible: a 3 px outline on the focused control.
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineWidth);
    assert.equal(outline, '3px');

    await page.focus('#client-secret');
    await page.keyboard.press('Enter');
    assert.deepEqual(await tableNames(page), ['Customers', 'Orders', 'Products']);
    check();
    await context.close();
  });

  test('every control has a label, and text contrast meets WCAG AA', async () => {
    const { page, context, check } = await openPage({ allow: [failedLoad(400)] });
    await connect(page);
    await tableNames(page);
    await openTable(page, 'Orders');
    await page.click('[data-example="error"]'); // an error box and a response on show
    await page.waitForSelector('#ex-error:not([hidden])');
    await page.click('#ex-response details.headers summary');
    await hideToast(page);

    const problems = await page.evaluate(() => {
      const visible = (n) => n.getClientRects().length > 0 && getComputedStyle(n).visibility !== 'hidden';
      const out = [];
      // Labels: every visible control has an accessible name from a label, aria or its text.
      for (const n of document.querySelectorAll('input, select, textarea, button')) {
        if (!visible(n)) continue;
        const named = (n.labels && n.labels.length > 0) || n.getAttribute('aria-label') || n.getAttribute('aria-labelledby') ||
          (n.tagName === 'BUTTON' && n.textContent.trim() !== '');
        if (!named) out.push(`no label: ${n.tagName.toLowerCase()}#${n.id}`);
      }
      // Contrast: the text of every visible element against the first opaque background.
      const rgb = (c) => (c.match(/[\d.]+/g) ?? []).map(Number);
      const lum = ([r, g, b]) => {
        const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
        return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
      };
      const background = (n) => {
        for (let e = n; e; e = e.parentElement) {
          const c = rgb(getComputedStyle(e).backgroundColor);
          if (c.length === 3 || (c.length === 4 && c[3] === 1)) return c.slice(0, 3);
        }
        return [255, 255, 255];
      };
      const faded = (n) => {
        for (let e = n; e; e = e.parentElement) if (Number(getComputedStyle(e).opacity) < 1) return true;
        return false;
      };
      for (const n of document.querySelectorAll('body *')) {
        const hasText = [...n.childNodes].some((c) => c.nodeType === 3 && c.textContent.trim() !== '');
        if (!hasText || !visible(n) || n.closest(':disabled, [aria-disabled="true"]') || faded(n)) continue;
        const style = getComputedStyle(n);
        const fg = rgb(style.color).slice(0, 3);
        const [l1, l2] = [lum(fg), lum(background(n))].sort((a, b) => b - a);
        const ratio = (l1 + 0.05) / (l2 + 0.05);
        const size = parseFloat(style.fontSize);
        const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
        if (ratio < (large ? 3 : 4.5)) out.push(`contrast ${ratio.toFixed(2)}: ${n.tagName.toLowerCase()}#${n.id}.${n.className} "${n.textContent.trim().slice(0, 30)}"`);
      }
      return out;
    });
    assert.deepEqual(problems, []);
    check();
    await context.close();
  });

  test('at 360 px nothing overflows the viewport sideways; the grid reads as cards, without a scroller of its own', async () => {
    const { page, context, check } = await openPage({ viewport: { width: 360, height: 780 } });
    await shot(page, 'phone-connect', { fullPage: true });
    await connect(page);
    await tableNames(page);
    await openTable(page, 'Orders');
    await page.click('[data-example="orders"]');
    await page.waitForSelector('#ex-status.pill-ok');
    await page.click('#curl-copy');
    await page.waitForSelector('#curl-output:not([hidden])');

    const overflow = await page.evaluate(() => {
      const width = document.documentElement.clientWidth;
      const scrollers = (node) => {
        for (let n = node.parentElement; n; n = n.parentElement) {
          const x = getComputedStyle(n).overflowX;
          if (x === 'auto' || x === 'scroll' || x === 'hidden') return true;
        }
        return false;
      };
      const out = [];
      for (const node of document.querySelectorAll('body *')) {
        const r = node.getBoundingClientRect();
        if (r.width === 0 || r.height === 0 || scrollers(node)) continue;
        if (r.right > width + 0.5 || r.left < -0.5) out.push(`${node.tagName.toLowerCase()}#${node.id}.${node.className} ${Math.round(r.left)}..${Math.round(r.right)}`);
      }
      const grid = document.getElementById('grid-scroll');
      return { width, pageWidth: document.documentElement.scrollWidth, out, gridScrolls: grid.scrollWidth > grid.clientWidth };
    });
    assert.equal(overflow.pageWidth, overflow.width, 'the page does not scroll sideways');
    assert.deepEqual(overflow.out, [], 'elements past the viewport');
    assert.equal(overflow.gridScrolls, false, 'the grid does not scroll sideways in a box of its own');
    await shot(page, 'phone', { fullPage: true });
    check();
    await context.close();
  });
});
