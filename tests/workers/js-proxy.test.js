// The JS proxy Worker (proxy/), bundled as wrangler bundles it (esbuild, the "workerd"
// export condition, caspio-auth from node_modules, caspio.wasm kept as a module import) and
// run in real workerd through Miniflare, against the Caspio sandbox: the proxy conformance
// suite with the TokenBroker Durable Object; the shipped
// wrangler.jsonc, which must grant nothing public; then what the suite cannot see from one
// isolate: token reuse across isolates and restarts, a cold deployment of 200 concurrent
// requests across isolates, expiry, and many concurrent requests sharing one isolate's Go
// instance.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLIENT_SECRET, startLoggedSandbox } from './helpers.js';
import { bundleWorker, parseJSONC, root, startJsProxy, within } from './js-proxy-helpers.js';
import { PROXY_KEY, checkShippedConfiguration, proxyBindings, proxySuite } from './proxy-conformance.js';

const dir = await bundleWorker(join(root, 'proxy', 'src', 'index.js'), await mkdtemp(join(tmpdir(), 'caspio-js-proxy-')));
after(() => rm(dir, { recursive: true, force: true }));

// The conformance suite runs with the TokenBroker, the shipped configuration: what it checks
// (callers, rules, paths, forwarding, errors) does not depend on the store. KV is run by the
// tests below (isolates, restarts, expiry, load) and by bursts.test.js.
proxySuite('js-proxy with TokenBroker', ({ bindings, kvPersist }) => startJsProxy({ dir, bindings, kvPersist, store: 'broker' }));

test('js-proxy: proxy/wrangler.jsonc and the README grant nothing public; the shipped rules serve key holders only', async () => {
  const sandbox = await startLoggedSandbox();
  const kvPersist = await mkdtemp(join(tmpdir(), 'caspio-js-proxy-kv-'));
  try {
    await checkShippedConfiguration({
      vars: parseJSONC(await readFile(join(root, 'proxy', 'wrangler.jsonc'), 'utf8')).vars,
      readme: await readFile(join(root, 'proxy', 'README.md'), 'utf8'),
      startProxy: (bindings) => startJsProxy({ dir, bindings, kvPersist, store: 'broker' }),
      sandboxUrl: sandbox.url,
    });
  } finally {
    await sandbox.stop();
    await rm(kvPersist, { recursive: true, force: true });
  }
});

describe('js-proxy: tokens across requests, isolates and restarts', () => {
  let sandbox;
  const dirs = [];
  const answers = []; // every answer, for the leak check
  const logs = [];
  const tokens = new Set();

  before(async () => { sandbox = await startLoggedSandbox(); });
  after(async () => {
    await sandbox?.stop();
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  async function fresh() {
    await sandbox.reset();
    const kvPersist = await mkdtemp(join(tmpdir(), 'caspio-js-proxy-kv-'));
    dirs.push(kvPersist);
    return kvPersist;
  }

  /** One GET of Orders through isolate i, bounded in time; returns its status. */
  async function get(proxy, i, n = 0) {
    const res = await within(20_000, proxy.fetchIsolate(i, `http://proxy.test/caspio/tables/Orders/records?q.pageSize=5&n=${n}`, {
      headers: { 'X-Proxy-Key': PROXY_KEY },
    }), `request ${n} to isolate ${i}`);
    const body = await res.text();
    answers.push({ status: res.status, headers: [...res.headers], body });
    return { status: res.status, body };
  }

  /** Notes the tokens the store holds and the output, then stops the proxy. */
  async function finish(proxy) {
    const ns = await proxy.kv();
    for (const { name } of (await ns.list()).keys) {
      const state = JSON.parse(await ns.get(name));
      for (const field of ['access_token', 'refresh_token']) if (state?.[field]) tokens.add(state[field]);
    }
    logs.push(proxy.logs());
    await proxy.dispose();
  }

  const counts = async () => (await sandbox.stats()).token_requests;

  for (const store of ['kv', 'broker']) {
    test(`${store}: one login serves three isolates and a restarted deployment`, async () => {
      const kvPersist = await fresh();
      const bindings = proxyBindings(sandbox.url);
      let proxy = await startJsProxy({ dir, bindings, kvPersist, store, isolates: 3 });
      try {
        for (let i = 0; i < 3; i++) {
          for (let n = 0; n < 2; n++) assert.equal((await get(proxy, i, n)).status, 200);
        }
        assert.deepEqual(await counts(), { client_credentials: 1 }, 'the second and third isolates read the first one\'s token');
        await finish(proxy);
        proxy = await startJsProxy({ dir, bindings, kvPersist, store, isolates: 2 }); // a new instance, the same store
        for (let i = 0; i < 2; i++) assert.equal((await get(proxy, i)).status, 200);
        const stats = await sandbox.stats();
        assert.deepEqual(stats.token_requests, { client_credentials: 1 }, 'exactly one login in all');
        assert.equal(stats.resource_requests, 8);
        assert.equal(stats.unauthorized, 0);
      } finally {
        await finish(proxy);
      }
    });
  }

  test('broker: 200 concurrent requests across 4 isolates on a cold deployment make ONE token request; an expiry ONE refresh', async (t) => {
    const kvPersist = await fresh();
    const proxy = await startJsProxy({ dir, bindings: proxyBindings(sandbox.url), kvPersist, store: 'broker', isolates: 4 });
    try {
      // The login takes 400 ms, so that every isolate asks for a token while it is under way.
      await sandbox.fault({ route: '/oauth/token', delay_ms: 400 });
      let started = performance.now();
      const wave = () => Promise.all(Array.from({ length: 200 }, (_, n) => get(proxy, n % 4, n)));
      for (const r of await wave()) assert.equal(r.status, 200, r.body);
      t.diagnostic(`cold: 200 requests across 4 isolates in ${Math.round(performance.now() - started)} ms`);
      assert.deepEqual(await counts(), { client_credentials: 1 }, 'one login for the whole deployment');

      await sandbox.advance('25h'); // the access token expires at Caspio; every isolate holds it
      await sandbox.fault({ route: '/oauth/token', delay_ms: 400 });
      started = performance.now();
      for (const r of await wave()) assert.equal(r.status, 200, r.body);
      t.diagnostic(`expired: 200 requests across 4 isolates in ${Math.round(performance.now() - started)} ms`);
      assert.deepEqual(await counts(), { client_credentials: 1, refresh_token: 1 }, 'one refresh for the whole deployment');
      const stats = await sandbox.stats();
      assert.equal(stats.resource_requests - stats.unauthorized, 400, 'every request was answered by Caspio with the token');
    } finally {
      await sandbox.control('DELETE', 'faults');
      await finish(proxy);
    }
  });

  test('kv: 200 concurrent requests across 4 isolates on a cold deployment: at most one login per isolate', async (t) => {
    const kvPersist = await fresh();
    const proxy = await startJsProxy({ dir, bindings: proxyBindings(sandbox.url), kvPersist, store: 'kv', isolates: 4 });
    try {
      await sandbox.fault({ route: '/oauth/token', count: 4, delay_ms: 400 });
      const results = await Promise.all(Array.from({ length: 200 }, (_, n) => get(proxy, n % 4, n)));
      for (const r of results) assert.equal(r.status, 200, r.body);
      const logins = (await counts()).client_credentials;
      t.diagnostic(`KV has no lock: ${logins} login(s) for 4 cold isolates (the broker makes 1)`);
      assert.ok(logins >= 1 && logins <= 4, `logins: ${logins}`);
    } finally {
      await sandbox.control('DELETE', 'faults');
      await finish(proxy);
    }
  });

  test('one isolate: 100 concurrent requests share its Go instance and one token request, none hangs', async (t) => {
    const kvPersist = await fresh();
    const proxy = await startJsProxy({ dir, bindings: proxyBindings(sandbox.url), kvPersist, store: 'kv' });
    try {
      for (const phase of ['cold', 'expired']) {
        if (phase === 'expired') await sandbox.advance('25h');
        // The token request takes 500 ms: all 100 requests are in the isolate at once, and
        // the resources answer after 20 ms each, so that they overlap there as well.
        await sandbox.fault([{ route: '/oauth/token', delay_ms: 500 }, { route: '/rest/v2/', count: 100, delay_ms: 20 }]);
        const started = performance.now();
        const results = await Promise.all(Array.from({ length: 100 }, (_, n) => get(proxy, 0, n)));
        t.diagnostic(`${phase}: 100 concurrent requests in one isolate in ${Math.round(performance.now() - started)} ms`);
        for (const r of results) assert.equal(r.status, 200, r.body);
        await sandbox.control('DELETE', 'faults');
      }
      assert.deepEqual(await counts(), { client_credentials: 1, refresh_token: 1 });
    } finally {
      await sandbox.control('DELETE', 'faults');
      await finish(proxy);
    }
  });

  test('the secret, the proxy key and the tokens appear in no answer and no log line', () => {
    assert.ok(tokens.size >= 4, `the tokens were found in the stores (${tokens.size})`);
    assert.ok(answers.length >= 800);
    const secrets = [CLIENT_SECRET, PROXY_KEY, ...tokens];
    const output = logs.join('');
    assert.match(output, /GET \/tables\/Orders\/records 200/, 'the request log was captured');
    for (const secret of secrets) {
      for (const a of answers) {
        assert.ok(!a.body.includes(secret), 'a secret in an answer');
        for (const [, value] of a.headers) assert.ok(!value.includes(secret), 'a secret in a header');
      }
      assert.ok(!output.includes(secret), 'a secret in the Worker output');
    }
  });
});
