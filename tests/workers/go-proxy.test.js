// The Go example Worker (examples/go-proxy), built with syumai/workers and run in real
// workerd through Miniflare: the proxy conformance suite, its shipped wrangler.jsonc, which
// must grant nothing public, and cold concurrency.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Miniflare } from 'miniflare';
import { CLIENT_SECRET, newWorkerdPid, startLoggedSandbox, startWorker, workerdPids } from './helpers.js';
import { BROKER_PROBE, bundleWorker, parseJSONC, within } from './js-proxy-helpers.js';
import { PROXY_KEY, checkShippedConfiguration, proxyBindings, proxySuite } from './proxy-conformance.js';

const exampleDir = fileURLToPath(new URL('../../examples/go-proxy/', import.meta.url));
const buildDir = join(exampleDir, 'build');

// One build for every test of this file: wrangler.jsonc's build command, run here.
function buildGoProxy() {
  const run = (args, env = {}) => execFileSync('go', args, { cwd: exampleDir, env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit'] });
  run(['run', 'github.com/syumai/workers/cmd/workers-assets-gen', '-mode=go', '-o', buildDir]);
  run(['build', '-trimpath', '-ldflags=-s -w', '-o', join(buildDir, 'app.wasm'), '.'], { GOOS: 'js', GOARCH: 'wasm' });
}
buildGoProxy();

// The Worker as wrangler.jsonc deploys it: entry.mjs (the guard in front of the generated
// build/worker.mjs) with the TokenBroker of examples/go-proxy/broker bound as CASPIO_BROKER.
const startGoProxy = ({ bindings, kvPersist }) => startGoProxyWithBroker({ bindings, persist: kvPersist, isolates: 1 });

proxySuite('go-proxy', startGoProxy);

test('go-proxy: its wrangler.jsonc and README grant nothing public; the shipped rules serve key holders only', async () => {
  const sandbox = await startLoggedSandbox();
  const kvPersist = await mkdtemp(join(tmpdir(), 'caspio-proxy-kv-'));
  try {
    await checkShippedConfiguration({
      vars: parseJSONC(await readFile(join(exampleDir, 'wrangler.jsonc'), 'utf8')).vars,
      readme: await readFile(join(exampleDir, 'README.md'), 'utf8'),
      startProxy: (bindings) => startGoProxy({ bindings, kvPersist }),
      sandboxUrl: sandbox.url,
    });
  } finally {
    await sandbox.stop();
    await rm(kvPersist, { recursive: true, force: true });
  }
});

describe('go-proxy: cold deployment', () => {
  let sandbox;
  let kvPersist;
  before(async () => {
    sandbox = await startLoggedSandbox();
    kvPersist = await mkdtemp(join(tmpdir(), 'caspio-proxy-kv-'));
  });
  after(async () => {
    await sandbox?.stop();
    await rm(kvPersist, { recursive: true, force: true });
  });

  test('with Workers KV and no broker bound it refuses to serve: a 500 with a request ID, the reason in its log, no login', async () => {
    await sandbox.reset();
    const proxy = await startWorker({ modulesRoot: exampleDir, scriptPath: join(exampleDir, 'entry.mjs'), bindings: proxyBindings(sandbox.url), kvPersist });
    try {
      const results = await Promise.all(Array.from({ length: 10 }, async (_, i) => {
        const res = await within(30_000, proxy.dispatchFetch(`http://proxy.test/caspio/tables/Orders/records?q.pageSize=5&n=${i}`, { headers: { 'X-Proxy-Key': PROXY_KEY } }), `request ${i}`);
        return { status: res.status, body: await res.json() };
      }));
      for (const { status, body } of results) {
        assert.equal(status, 500);
        assert.equal(body.error, 'proxy_misconfigured');
        assert.match(body.request_id, /^[0-9a-f]{32}$/);
        assert.ok(!JSON.stringify(body).includes('KV'), 'the answer says nothing of the configuration');
      }
      const logs = proxy.logs();
      assert.match(logs, new RegExp(`proxy misconfigured \\(request ${results[0].body.request_id}\\):.*CASPIO_BROKER is not`), 'the log says why under the request ID');
      assert.ok(!logs.includes(CLIENT_SECRET));
      assert.deepEqual((await sandbox.stats()).token_requests, {}, 'no login');
    } finally {
      await proxy.dispose();
    }
  });

  test('a path Go cannot parse (a malformed %-escape) gets 400 bad_path, quoting nothing, as in the JS proxy', async () => {
    const proxy = await startGoProxy({ bindings: proxyBindings(sandbox.url), kvPersist });
    try {
      for (const path of ['/caspio/tables/%u002e%u002e/records', '/caspio/tables/Orders/%zz', '/caspio/%', '/caspio/tables/a%2/records']) {
        const res = await proxy.dispatchFetch(`http://proxy.test${path}?secret=query-Zq81`, { headers: { 'X-Proxy-Key': PROXY_KEY } });
        const text = await res.text();
        assert.equal(res.status, 400, path);
        assert.deepEqual(JSON.parse(text), { error: 'bad_path', message: 'the request target is not a plain path' }, path);
        assert.ok(!proxy.logs().includes('query-Zq81') && !proxy.logs().includes('u002e'), 'the URL is not in the log');
      }
    } finally {
      await proxy.dispose();
    }
  });
});

/** The broker Worker of examples/go-proxy/broker, bundled once for the whole file. */
const brokerScratch = await mkdtemp(join(tmpdir(), 'caspio-go-proxy-broker-'));
after(() => rm(brokerScratch, { recursive: true, force: true }));
let brokerBundling;
function brokerBundle() {
  brokerBundling ??= bundleWorker(join(exampleDir, 'broker', 'src', 'index.js'), brokerScratch);
  return brokerBundling;
}

// The Go proxy with the TokenBroker: `isolates` Go proxy Workers (each its own isolate) bind
// CASPIO_BROKER to the TokenBroker class of the broker Worker of examples/go-proxy/broker
// (script_name), bundled from the package as wrangler bundles it, and reach it through the
// stub's fetch (workers.NewBrokerStore). Each runs entry.mjs, as wrangler.jsonc deploys it.
// The handle is a ProxyHandle (proxy-conformance.js): dispatchFetch goes to isolate 0, and
// kv() reads the broker's state.
async function startGoProxyWithBroker({ bindings, persist, isolates }) {
  const brokerDir = await brokerBundle();
  let output = '';
  const broker = { className: 'TokenBroker', scriptName: 'caspio-token-broker' };
  const goProxy = (i) => ({
    name: `go-proxy-${i}`,
    modulesRoot: exampleDir,
    scriptPath: join(exampleDir, 'entry.mjs'),
    modules: true,
    modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }, { type: 'ESModule', include: ['**/*.mjs', '**/*.js'] }],
    compatibilityDate: '2026-04-01',
    bindings,
    durableObjects: { CASPIO_BROKER: broker },
  });
  const before = await workerdPids();
  const mf = new Miniflare({
    workers: [
      ...Array.from({ length: isolates }, (_, i) => goProxy(i)),
      {
        name: 'caspio-token-broker',
        modulesRoot: brokerDir,
        scriptPath: join(brokerDir, 'index.js'),
        modules: true,
        modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }, { type: 'ESModule', include: ['**/*.js'] }],
        compatibilityDate: '2026-04-01',
        durableObjects: { CASPIO_BROKER: 'TokenBroker' },
      },
      { name: 'broker-probe', modules: true, script: BROKER_PROBE, compatibilityDate: '2026-04-01', durableObjects: { CASPIO_BROKER: broker } },
    ],
    durableObjectsPersist: join(persist, 'do'),
    handleRuntimeStdio(stdout, stderr) {
      stdout.setEncoding('utf8').on('data', (d) => { output += d; });
      stderr.setEncoding('utf8').on('data', (d) => { output += d; });
    },
  });
  const url = await mf.ready;
  const fetchers = await Promise.all(Array.from({ length: isolates }, (_, i) => mf.getWorker(`go-proxy-${i}`)));
  const stateKey = `caspio-token:${bindings.CASPIO_CLIENT_ID}`;
  const brokerState = async () => (await (await mf.getWorker('broker-probe')).fetch(`http://probe/?name=${encodeURIComponent(stateKey)}`)).text();
  return {
    url,
    pid: await newWorkerdPid(before),
    dispatchFetch: (input, init) => mf.dispatchFetch(input, init),
    fetchIsolate: (i, input, init) => fetchers[i].fetch(input, init),
    brokerFetch: async (path, init) => (await mf.getWorker('caspio-token-broker')).fetch(`http://broker${path}`, init),
    kv: async () => ({
      list: async () => ({ keys: (await brokerState()) === 'null' ? [] : [{ name: stateKey }] }),
      get: async () => { const text = await brokerState(); return text === 'null' ? null : text; },
    }),
    logs: () => output,
    dispose: () => mf.dispose(),
  };
}

/** Runs task(0) .. task(n - 1), at most limit at a time; resolves to their results in order. */
async function pool(n, limit, task) {
  const results = new Array(n);
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      results[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, worker));
  return results;
}

describe('go-proxy with the TokenBroker (CASPIO_BROKER, through the stub\'s fetch)', () => {
  let sandbox;
  let persist;
  before(async () => {
    sandbox = await startLoggedSandbox();
    persist = await mkdtemp(join(tmpdir(), 'caspio-go-proxy-broker-'));
  });
  after(async () => {
    await sandbox?.stop();
    await rm(persist, { recursive: true, force: true });
  });

  const ISOLATES = 4;
  const REQUESTS = 200;
  // 50 in flight at a time, each its own dispatch. Every request of a Go Worker runs a Go
  // instance of its own (about 7 MiB each, until V8 collects it): with all 200 in flight at
  // once on a busy 2-core machine, workerd dropped connections ("fetch failed") in the
  // expired wave of one run and the cold wave of another, while 50 at a time passed. The
  // cold burst of 200 at once is run against the JS Workers (bursts.test.js).
  const CONCURRENCY = Number(process.env.GO_PROXY_BROKER_CONCURRENCY ?? 50);

  test(`${REQUESTS} requests across ${ISOLATES} isolates on a cold deployment make ONE token request; an expiry ONE refresh; none hangs`, async (t) => {
    await sandbox.reset();
    const proxy = await startGoProxyWithBroker({ bindings: proxyBindings(sandbox.url), persist, isolates: ISOLATES });
    const answers = [];
    try {
      const get = async (n) => {
        const i = n % ISOLATES;
        const res = await within(45_000, proxy.fetchIsolate(i, `http://proxy.test/caspio/tables/Orders/records?q.pageSize=5&n=${n}`, {
          headers: { 'X-Proxy-Key': PROXY_KEY },
        }), `request ${n} to isolate ${i}`).catch((err) => {
          throw new Error(`request ${n} to isolate ${i} failed (${err.message}); the Worker's output ends:\n${proxy.logs().slice(-3000)}`);
        });
        const body = await res.text();
        answers.push({ headers: [...res.headers], body });
        return { status: res.status, body };
      };
      const wave = async (phase) => {
        const started = performance.now();
        const results = await pool(REQUESTS, CONCURRENCY, get);
        for (const r of results) assert.equal(r.status, 200, r.body);
        t.diagnostic(`${phase}: ${REQUESTS} requests across ${ISOLATES} isolates, ${CONCURRENCY} at a time, in ${Math.round(performance.now() - started)} ms`);
      };
      // The token request takes 400 ms, so that requests of every isolate wait for it.
      await sandbox.fault({ route: '/oauth/token', delay_ms: 400 });
      await wave('cold');
      const cold = (await sandbox.stats()).token_requests;
      t.diagnostic(`cold: the sandbox counted ${JSON.stringify(cold)}`);
      assert.deepEqual(cold, { client_credentials: 1 }, 'one login for the whole deployment');

      await sandbox.advance('25h'); // the access token expires at Caspio
      await sandbox.fault({ route: '/oauth/token', delay_ms: 400 });
      await wave('expired');
      const stats = await sandbox.stats();
      t.diagnostic(`expired: the sandbox counted ${JSON.stringify(stats.token_requests)}`);
      assert.deepEqual(stats.token_requests, { client_credentials: 1, refresh_token: 1 }, 'one refresh for the whole deployment');
      assert.equal(stats.resource_requests - stats.unauthorized, 2 * REQUESTS, 'every request was answered by Caspio with the token');

      assert.equal(await (await proxy.brokerFetch('/')).text(), 'Not found', "the broker Worker's own fetch serves nothing");
      const output = proxy.logs();
      assert.match(output, /GET \/tables\/Orders\/records 200/, 'the request log was captured');
      assert.doesNotMatch(output, /storage_error|lock the token state|TokenBroker answered/, 'every lock, read and write of the broker succeeded');
      const secrets = [CLIENT_SECRET, PROXY_KEY];
      for (const secret of secrets) {
        assert.ok(!output.includes(secret), 'a secret in the Worker output');
        for (const a of answers) {
          assert.ok(!a.body.includes(secret), 'a secret in an answer');
          for (const [, v] of a.headers) assert.ok(!v.includes(secret), 'a secret in a header');
        }
      }
    } finally {
      await sandbox.control('DELETE', 'faults');
      await proxy.dispose();
    }
  });
});
