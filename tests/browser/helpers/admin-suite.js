// What the admin page's Chromium suites share: one caspio-demo server (the page, the sandbox
// and caspio-auth on one origin) and one Chromium per test file, and the calls a test makes
// on the sandbox itself.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium, collectErrors } from './chromium.js';
import { startDemo } from './demo-server.js';

export const SECRET = 'sandbox-secret';
export const CLIENT_ID = 'sandbox-client';
export const LAPTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/**
 * Chromium's console line for a fetch answered with status. A test that provokes such an
 * answer on purpose (a 401 from an expired token, a bad query) allows it; anything else in
 * the console fails the test.
 * @param {number} status
 */
export const failedLoad = (status) => new RegExp(`^console: Failed to load resource: the server responded with a status of ${status}\\b`);

/**
 * Registers the test file's before and after hooks, which start the demo server and Chromium
 * (then run setup, if given) and stop them, and returns the suite: its demo and browser are
 * set once before has run. A file's own set-up goes in setup, which runs once both have
 * started (a root-level before hook of the file's own was seen to run before them).
 * @param {{setup?: () => Promise<void>}} [options]
 */
export function adminSuite({ setup } = {}) {
  const suite = {
    /** @type {any} */ demo: undefined,
    /** @type {import('playwright-core').Browser | undefined} */ browser: undefined,
    /** A control or stats call on the sandbox, on the page's origin. */
    async sandbox(path, method = 'GET') {
      const res = await fetch(suite.demo.origin + path, { method });
      assert.ok(res.ok, `${method} ${path}: ${res.status}`);
      return res.json();
    },
    /**
     * Opens the page in a fresh context (viewport LAPTOP unless given); the returned check()
     * asserts a clean console but for the lines allow matches. clock installs Playwright's
     * clock, which runs with real time until a test moves it.
     * @param {{viewport?: {width: number, height: number}, allow?: RegExp[], permissions?: string[], clock?: boolean}} [options]
     */
    async openPage({ viewport = LAPTOP, allow = [], permissions = [], clock = false } = {}) {
      const context = await suite.browser.newContext({ viewport });
      if (permissions.length > 0) await context.grantPermissions(permissions, { origin: suite.demo.origin });
      if (clock) await context.clock.install();
      const page = await context.newPage();
      const errors = collectErrors(page);
      await page.goto(suite.demo.url);
      await page.waitForSelector('body[data-ready="true"]');
      return {
        page,
        context,
        check() {
          const unexpected = errors.filter((e) => !allow.some((re) => re.test(e)));
          assert.deepEqual(unexpected, [], 'console errors');
        },
      };
    },
    /** A REST call made by the test itself (its own login), to check what the page did. */
    async api(path) {
      const tokenRes = await fetch(`${suite.demo.origin}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: SECRET }),
      });
      const { access_token: token } = await tokenRes.json();
      const res = await fetch(`${suite.demo.origin}/rest/v2/${path}`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 200, `GET ${path}`);
      return res.json();
    },
  };
  before(async () => {
    [suite.demo, suite.browser] = await Promise.all([startDemo(), launchChromium()]);
    await setup?.();
  });
  after(async () => {
    await suite.browser?.close();
    await suite.demo?.stop();
  });
  return suite;
}
