// The npm package in Chromium (Debian's, through playwright-core), against the sandbox:
// loaded unbundled (native ES modules and an import map) and bundled by esbuild; caspio.wasm
// streamed, or compiled from bytes when the server sends another type; and the tabs of one
// origin sharing one token through webStorage (sessionStorage, the default, and
// localStorage): one token request between them, a new token handed to the other tabs
// without a request of theirs, a reload that keeps the session, and no client secret in
// any storage.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { launchChromium, collectErrors } from './helpers/chromium.js';
import { startStaticServer } from './helpers/server.js';
import { startSandbox, CLIENT_ID, CLIENT_SECRET } from '../js/helpers/sandbox.js';

const js = new URL('../../js/', import.meta.url);

/** @type {import('playwright-core').Browser} */
let browser;
let server;
let sandbox;
/** A sandbox whose tokens live 1 s, which clients use for half of it (the margin is at most half). */
let shortSandbox;
let bundleDir;

before(async () => {
  bundleDir = await mkdtemp(join(tmpdir(), 'caspio-bundle-'));
  // What a user's bundler does with the page's entry: caspio-auth resolved through its
  // exports map with the browser condition, and caspio.wasm copied beside the bundle,
  // where new URL('./caspio.wasm', import.meta.url) finds it.
  await esbuild.build({
    entryPoints: [fileURLToPath(new URL('./helpers/pages/app.js', import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    conditions: ['browser'],
    outdir: bundleDir,
    logLevel: 'silent',
  });
  await copyFile(new URL('caspio.wasm', js), join(bundleDir, 'caspio.wasm'));
  [browser, server, sandbox, shortSandbox] = await Promise.all([
    launchChromium(),
    startStaticServer({ '/bundle/': bundleDir + '/' }),
    startSandbox(),
    startSandbox(['-token-ttl', '1s']),
  ]);
});

after(async () => {
  await browser?.close();
  await Promise.all([server?.close(), sandbox?.stop(), shortSandbox?.stop()]);
  if (bundleDir) await rm(bundleDir, { recursive: true, force: true });
});

/** Counts the page's WebAssembly compilations by kind, before any of its scripts runs. */
function countCompilations() {
  const counts = { compileStreaming: 0, compile: 0 };
  Object.defineProperty(globalThis, '__compilations', { value: counts });
  const { compileStreaming, compile } = WebAssembly;
  WebAssembly.compileStreaming = function (...args) { counts.compileStreaming++; return compileStreaming.apply(this, args); };
  WebAssembly.compile = function (...args) { counts.compile++; return compile.apply(this, args); };
}

/**
 * Opens a test page in context and waits for its report.
 * @param {import('playwright-core').BrowserContext} context
 * @param {string} name the page under tests/browser/helpers/pages/
 * @param {Record<string, string>} [params] the page's query (see app.js)
 */
async function openPage(context, name, params = {}, sb = sandbox) {
  const page = await context.newPage();
  const errors = collectErrors(page);
  await page.addInitScript(countCompilations);
  const query = new URLSearchParams({ sandbox: sb.url, id: CLIENT_ID, secret: CLIENT_SECRET, ...params });
  await page.goto(`${server.url}/pages/${name}?${query}`);
  const report = await pageReport(page);
  return { page, errors, report };
}

async function pageReport(page) {
  await page.waitForFunction(() => globalThis.report !== undefined);
  const report = await page.evaluate(() => globalThis.report);
  assert.equal(report.error, undefined, `the page failed: ${report.error}`);
  return report;
}

/** The sandbox's token requests by grant. */
async function tokenRequests(sb = sandbox) {
  const { token_requests: t } = await sb.stats();
  return { client_credentials: t.client_credentials ?? 0, refresh_token: t.refresh_token ?? 0 };
}

/** Every key and value of the page's sessionStorage and localStorage. */
function storageOf(page) {
  return page.evaluate(() => {
    const all = (area) => Object.fromEntries(Array.from({ length: area.length }, (_, i) => [area.key(i), area.getItem(area.key(i))]));
    return { session: all(sessionStorage), local: all(localStorage) };
  });
}

const tokenOf = (page) => page.evaluate(async () => (await globalThis.client.token()).accessToken);

/** Waits until the page's client gives token (it hears of new tokens, it does not ask). */
function awaitToken(page, token) {
  return page.evaluate(async (want) => {
    for (let i = 0; i < 100; i++) {
      if ((await globalThis.client.token()).accessToken === want) return true;
      await new Promise((resolve) => { setTimeout(resolve, 20); });
    }
    return false;
  }, token);
}

test('an import map page loads caspio-auth unbundled, streams caspio.wasm and reads tables', async () => {
  await sandbox.reset();
  const context = await browser.newContext();
  try {
    const { page, errors, report } = await openPage(context, 'unbundled.html');
    assert.equal(report.status, 200);
    assert.ok(Array.isArray(report.tables) && report.tables.includes('Orders'), JSON.stringify(report.tables));
    assert.deepEqual(await tokenRequests(), { client_credentials: 1, refresh_token: 0 });
    assert.deepEqual(await page.evaluate(() => globalThis.__compilations), { compileStreaming: 1, compile: 0 });
    const wasm = server.log.filter((e) => e.path.endsWith('caspio.wasm'));
    assert.deepEqual(wasm.at(-1), { path: '/pkg/caspio.wasm', type: 'application/wasm', status: 200 });
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('an esbuild bundle loads caspio.wasm beside it, or from initialize({wasmURL}) or ({wasmModule})', async (t) => {
  const cases = [
    { name: 'beside the bundle', params: {}, wasm: '/bundle/caspio.wasm' },
    { name: 'initialize({wasmURL})', params: { wasm: '/pkg/caspio.wasm' }, wasm: '/pkg/caspio.wasm' },
    { name: 'initialize({wasmModule})', params: { module: '/pkg/caspio.wasm' }, wasm: '/pkg/caspio.wasm' },
  ];
  for (const c of cases) {
    await t.test(c.name, async () => {
      await sandbox.reset();
      const context = await browser.newContext();
      try {
        const from = server.log.length;
        const { errors, report } = await openPage(context, 'bundled.html', c.params);
        assert.equal(report.status, 200);
        assert.ok(report.tables.includes('Orders'));
        assert.deepEqual(await tokenRequests(), { client_credentials: 1, refresh_token: 0 });
        const served = server.log.slice(from).map((e) => e.path);
        assert.deepEqual(served.filter((p) => p.endsWith('.wasm')), [c.wasm]);
        assert.deepEqual(served.filter((p) => p.startsWith('/pkg/') && p.endsWith('.js')), [], 'the bundle loads no module of the package');
        assert.deepEqual(errors, []);
      } finally {
        await context.close();
      }
    });
  }
});

test('caspio.wasm sent as application/octet-stream still works, compiled from its bytes', async () => {
  await sandbox.reset();
  const context = await browser.newContext();
  try {
    const { page, errors, report } = await openPage(context, 'octet.html');
    assert.equal(report.status, 200);
    assert.ok(report.tables.includes('Orders'));
    assert.deepEqual(await page.evaluate(() => globalThis.__compilations), { compileStreaming: 0, compile: 1 });
    const wasm = server.log.filter((e) => e.path.endsWith('caspio.wasm'));
    assert.deepEqual(wasm.at(-1), { path: '/pkg-octet/caspio.wasm', type: 'application/octet-stream', status: 200 });
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

// sessionStorage is per tab: each tab keeps its own copy of the state, which the tabs keep
// in step over a BroadcastChannel, and a new tab asks the open ones. localStorage is one
// store for the origin. Either way the tabs make one token request between them.
for (const storage of ['session', 'local']) {
  test(`tabs sharing ${storage}Storage: one token request between them, a new token reaches every tab, a reload keeps the session, no secret stored`, async () => {
    await sandbox.reset();
    const context = await browser.newContext();
    try {
      const params = { storage, fetch: '0' };
      const a = await openPage(context, 'unbundled.html', params);
      const b = await openPage(context, 'unbundled.html', params);

      // Both tabs fetch at once: one login between them, one token.
      const statuses = await Promise.all([a, b].map(({ page }) => page.evaluate(async () => (await globalThis.client.fetch('tables')).status)));
      assert.deepEqual(statuses, [200, 200]);
      assert.deepEqual(await tokenRequests(), { client_credentials: 1, refresh_token: 0 });
      const first = await tokenOf(a.page);
      assert.equal(await tokenOf(b.page), first);

      // A refreshes; B gets the new token without asking the token endpoint.
      await b.page.evaluate(() => { globalThis.events.length = 0; });
      const refreshed = await a.page.evaluate(async () => (await globalThis.client.refresh()).accessToken);
      assert.notEqual(refreshed, first);
      assert.equal(await awaitToken(b.page, refreshed), true, 'tab B should get the refreshed token');
      assert.equal((await b.page.evaluate(async () => (await globalThis.client.fetch('tables')).status)), 200);
      assert.deepEqual(await tokenRequests(), { client_credentials: 1, refresh_token: 1 });
      assert.deepEqual(await b.page.evaluate(() => globalThis.events.filter((e) => e === 'token_request')), []);

      // A new tab reuses the token (with sessionStorage, the open tabs hand it over).
      const c = await openPage(context, 'unbundled.html', params);
      assert.equal(await tokenOf(c.page), refreshed);
      assert.deepEqual(await tokenRequests(), { client_credentials: 1, refresh_token: 1 });

      // What is stored: the versioned state, under the client's key, and never the secret.
      const key = `caspio-auth:${sandbox.url}/oauth/token#${CLIENT_ID}`;
      for (const { page } of [a, b, c]) {
        const stored = await storageOf(page);
        const entries = Object.entries({ ...stored.session, ...stored.local });
        assert.ok(entries.length > 0);
        for (const [k, v] of entries) {
          assert.ok(!k.includes(CLIENT_SECRET) && !v.includes(CLIENT_SECRET), `the secret is stored under ${k}`);
        }
        const area = storage === 'session' ? stored.session : stored.local;
        assert.deepEqual(Object.keys(area), [key]);
        const state = JSON.parse(area[key]);
        assert.equal(state.version, 1);
        assert.equal(state.client_id, CLIENT_ID);
        assert.equal(state.access_token, refreshed);
        assert.deepEqual(Object.keys(state).filter((f) => /secret/i.test(f)), []);
        if (storage === 'local') assert.deepEqual(stored.session, {}, 'localStorage only');
      }

      // A reload keeps the session, from the tab's own storage: the other tabs are gone.
      await a.page.close();
      await c.page.close();
      await b.page.reload();
      await pageReport(b.page);
      assert.equal(await tokenOf(b.page), refreshed);
      assert.equal((await b.page.evaluate(async () => (await globalThis.client.fetch('tables')).status)), 200);
      assert.deepEqual(await tokenRequests(), { client_credentials: 1, refresh_token: 1 });
      for (const tab of [a, b, c]) assert.deepEqual(tab.errors, []);
    } finally {
      await context.close();
    }
  });
}

test('tabs racing for a token, again and again, make one token request a round', async (t) => {
  const context = await browser.newContext();
  try {
    const tabs = [];
    for (let i = 0; i < 2; i++) tabs.push(await openPage(context, 'unbundled.html', { storage: 'memory', fetch: '0' }, shortSandbox));
    /** Makes a client in every tab over a fresh key, and has them all call token() at once. */
    const race = (area, key, margin) => Promise.all(tabs.map(({ page }) => page.evaluate(async ({ area, key, margin, url, id, secret }) => {
      const { createClient, webStorage } = globalThis.caspio;
      globalThis.raced ??= await createClient({
        integrationUrl: url, clientId: id, clientSecret: secret, refreshMargin: margin,
        storage: webStorage(area === 'session' ? sessionStorage : localStorage, key),
      });
      return (await globalThis.raced.token()).accessToken;
    }, { area, key, margin, url: shortSandbox.url, id: CLIENT_ID, secret: CLIENT_SECRET })));
    const forget = () => Promise.all(tabs.map(({ page }) => page.evaluate(() => { globalThis.raced?.close(); globalThis.raced = undefined; })));

    for (const area of ['session', 'local']) {
      await t.test(`${area}Storage: logins`, async () => {
        for (let round = 0; round < 10; round++) {
          const before = await tokenRequests(shortSandbox);
          try {
            const tokens = await race(area, `login-race-${area}-${round}`, 1);
            assert.equal(new Set(tokens).size, 1, `round ${round}: one token`);
            assert.deepEqual(await tokenRequests(shortSandbox), { ...before, client_credentials: before.client_credentials + 1 }, `round ${round}`);
          } finally {
            await forget();
          }
        }
      });
      // A token counts as expired 0.5 s after it came (it lives 1 s, and the margin is at
      // most half of that): every round both tabs find it expired, and one of them refreshes
      // it. The other must take the new state, not the stale one it may read first.
      await t.test(`${area}Storage: refreshes`, async () => {
        const key = `refresh-race-${area}`;
        try {
          await race(area, key, 1);
          for (let round = 0; round < 5; round++) {
            await new Promise((resolve) => { setTimeout(resolve, 600); });
            const before = await tokenRequests(shortSandbox);
            const tokens = await race(area, key, 1);
            assert.equal(new Set(tokens).size, 1, `round ${round}: one token`);
            assert.deepEqual(await tokenRequests(shortSandbox), { ...before, refresh_token: before.refresh_token + 1 }, `round ${round}`);
          }
        } finally {
          await forget();
        }
      });
    }
    for (const tab of tabs) assert.deepEqual(tab.errors, []);
  } finally {
    await context.close();
  }
});

test('webStorage checks its arguments, and says what to do outside browsers', async () => {
  const context = await browser.newContext();
  try {
    const { page, errors } = await openPage(context, 'unbundled.html', { storage: 'memory', fetch: '0' });
    const outcomes = await page.evaluate(async () => {
      const { webStorage } = globalThis.caspio;
      const outcome = async (fn) => {
        try {
          await fn();
          return 'ok';
        } catch (err) {
          return `${err.name}: ${err.message}`;
        }
      };
      const keyed = webStorage(localStorage, 'checks');
      return {
        notStorage: await outcome(() => webStorage(42)),
        emptyKey: await outcome(() => webStorage(localStorage, '')),
        unkeyed: await outcome(() => webStorage(localStorage).get()),
        keyedRoundTrip: await outcome(async () => {
          await keyed.set({ version: 1 });
          if (JSON.stringify(await keyed.get()) !== '{"version":1}') throw new Error('not read back');
          await keyed.delete();
          if ((await keyed.get()) !== null) throw new Error('not deleted');
        }),
        key: keyed.key,
        lock: typeof keyed.lock,
      };
    });
    assert.match(outcomes.notStorage, /^TypeError: .*sessionStorage \(the default\) or localStorage/);
    assert.match(outcomes.emptyKey, /^TypeError: .*key must be a non-empty string/);
    assert.match(outcomes.unkeyed, /^TypeError: .*pass it to createClient/);
    assert.equal(outcomes.keyedRoundTrip, 'ok');
    assert.equal(outcomes.key, 'checks');
    assert.equal(outcomes.lock, 'function', 'Chromium has Web Locks');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
  for (const entry of ['node.js', 'workerd.js']) {
    if (entry === 'workerd.js') continue; // imports caspio.wasm as a module: Workers only
    const { webStorage } = await import(new URL(entry, js));
    assert.throws(() => webStorage(), (err) => err instanceof TypeError && /webStorage needs a browser/.test(err.message));
  }
});

test('two clients of one account in one page, on sessionStorage and on localStorage: the localStorage one stores the state it hears of', async () => {
  await sandbox.reset();
  const context = await browser.newContext();
  try {
    const { page, errors } = await openPage(context, 'unbundled.html', { storage: 'memory', fetch: '0' });
    const key = `caspio-auth:${sandbox.url}/oauth/token#${CLIENT_ID}`;
    const seen = await page.evaluate(async ({ url, id, secret, key }) => {
      const { createClient, webStorage } = globalThis.caspio;
      const options = { integrationUrl: url, clientId: id, clientSecret: secret };
      const session = await createClient({ ...options, storage: webStorage(sessionStorage) });
      const local = await createClient({ ...options, storage: webStorage(localStorage) });
      const logged = (await session.token()).accessToken; // a login, written to sessionStorage and posted to the tabs' channel
      await new Promise((resolve) => { setTimeout(resolve, 100); });
      const heard = (await local.token()).accessToken;
      return { logged, heard, stored: JSON.parse(localStorage.getItem(key) ?? 'null')?.access_token ?? null };
    }, { url: sandbox.url, id: CLIENT_ID, secret: CLIENT_SECRET, key });
    assert.equal(seen.heard, seen.logged, 'the localStorage client took the state from the channel');
    assert.equal(seen.stored, seen.logged, 'and localStorage holds it');
    assert.deepEqual(await tokenRequests(), { client_credentials: 1, refresh_token: 0 });

    // A new tab (the first one closed) reads it from localStorage: no second login.
    await page.close();
    const next = await context.newPage();
    await next.goto(`${server.url}/pages/unbundled.html?${new URLSearchParams({ sandbox: sandbox.url, id: CLIENT_ID, secret: CLIENT_SECRET, storage: 'local', fetch: '0' })}`);
    await pageReport(next);
    assert.equal(await tokenOf(next), seen.logged);
    assert.deepEqual(await tokenRequests(), { client_credentials: 1, refresh_token: 0 });
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('loading the package leaves no globalThis.Go, fs, process or path behind, and restores a Go a page had', async () => {
  const context = await browser.newContext();
  try {
    const { page, errors, report } = await openPage(context, 'unbundled.html');
    assert.equal(report.status, 200);
    assert.deepEqual(await page.evaluate(() => ['Go', 'fs', 'process', 'path'].filter((name) => name in globalThis)), []);
    const other = await context.newPage();
    await other.addInitScript(() => { globalThis.Go = { anotherLibrary: true }; });
    await other.goto(`${server.url}/pages/unbundled.html?${new URLSearchParams({ sandbox: sandbox.url, id: CLIENT_ID, secret: CLIENT_SECRET })}`);
    assert.equal((await pageReport(other)).status, 200);
    assert.deepEqual(await other.evaluate(() => globalThis.Go), { anotherLibrary: true });
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('records in Chromium: all 2,500 Orders in key order, a 429 mid-read recovered, break fetches no further page', async () => {
  await sandbox.reset();
  const context = await browser.newContext();
  try {
    const { page, errors } = await openPage(context, 'unbundled.html');
    const before = (await sandbox.stats()).resource_requests;
    const keys = await page.evaluate(async () => {
      const out = [];
      for await (const row of globalThis.client.records('Orders')) out.push(row.PK_ID);
      return out;
    });
    assert.equal(keys.length, 2500);
    assert.ok(keys.every((k, i) => k === i + 1), 'every PK_ID once, in order');
    assert.equal((await sandbox.stats()).resource_requests - before, 3);

    await sandbox.fault({ route: '/rest/v2/tables/Orders/records', status: 429, retry_after: '0' });
    const n = await page.evaluate(async () => (await globalThis.client.records('Orders', { where: "Status = 'Shipped'" }).toArray()).length);
    assert.ok(n > 0);

    const start = (await sandbox.stats()).resource_requests;
    await page.evaluate(async () => {
      let i = 0;
      for await (const row of globalThis.client.records('Orders', { pageSize: 100 })) if (row && ++i === 150) break;
    });
    assert.equal((await sandbox.stats()).resource_requests - start, 2);
    // The browser logs the 429 it was answered; nothing else may fail.
    assert.deepEqual(errors.filter((e) => !e.includes('status of 429')), []);
  } finally {
    await context.close();
  }
});

test('webStorage keeps the newer state by the core\'s rule: a message that is no state never replaces a stored one', async () => {
  await sandbox.reset();
  const context = await browser.newContext();
  try {
    const { page, errors } = await openPage(context, 'unbundled.html', { storage: 'memory', fetch: '0' });
    const seen = await page.evaluate(async ({ url, id, secret }) => {
      const { createClient, webStorage, webStorageKey } = globalThis.caspio;
      const client = await createClient({ integrationUrl: url, clientId: id, clientSecret: secret, storage: webStorage(localStorage) });
      const key = webStorageKey(client);
      const first = (await client.token()).accessToken;
      // Another "tab" announces JSON that counts many token requests but is no state the
      // core reads: the core says the stored state is the newer, so it stays.
      const other = new BroadcastChannel(key);
      other.postMessage({ type: 'state', text: JSON.stringify({ counters: { client_credentials_requests: 99 } }) });
      await new Promise((resolve) => { setTimeout(resolve, 100); });
      other.close();
      const after = (await client.token()).accessToken;
      const stored = JSON.parse(localStorage.getItem(key) ?? 'null');
      client.close();
      return { key, first, after, storedToken: stored?.access_token ?? null };
    }, { url: sandbox.url, id: CLIENT_ID, secret: CLIENT_SECRET });
    assert.equal(seen.key, `caspio-auth:${sandbox.url}/oauth/token#${CLIENT_ID}`, 'webStorageKey names the key webStorage uses');
    assert.equal(seen.after, seen.first, 'the token in use is kept');
    assert.equal(seen.storedToken, seen.first, 'and so is the stored state');
    assert.deepEqual(await tokenRequests(), { client_credentials: 1, refresh_token: 0 }, 'no second login');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});
