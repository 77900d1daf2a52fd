// Workers as traffic reaches them: every request its own dispatch (its own I/O context in
// workerd), many at once on a cold isolate, some cut off by their callers or by their own
// handler. workerd cancels a request that waits on what only another request's I/O settles,
// so a burst of separate requests finds hangs that concurrency inside one request never does.
//
// The user's Worker is README.md's Workers example, as written (and the same as js/README.md's):
// the test reads it from the README. It runs with the TokenBroker as written, and with KV by
// the substitution its comment offers. The JS proxy (proxy/) runs the same bursts. Each cell
// of the matrix covers one fault once: KV and broker, 1 and 4 isolates, 50 and 200 requests,
// a token endpoint answering in 200 ms and in 2 s, the runner's caller aborting, the runner's
// handler throwing. A request that hangs fails after HUNG_MS (a bound that catches a hang,
// not a timing); the slowest answer of each cell is reported as a diagnostic, for
// RELIABILITY.md.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Miniflare } from 'miniflare';
import { CLIENT_ID, CLIENT_SECRET, startLoggedSandbox, startRecorder } from './helpers.js';
import { bundleWorker, root, startJsProxy, within } from './js-proxy-helpers.js';
import { PROXY_KEY, proxyBindings } from './proxy-conformance.js';

const HUNG_MS = 30_000;

/** The Workers example of a README: the first js block after the heading. */
async function workersExample(file, heading) {
  const text = await readFile(join(root, file), 'utf8');
  const at = text.indexOf(heading);
  assert.ok(at >= 0, `${file} has a section ${heading}`);
  const m = /```js\n([\s\S]*?)```/.exec(text.slice(at));
  assert.ok(m, `${file}'s section ${heading} has a js example`);
  return m[1];
}

const README_STORAGE = 'storage: brokerStorage(env.CASPIO_BROKER), // or kvStorage(env.CASPIO_TOKENS)';

/**
 * The user's Worker in a folder, bundled as wrangler bundles it: worker.js is the README's
 * code (with KV, its storage line swapped for the alternative it names), and index.js serves
 * it, except that a request to /throw starts the README's fetch and throws 300 ms later, as a
 * handler that fails after starting a request does.
 */
async function userWorker(dir, store) {
  let code = await workersExample('README.md', '## Cloudflare Workers');
  assert.ok(code.includes(README_STORAGE), 'the README names both storages on one line');
  if (store === 'kv') {
    code = code.replace(README_STORAGE, 'storage: kvStorage(env.CASPIO_TOKENS),').replace("import { createClient, brokerStorage } from 'caspio-auth';", "import { createClient, kvStorage } from 'caspio-auth';");
  }
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'worker.js'), code);
  await writeFile(join(dir, 'index.js'), `import readme from './worker.js';
export * from './worker.js';
export default {
  async fetch(request, env, ctx) {
    if (new URL(request.url).pathname === '/throw') {
      readme.fetch(request, env, ctx).catch(() => {});
      await new Promise((resolve) => { setTimeout(resolve, 300); });
      throw new Error('the handler failed after starting a request');
    }
    return readme.fetch(request, env, ctx);
  },
};
`);
  return bundleWorker(join(dir, 'index.js'), join(dir, 'bundle'));
}

/** Starts `isolates` copies of the bundle in dir (each its own isolate) sharing one KV namespace or TokenBroker. */
async function startUserWorker({ dir, store, isolates, integrationUrl, persist }) {
  const worker = (i) => ({
    name: `user-${i}`,
    modulesRoot: dir,
    scriptPath: join(dir, 'index.js'),
    modules: true,
    modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }, { type: 'ESModule', include: ['**/*.js'] }],
    compatibilityDate: '2026-04-01',
    bindings: { CASPIO_INTEGRATION_URL: integrationUrl, CASPIO_CLIENT_ID: CLIENT_ID, CASPIO_CLIENT_SECRET: CLIENT_SECRET },
    ...(store === 'kv' ? { kvNamespaces: { CASPIO_TOKENS: 'caspio-tokens' } } : { durableObjects: { CASPIO_BROKER: { className: 'TokenBroker', scriptName: 'user-0' } } }),
  });
  let output = '';
  const mf = new Miniflare({
    workers: Array.from({ length: isolates }, (_, i) => worker(i)),
    kvPersist: join(persist, 'kv'),
    durableObjectsPersist: join(persist, 'do'),
    handleRuntimeStdio(stdout, stderr) {
      stdout.setEncoding('utf8').on('data', (d) => { output += d; });
      stderr.setEncoding('utf8').on('data', (d) => { output += d; });
    },
  });
  await mf.ready;
  const fetchers = await Promise.all(Array.from({ length: isolates }, (_, i) => mf.getWorker(`user-${i}`)));
  return {
    fetchIsolate: (i, input, init) => fetchers[i].fetch(input, init),
    /** A request to isolate 0 over HTTP, as a client sends it: a handler that throws answers 500. */
    dispatchFetch: (input, init) => mf.dispatchFetch(input, init),
    logs: () => output,
    dispose: () => mf.dispose(),
  };
}

/**
 * Sends requests 0..n-1, each its own dispatch, to isolate n % isolates; resolves to their
 * statuses and the slowest answer. A request that hangs fails the test.
 */
async function burst(fetchIsolate, isolates, n, { path = '/', init = {}, from = 0 } = {}) {
  const started = performance.now();
  let slowest = 0;
  const statuses = await Promise.all(Array.from({ length: n }, async (_, k) => {
    const i = (from + k) % isolates;
    const res = await within(HUNG_MS, fetchIsolate(i, `http://worker.test${path}?n=${from + k}`, init), `request ${from + k} to isolate ${i}`);
    await res.arrayBuffer();
    slowest = Math.max(slowest, performance.now() - started);
    return res.status;
  }));
  return { statuses, slowest: Math.round(slowest) };
}

const count = (statuses, status) => statuses.filter((s) => s === status).length;

/** Resolves once the recorder has seen a token request arrive (it is then in flight). */
async function tokenRequestArrived(recorder) {
  for (let i = 0; i < 300; i++) {
    if (recorder.requests.some((r) => r.path.startsWith('/oauth/token'))) return;
    await new Promise((resolve) => { setTimeout(resolve, 20); });
  }
  throw new Error('no token request reached the token endpoint within 6 s');
}

describe('Workers bursts: separate cold requests, as traffic arrives', () => {
  let sandbox;
  let recorder;
  let work;
  const bundles = {};
  before(async () => {
    sandbox = await startLoggedSandbox();
    recorder = await startRecorder(sandbox.url);
    // Inside the repository, so that the bundles resolve caspio-auth as a user's project does.
    await mkdir(join(root, 'tests', 'artifacts'), { recursive: true });
    work = await mkdtemp(join(root, 'tests', 'artifacts', 'bursts-'));
    bundles.kv = await userWorker(join(work, 'kv'), 'kv');
    bundles.broker = await userWorker(join(work, 'broker'), 'broker');
  });
  after(async () => {
    await recorder?.close();
    await sandbox?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('README.md and js/README.md show the same Workers code, which these tests run', async () => {
    assert.equal(await workersExample('js/README.md', '## Workers'), await workersExample('README.md', '## Cloudflare Workers'));
  });

  /** A fresh cell: the sandbox reset, its token endpoint answering after latencyMs, a new store. */
  async function cell(store, isolates, latencyMs) {
    await sandbox.reset();
    recorder.requests.length = 0;
    await sandbox.fault({ route: '/oauth/token', count: 50, delay_ms: latencyMs });
    const persist = await mkdtemp(join(work, 'persist-'));
    return startUserWorker({ dir: bundles[store], store, isolates, integrationUrl: recorder.url, persist });
  }

  const matrix = [
    { store: 'kv', isolates: 1, requests: 50, latencyMs: 200, maxLogins: 1 },
    { store: 'kv', isolates: 4, requests: 200, latencyMs: 2000, maxLogins: 4 },
    { store: 'broker', isolates: 4, requests: 200, latencyMs: 2000, maxLogins: 1 },
    { store: 'broker', isolates: 1, requests: 50, latencyMs: 200, maxLogins: 1 },
  ];
  for (const { store, isolates, requests, latencyMs, maxLogins } of matrix) {
    const exact = store === 'broker' ? 'exactly 1 token request for the deployment' : `at most 1 token request per isolate (${maxLogins})`;
    test(`README Worker, ${store}, ${isolates} isolate(s): ${requests} cold requests, token endpoint ${latencyMs} ms: every one answers 200; ${exact}`, async (t) => {
      const worker = await cell(store, isolates, latencyMs);
      try {
        const { statuses, slowest } = await burst(worker.fetchIsolate, isolates, requests);
        const stats = await sandbox.stats();
        t.diagnostic(`slowest answer ${slowest} ms; token requests ${JSON.stringify(stats.token_requests)}`);
        assert.equal(count(statuses, 200), requests, `statuses: ${JSON.stringify(statuses)}\n${worker.logs()}`);
        const logins = stats.token_requests.client_credentials ?? 0;
        assert.ok(logins >= 1 && logins <= maxLogins, `logins: ${logins}`);
        if (store === 'broker') assert.deepEqual(stats.token_requests, { client_credentials: 1 });
        assert.ok(!worker.logs().includes(CLIENT_SECRET));
      } finally {
        await worker.dispose();
      }
    });
  }

  for (const store of ['kv', 'broker']) {
    test(`README Worker, ${store}: the caller of the request running the token request goes away; the 49 others answer 200, with at most 1 extra token request`, async (t) => {
      const worker = await cell(store, 1, 2000);
      try {
        const abort = new AbortController();
        const first = worker.fetchIsolate(0, 'http://worker.test/?n=runner', { signal: abort.signal }).then((r) => r.status, (e) => e.name);
        await tokenRequestArrived(recorder);
        const others = burst(worker.fetchIsolate, 1, 49, { from: 1 });
        await new Promise((resolve) => { setTimeout(resolve, 100); }); // the others have joined
        abort.abort();
        const { statuses, slowest } = await others;
        const stats = await sandbox.stats();
        t.diagnostic(`the aborted runner: ${await first}; slowest answer ${slowest} ms; token requests ${JSON.stringify(stats.token_requests)}`);
        assert.equal(count(statuses, 200), 49, `statuses: ${JSON.stringify(statuses)}\n${worker.logs()}`);
        assert.ok((stats.token_requests.client_credentials ?? 0) <= 2, JSON.stringify(stats.token_requests));
      } finally {
        await worker.dispose();
      }
    });
  }

  test('README Worker, kv: the handler running the token request throws after starting it; the 49 others answer 200, with at most 1 extra token request', async (t) => {
    const worker = await cell('kv', 1, 2000);
    try {
      const first = worker.dispatchFetch('http://worker.test/throw').then((r) => r.status);
      await tokenRequestArrived(recorder);
      const { statuses, slowest } = await burst(worker.fetchIsolate, 1, 49, { from: 1 });
      const stats = await sandbox.stats();
      t.diagnostic(`the throwing handler answered ${await first}; slowest answer ${slowest} ms; token requests ${JSON.stringify(stats.token_requests)}`);
      assert.equal(await first, 500);
      assert.equal(count(statuses, 200), 49, `statuses: ${JSON.stringify(statuses)}\n${worker.logs()}`);
      assert.ok((stats.token_requests.client_credentials ?? 0) <= 2, JSON.stringify(stats.token_requests));
    } finally {
      await worker.dispose();
    }
  });

  test('the JS proxy, broker, 4 isolates: 200 cold requests, token endpoint 2 s: every one answers 200; exactly 1 token request', async (t) => {
    await sandbox.reset();
    await sandbox.fault({ route: '/oauth/token', count: 10, delay_ms: 2000 });
    const dir = await bundleWorker(join(root, 'proxy', 'src', 'index.js'), join(work, 'js-proxy'));
    const proxy = await startJsProxy({ dir, bindings: proxyBindings(sandbox.url), kvPersist: await mkdtemp(join(work, 'persist-')), store: 'broker', isolates: 4 });
    try {
      const { statuses, slowest } = await burst(proxy.fetchIsolate, 4, 200, { path: '/caspio/tables/Orders/records', init: { headers: { 'X-Proxy-Key': PROXY_KEY } } });
      const stats = await sandbox.stats();
      t.diagnostic(`slowest answer ${slowest} ms; token requests ${JSON.stringify(stats.token_requests)}`);
      assert.equal(count(statuses, 200), 200, `statuses: ${JSON.stringify(statuses)}`);
      assert.deepEqual(stats.token_requests, { client_credentials: 1 });
    } finally {
      await proxy.dispose();
    }
  });
});
