// The admin page's connection as a person lives with it: a mistyped setting that fails
// beside the working session, an account that cannot be reached, a secret needed after a
// reload, a login that asks first, and tabs that share one sign-in and one sign-out.
//
//   node --test tests/browser/page-session.test.js      (after ./build.sh build)
import { test, describe, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { collectErrors } from './helpers/chromium.js';
import { adminSuite, SECRET, LAPTOP, failedLoad } from './helpers/admin-suite.js';

/** Chromium refuses port 1 before sending anything: a URL that reaches no server. */
const UNREACHABLE = 'http://127.0.0.1:1';
const refused = /^console: Failed to load resource: net::ERR_(UNSAFE_PORT|FAILED)/;

const suite = adminSuite();
const { sandbox } = suite;

/** A page of the page in a context (a new one unless given): a tab. */
async function openTab(context, allow = []) {
  const page = await context.newPage();
  const errors = collectErrors(page);
  await page.goto(suite.demo.url);
  await page.waitForSelector('body[data-ready="true"]');
  page.check = () => assert.deepEqual(errors.filter((e) => !allow.some((re) => re.test(e))), [], 'console errors');
  return page;
}

async function connect(page, { tokenStorage = 'session' } = {}) {
  await page.selectOption('#token-storage', tokenStorage);
  await page.fill('#client-secret', SECRET);
  await page.click('#connect-button');
  await page.waitForSelector('#table-list button');
  await page.waitForSelector('#connection-badge.badge-on');
}

const logins = async () => (await sandbox('/__sandbox/stats')).token_requests.client_credentials ?? 0;
const keys = (page) => page.evaluate(() => [...Object.keys(localStorage), ...Object.keys(sessionStorage)].filter((k) => k.startsWith('caspio-auth')));

/** The visible messages (error boxes, alerts, the status line) whose text matches re. */
const messages = (page, re) => page.evaluate((source) => [...document.querySelectorAll('.error-box, [role="alert"], #status')]
  .filter((n) => !n.hidden && n.getClientRects().length > 0 && getComputedStyle(n).visibility !== 'hidden' && new RegExp(source).test(n.textContent))
  .map((n) => n.id), re.source);

describe('connecting, reconnecting and signing out', () => {
  beforeEach(async () => { await sandbox('/__sandbox/reset', 'POST'); });

  test('a mistyped URL is tried beside the working session: it fails once, names the URL, and nothing is lost or saved', async () => {
    const context = await suite.browser.newContext({ viewport: LAPTOP });
    const page = await openTab(context, [refused]);
    await connect(page);
    const tables = await page.$$eval('#table-list button', (bs) => bs.map((b) => b.textContent));

    await page.click('#connect-toggle');
    assert.equal(await page.inputValue('#client-secret'), '', 'the secret is not shown again');
    await page.fill('#integration-url', UNREACHABLE);
    await page.click('#connect-button'); // the secret field left blank: the secret in memory is used
    await page.waitForSelector('#connect-error:not([hidden])');
    const error = await page.textContent('#connect-error');
    assert.match(error, new RegExp(`${UNREACHABLE}/oauth/token could not be reached`));
    assert.match(error, /check the account's URL/);
    assert.doesNotMatch(error, /Give the Client Secret/);
    assert.deepEqual(await messages(page, /could not be reached|Failed to fetch/), ['connect-error'], 'one message');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'connect-error');

    // The session in use goes on.
    assert.match(await page.textContent('#connection-badge'), /^Connected/);
    assert.deepEqual(await page.$$eval('#table-list button', (bs) => bs.map((b) => b.textContent)), tables);
    assert.equal(await page.textContent('#token-requests'), '1');
    const events = await page.$$eval('#token-events li', (ls) => ls.map((l) => l.textContent));
    assert.equal(events.filter((e) => e.includes(UNREACHABLE)).length, 1, `logged once:\n${events.join('\n')}`);
    assert.equal(events.filter((e) => /Token request: login/.test(e)).length, 1, 'the one login that was sent');
    await page.click('#tables-reload');
    await page.waitForSelector('#tables-reload:not([disabled])');
    assert.equal(await page.isVisible('#tables-error'), false);

    // The failed settings were not saved: a reload comes back to the working ones, without a login.
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    await page.waitForSelector('#table-list button');
    assert.equal(await page.inputValue('#integration-url'), suite.demo.origin);
    assert.equal(await logins(), 1);
    page.check();
    await context.close();
  });

  test('an account that cannot be reached: the badge says so, and the message names the URL', async () => {
    const context = await suite.browser.newContext({ viewport: LAPTOP });
    const page = await openTab(context, [refused]);
    await connect(page);
    await page.route(`${suite.demo.origin}/rest/**`, (route) => route.abort('failed'));
    await page.click('#tables-reload');
    await page.waitForSelector('#tables-error:not([hidden])');
    assert.doesNotMatch(await page.textContent('#connection-badge'), /Connected/);
    const error = await page.textContent('#tables-error');
    assert.ok(error.includes(`${suite.demo.origin}/rest/v2`), `the URL is named: ${error}`);
    assert.match(error, /check the resource URL, the network/);
    await page.unroute(`${suite.demo.origin}/rest/**`);
    await page.click('#tables-reload');
    await page.waitForSelector('#connection-badge.badge-on');
    page.check();
    await context.close();
  });

  test('a secret needed after a reload: one message, the focus on its field, no green badge; typed, the held refresh goes on', async () => {
    const context = await suite.browser.newContext({ viewport: LAPTOP });
    const page = await openTab(context, [failedLoad(401)]);
    await connect(page);
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    await page.waitForSelector('#table-list button');
    await sandbox('/__sandbox/clock?advance=25h', 'POST');
    await page.click('#tables-reload');
    await page.waitForSelector('#connect-error:not([hidden])');
    assert.deepEqual(await messages(page, /Client Secret/), ['connect-error'], 'one message');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'client-secret');
    assert.doesNotMatch(await page.getAttribute('#connection-badge', 'class'), /badge-on/);
    assert.doesNotMatch(await page.textContent('#connection-badge'), /Connected/);

    await page.fill('#client-secret', SECRET); // no click, no Enter
    await page.waitForFunction(() => document.getElementById('token-refreshes')?.textContent === '1');
    await page.waitForSelector('#connection-badge.badge-on');
    const stats = await sandbox('/__sandbox/stats');
    assert.deepEqual([stats.token_requests.client_credentials, stats.token_requests.refresh_token], [1, 1]);
    page.check();
    await context.close();
  });

  test('Authenticate asks first, in a dialog of the page; Cancel and Escape spend nothing; the focus comes back', async () => {
    const context = await suite.browser.newContext({ viewport: LAPTOP });
    const page = await openTab(context);
    await connect(page);
    for (const close of ['Escape', 'cancel']) {
      await page.click('#authenticate-button');
      await page.waitForSelector('#auth-dialog[open]');
      assert.equal(await page.getAttribute('#auth-dialog', 'aria-labelledby'), 'auth-heading');
      assert.match(await page.textContent('#auth-dialog'), /1,000/);
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'auth-cancel', 'Cancel has the focus');
      if (close === 'Escape') await page.keyboard.press('Escape');
      else await page.click('#auth-cancel');
      await page.waitForSelector('#auth-dialog:not([open])', { state: 'attached' });
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'authenticate-button');
    }
    assert.equal(await logins(), 1, 'nothing spent');
    await page.click('#authenticate-button');
    await page.click('#auth-confirm');
    await page.waitForFunction(() => document.getElementById('token-logins')?.textContent === '2');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'authenticate-button');
    assert.equal(await logins(), 2);
    page.check();
    await context.close();
  });

  for (const tokenStorage of ['session', 'local']) {
    test(`tabs (${tokenStorage}Storage): a new tab takes the open tab's sign-in without a login; Forget in one signs out both`, async () => {
      const context = await suite.browser.newContext({ viewport: LAPTOP });
      const first = await openTab(context);
      await connect(first, { tokenStorage });
      const second = await openTab(context);
      // Nothing to press: the new tab is signed in with the first tab's token.
      await second.waitForSelector('#table-list button');
      await second.waitForSelector('#token-state[data-phase="valid"]');
      assert.equal(await logins(), 1, 'no second login');
      if (tokenStorage === 'session') assert.ok((await second.evaluate(() => Object.keys(localStorage))).every((k) => !k.startsWith('caspio-auth-admin:settings')), 'nothing of the sign-in on disk');

      await second.click('#connect-toggle');
      await second.click('#forget-button');
      for (const tab of [first, second]) {
        await tab.waitForSelector('#connection-badge.badge-off');
        assert.equal(await tab.textContent('#connection-badge'), 'Not connected');
        assert.equal(await tab.isVisible('#connect-form'), true);
        assert.equal(await tab.getAttribute('#token-state', 'data-phase'), 'none');
        assert.deepEqual((await keys(tab)).filter((k) => !k.startsWith('caspio-auth-admin:explorer')), []);
      }
      first.check();
      second.check();
      await context.close();
    });
  }
});
