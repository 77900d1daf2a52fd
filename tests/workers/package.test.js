// The npm package in Cloudflare Workers as users get it: `npm pack` of js/, unpacked into a
// fresh project's node_modules, bundled as wrangler bundles (the "workerd" condition), and
// run in real workerd through Miniflare. It checks what the Workers entry exports, that it
// imports caspio.wasm as a module, kvStorage's values and expirations in KV (from the client's
// write steps), the
// TokenBroker's lock, the shared vectors of tests/vectors (by the runner Node and Chromium
// use), and the proxy of proxy/ built from the tarball; and that the Node entry's Workers
// exports fail with the fix.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { Miniflare } from 'miniflare';
import { startLoggedSandbox } from './helpers.js';
import { bundleWorker, parseJSONC, root, within } from './js-proxy-helpers.js';
import { PROXY_KEY, proxyBindings } from './proxy-conformance.js';
import { lockPolicy } from '../js/helpers/lock-policy.js';
import { FILES as VECTOR_FILES, runVectors } from '../vectors/runner.js';

const run = promisify(execFile);

const vectorPath = (file) => JSON.stringify(join(root, 'tests', 'vectors', file));

/** A Worker that reports on the package from inside workerd. */
const CHECK_WORKER = `
import * as pkg from 'caspio-auth';
import { kvStorage, brokerStorage, CaspioStateError } from 'caspio-auth';
import { runVectors } from ${vectorPath('runner.js')};
${VECTOR_FILES.map((f, i) => `import vector${i} from ${vectorPath(f)};`).join('\n')}
export { TokenBroker } from 'caspio-auth';

const DAY = 86400000;
/** The lock step's values, as the client passes them (tests/js/helpers/lock-policy.js). */
const POLICY = ${JSON.stringify(lockPolicy())};
function state(now, { refresh = true, expiresIn = DAY - 1000, used = false } = {}) {
  const s = { version: 1, client_id: 'c', token_url: 'https://c1.caspio.com/oauth/token', access_token: 'a', expires_at: now + expiresIn, obtained_at: now,
    counters: { client_credentials_requests: 1, refresh_token_requests: 0, logins: 1, refreshes: 0 } };
  if (refresh) Object.assign(s, { refresh_token: 'r', refresh_issued_at: now, ...(used ? { refresh_used_at: now } : {}) });
  return s;
}

export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    if (pathname === '/exports') return Response.json(Object.keys(pkg).sort());
    if (pathname === '/vectors') {
      // The shared vectors, through the package's public API, in this request.
      const files = { ${VECTOR_FILES.map((f, i) => `${JSON.stringify(f)}: vector${i}`).join(', ')} };
      return Response.json(await runVectors({ caspio: pkg, files }));
    }
    if (pathname === '/kv') {
      const now = Date.now();
      const expiration = async (key) => (await env.KV.list({ prefix: key })).keys[0]?.expiration ?? null;
      const out = {};
      // The expiry comes with the write: set(state, {ttl}) as the client's write step gives it.
      for (const [name, ttl] of Object.entries({ twoMinutes: 120, none: null })) {
        const s = kvStorage(env.KV, 'k-' + name);
        await s.set(state(now), ttl === null ? undefined : { expiresAt: now + ttl * 1000, ttl });
        const at = await expiration('k-' + name);
        out[name] = { ttl: at === null ? null : at - Math.floor(now / 1000), same: JSON.stringify(await s.get()) === JSON.stringify(state(now)),
          raw: JSON.stringify(JSON.parse(await env.KV.get('k-' + name))) === JSON.stringify(state(now)) };
      }
      // A client's writes: the core's expiry, the same in every runtime (60 days for a refresh
      // token never used, a year once used).
      let n = 0;
      const fakeCaspio = async (url, init) => Response.json({ access_token: 'at' + (++n), token_type: 'bearer', expires_in: 86399,
        ...(new URLSearchParams(init.body).get('grant_type') === 'client_credentials' ? { refresh_token: 'rt' } : {}) }); // a refresh keeps it
      const client = await pkg.createClient({ account: 'c1abc123', clientId: 'c', clientSecret: 's', fetch: fakeCaspio, storage: kvStorage(env.KV, 'k-client') });
      await client.token();
      out.login = (await expiration('k-client')) - Math.floor(Date.now() / 1000);
      await client.refresh();
      out.refresh = (await expiration('k-client')) - Math.floor(Date.now() / 1000);
      client.close();
      const s = kvStorage(env.KV);
      out.defaultKey = s.key;
      out.missing = await s.get();
      await env.KV.put('caspio-token', '{"version": 1, "access_tok');
      try { await s.get(); } catch (e) { out.corrupt = e instanceof CaspioStateError && !e.message.includes('access_tok'); }
      await s.delete();
      out.deleted = await s.get();
      out.noLock = 'lock' in s;
      try { kvStorage({}); } catch (e) { out.badNamespace = e instanceof TypeError && /kv_namespaces/.test(e.message); }
      return Response.json(out);
    }
    if (pathname === '/broker') {
      const stub = env.BROKER.get(env.BROKER.idFromName('lock-test'));
      const out = {};
      const a = await stub.lock({ leaseMs: 300, waitMs: 5000 });
      const t = Date.now(); // advances across I/O such as this RPC
      const b = await stub.lock({ leaseMs: 10000, waitMs: 5000 }); // granted when a's lease lapses
      out.waited = Date.now() - t;
      out.distinct = typeof b === 'string' && b !== a;
      out.lapsedUnlock = await stub.unlock(a);
      try { await stub.lock({ leaseMs: 10000, waitMs: 200 }); out.timedOut = false; } catch (e) { out.timedOut = /waited 200 ms/.test(e.message); }
      out.unlock = await stub.unlock(b);
      // Waiters are served in order, each when the one before releases.
      const c = await stub.lock({ leaseMs: 10000, waitMs: 5000 });
      const order = [];
      const waiters = [1, 2, 3].map((n) => stub.lock({ leaseMs: 10000, waitMs: 5000 }).then(async (id) => { order.push(n); await stub.unlock(id); }));
      await new Promise((r) => setTimeout(r, 50));
      await stub.unlock(c);
      await Promise.all(waiters);
      out.order = order;
      // brokerStorage waits as long as the client's lock step says (the core's LockTimeout),
      // not a default of its own.
      const held = await stub.lock({ leaseMs: 5000, waitMs: 5000 });
      try {
        await brokerStorage(env.BROKER, 'lock-test').lock({ policy: { ...POLICY, timeout_ms: 200 } });
        out.stepWait = 'granted';
      } catch (e) { out.stepWait = /waited 200 ms/.test(e.message) ? 'timed out' : e.message; }
      await stub.unlock(held);

      const s = brokerStorage(env.BROKER, 'storage-test', { lockLease: 1000 });
      out.empty = await s.get();
      await s.set({ version: 1, n: 1 });
      out.back = await s.get();
      const release = await s.lock({ policy: POLICY });
      await release();
      await s.delete();
      out.deleted = await s.get();
      out.name = s.name;
      try { brokerStorage(env.KV); } catch (e) { out.badNamespace = e instanceof TypeError && /durable_objects/.test(e.message); }
      try { brokerStorage(env.BROKER, 'x', { lockLease: -1 }); } catch (e) { out.badOption = e instanceof TypeError && /lockLease/.test(e.message); }
      // Neither the broker nor brokerStorage has a lease or a wait of its own: a call that
      // names none is refused, naming what is missing.
      const refused = async (f) => { try { await f(); return 'granted'; } catch (e) { return \`\${e.name}: \${e.message}\`; } };
      out.noLease = await refused(() => stub.lock({ waitMs: 100 }));
      out.noWait = await refused(() => stub.lock({ leaseMs: 100 }));
      out.noOptions = await refused(() => stub.lock());
      out.extendNoLease = await refused(() => stub.extend('x'));
      out.storageNoPolicy = await refused(() => brokerStorage(env.BROKER, 'x').lock());
      return Response.json(out);
    }
    if (pathname === '/broker-fetch') {
      // The same operations through the stub's fetch, as a Go Worker calls them.
      const stub = env.BROKER.get(env.BROKER.idFromName('fetch-test'));
      const call = async (method, path, body, headers = {}) => {
        const init = { method, headers: { ...headers } };
        if (body !== undefined) {
          init.body = typeof body === 'string' ? body : JSON.stringify(body);
          init.headers['Content-Type'] ??= 'application/json';
        }
        const res = await stub.fetch('https://broker.internal' + path, init);
        const text = await res.text();
        return { status: res.status, type: res.headers.get('Content-Type'), text, json: text && res.headers.get('Content-Type')?.startsWith('application/json') ? JSON.parse(text) : null };
      };
      const out = {};
      // Exclusivity: a second lock waits for the first's release, and never overlaps it.
      const a = await call('POST', '/lock', { leaseMs: 5000, waitMs: 5000 });
      out.a = { status: a.status, id: typeof a.json?.id === 'string' && a.json.id.length > 0 };
      let bGranted = false;
      const b = call('POST', '/lock', { leaseMs: 10000, waitMs: 5000 }).then((r) => { bGranted = true; return r; });
      await new Promise((r) => setTimeout(r, 100));
      out.bWaitsWhileHeld = !bGranted;
      const timedOut = await call('POST', '/lock', { leaseMs: 10000, waitMs: 200 });
      out.timeout = { status: timedOut.status, error: timedOut.json?.error };
      out.unlockA = (await call('POST', '/unlock', { id: a.json.id })).json;
      const bDone = await b;
      out.b = { status: bDone.status, distinct: bDone.json?.id !== a.json.id };
      out.unlockAgain = (await call('POST', '/unlock', { id: a.json.id })).json;
      out.unlockB = (await call('POST', '/unlock', { id: bDone.json.id })).json;
      // A lease lapses.
      const c = await call('POST', '/lock', { leaseMs: 200, waitMs: 5000 });
      const t = Date.now();
      const d = await call('POST', '/lock', { leaseMs: 10000, waitMs: 5000 });
      out.lapse = { status: d.status, waited: Date.now() - t };
      await call('POST', '/unlock', { id: d.json.id });
      out.lapsedUnlock = (await call('POST', '/unlock', { id: c.json.id })).json;
      // A holder that extends its lease keeps the lock past it; one that stops lets it lapse.
      const e = await call('POST', '/lock', { leaseMs: 1000, waitMs: 5000 });
      let fGranted = false;
      const f = call('POST', '/lock', { leaseMs: 10000, waitMs: 10000 }).then((r) => { fGranted = true; return r; });
      out.extended = [];
      for (let i = 0; i < 8; i++) { // 1,600 ms of holding, extended every 200 ms to 1,000 ms from then
        await new Promise((r) => setTimeout(r, 200));
        out.extended.push((await call('POST', '/extend', { id: e.json.id, leaseMs: 1000 })).json.extended);
      }
      out.heldWhileExtended = !fGranted;
      const fDone = await f;
      out.lapsedAfterExtending = { status: fDone.status, extendLapsed: (await call('POST', '/extend', { id: e.json.id, leaseMs: 1000 })).json };
      await call('POST', '/unlock', { id: fDone.json.id });

      // State round trip, and what the RPC interface sees of it.
      const secret = 'tok-SECRET-in-state';
      out.empty = (await call('GET', '/state')).status;
      const state = { version: 1, client_id: 'c', access_token: secret, expires_at: 1, counters: { logins: 1 } };
      out.put = (await call('PUT', '/state', state)).status;
      const got = await call('GET', '/state');
      out.got = { status: got.status, same: JSON.stringify(got.json) === JSON.stringify(state) };
      out.rpcSees = JSON.stringify(await stub.getState()) === JSON.stringify(state);
      await stub.setState({ version: 1, n: 2 });
      out.fromRpc = (await call('GET', '/state')).json;
      out.del = (await call('DELETE', '/state')).status;
      out.afterDelete = (await call('GET', '/state')).status;

      // Bad input: refused with a code, never echoed.
      const bad = {
        lockBadLease: await call('POST', '/lock', { leaseMs: -1, waitMs: 100 }),
        lockHuge: await call('POST', '/lock', { leaseMs: 100, waitMs: 1e9 }),
        lockNoLease: await call('POST', '/lock', { waitMs: 100 }),
        lockNoWait: await call('POST', '/lock', { leaseMs: 100 }),
        lockEmpty: await call('POST', '/lock'),
        extendNoLease: await call('POST', '/extend', { id: 'x' }),
        lockUnknown: await call('POST', '/lock', { token: secret }),
        lockNotJSON: await call('POST', '/lock', '{"leaseMs": ' + secret),
        unlockNoId: await call('POST', '/unlock', { id: 7, secret }),
        extendNoId: await call('POST', '/extend', { leaseMs: 100, secret }),
        extendBadLease: await call('POST', '/extend', { id: 'x', leaseMs: -5 }),
        putArray: await call('PUT', '/state', [secret]),
        putNotJSON: await call('PUT', '/state', secret),
        putEmpty: await call('PUT', '/state', ''),
        putText: await call('PUT', '/state', JSON.stringify(state), { 'Content-Type': 'text/plain' }),
        putHuge: await call('PUT', '/state', JSON.stringify({ access_token: secret, pad: 'x'.repeat(70000) })),
        wrongMethod: await call('POST', '/state', state),
        unknownPath: await call('GET', '/tokens/' + secret),
      };
      out.bad = Object.fromEntries(Object.entries(bad).map(([k, r]) => [k, { status: r.status, error: r.json?.error, echoes: r.text.includes(secret) }]));
      out.missingSays = { lease: bad.lockNoLease.json?.message, wait: bad.lockNoWait.json?.message, empty: bad.lockEmpty.json?.message, extend: bad.extendNoLease.json?.message };
      out.stillEmpty = (await call('GET', '/state')).status;
      return Response.json(out);
    }
    return new Response('not found', { status: 404 });
  },
};
`;

let project;
let packed;
let sandbox;
let mf;
let output = '';

before(async () => {
  project = await mkdtemp(join(tmpdir(), 'caspio-workers-package-'));
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', project], { cwd: join(root, 'js') });
  const [{ filename, files }] = JSON.parse(stdout);
  packed = files.map((f) => f.path);
  // What `npm install caspio-auth` puts in node_modules: the tarball's package/ folder.
  const pkgDir = join(project, 'node_modules', 'caspio-auth');
  await mkdir(pkgDir, { recursive: true });
  await run('tar', ['-xzf', join(project, filename), '-C', pkgDir, '--strip-components=1']);
  await mkdir(join(project, 'src'));
  await cp(join(root, 'proxy', 'src'), join(project, 'src', 'proxy'), { recursive: true }); // its modules import caspio-auth from the tarball
  await writeFile(join(project, 'src', 'check.js'), CHECK_WORKER);
  await Promise.all([
    bundleWorker(join(project, 'src', 'proxy', 'index.js'), join(project, 'dist', 'proxy')),
    bundleWorker(join(project, 'src', 'check.js'), join(project, 'dist', 'check')),
  ]);
  sandbox = await startLoggedSandbox();
  const worker = (name, extra) => ({
    name,
    modulesRoot: join(project, 'dist', name),
    scriptPath: join(project, 'dist', name, 'index.js'),
    modules: true,
    modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }, { type: 'ESModule', include: ['**/*.js'] }],
    compatibilityDate: '2026-04-01',
    ...extra,
  });
  mf = new Miniflare({
    workers: [
      worker('check', { kvNamespaces: ['KV'], durableObjects: { BROKER: 'TokenBroker' } }),
      worker('proxy', { bindings: proxyBindings(sandbox.url), durableObjects: { CASPIO_BROKER: 'TokenBroker' } }),
    ],
    handleRuntimeStdio(stdout, stderr) {
      stdout.setEncoding('utf8').on('data', (d) => { output += d; });
      stderr.setEncoding('utf8').on('data', (d) => { output += d; });
    },
  });
  await mf.ready;
});

after(async () => {
  await mf?.dispose();
  await sandbox?.stop();
  if (project) await rm(project, { recursive: true, force: true });
});

async function check(path) {
  const res = await within(15_000, (await mf.getWorker('check')).fetch(`http://check${path}`), path);
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return JSON.parse(text);
}

test('the tarball ships the Workers files; the bundle takes the workerd entry and imports caspio.wasm as a module', async () => {
  for (const file of ['workerd.js', 'kv-storage.js', 'broker.js', 'broker-http.js', 'broker-storage.js', 'broker.d.ts', 'no-workers.js', 'caspio.wasm', 'wasm_exec.js', 'index.d.ts']) {
    assert.ok(packed.includes(file), `the tarball lacks ${file}`);
  }
  const bundle = await readFile(join(project, 'dist', 'proxy', 'index.js'), 'utf8');
  assert.match(bundle, /^import \w+ from "\.\/caspio-\w+\.wasm";$/m, 'caspio.wasm is a module import, not bytes compiled at run time');
  assert.match(bundle, /from "cloudflare:workers"/);
  assert.doesNotMatch(bundle, /compileStreaming|node:fs/, 'neither the browser nor the Node loader is bundled');
});

test('in workerd the entry exports exactly what index.d.ts declares', async () => {
  const dts = await readFile(join(project, 'node_modules', 'caspio-auth', 'index.d.ts'), 'utf8');
  const declared = [...dts.matchAll(/^export declare (?:const|function|class) (\w+)/gm)].map((m) => m[1]).sort();
  assert.ok(declared.includes('kvStorage') && declared.includes('brokerStorage') && declared.includes('TokenBroker'));
  assert.deepEqual(await check('/exports'), declared);
});

test('the shared vectors (tests/vectors) in workerd, through the package from the tarball: every case, as in Node', async (t) => {
  const res = await within(120_000, (await mf.getWorker('check')).fetch('http://check/vectors'), '/vectors');
  const text = await res.text();
  assert.equal(res.status, 200, `${text}\n${output}`);
  const results = JSON.parse(text);
  const files = {};
  for (const file of VECTOR_FILES) files[file] = JSON.parse(await readFile(join(root, 'tests', 'vectors', file), 'utf8'));
  for (const file of VECTOR_FILES) {
    await t.test(file, async (t) => {
      const mine = results.filter((r) => r.file === file);
      assert.equal(mine.length, files[file].cases.length, `${file}: one result per case`);
      for (const r of mine) await t.test(r.name, () => assert.ok(r.ok, r.message));
    });
  }
  const node = await import(pathToFileURL(join(project, 'node_modules', 'caspio-auth', 'node.js')).href);
  await t.test('the same cases and results as in Node', async () => assert.deepEqual(results, await runVectors({ caspio: node, files })));
  t.diagnostic(`${results.filter((r) => r.ok).length} of ${results.length} cases pass in workerd`);
});

test('kvStorage: the state JSON under one key, expiring as the client\'s write step says (the core\'s TTL); no lock', async () => {
  const out = await check('/kv');
  const day = 86400;
  for (const name of ['twoMinutes', 'none']) {
    assert.ok(out[name].same && out[name].raw, `${name}: the value is the state JSON and reads back`);
  }
  const near = (got, want, what) => assert.ok(Math.abs(got - want) <= 2, `${what}: expiration in ${got} s, expected about ${want}`);
  near(out.twoMinutes.ttl, 120, 'the ttl given');
  assert.equal(out.none.ttl, null, 'no ttl given: no expiration');
  near(out.login, 60 * day, 'a client\'s login: a refresh token never used');
  near(out.refresh, 365 * day, 'after a refresh: a refresh token used');
  assert.equal(out.defaultKey, 'caspio-token');
  assert.equal(out.missing, null);
  assert.equal(out.corrupt, true, 'a corrupt value is a CaspioStateError that quotes nothing');
  assert.equal(out.deleted, null);
  assert.equal(out.noLock, false, 'KV gives no mutual exclusion, so kvStorage offers no lock');
  assert.equal(out.badNamespace, true);
});

test('TokenBroker: a lease lock that lapses, times out waiters and serves them in order; brokerStorage round-trips', async () => {
  const out = await check('/broker');
  assert.ok(out.waited >= 250 && out.waited < 5000, `a second lock() is granted once the first lease (300 ms) lapses: waited ${out.waited} ms`);
  assert.equal(out.distinct, true);
  assert.equal(out.lapsedUnlock, false, 'a lapsed lock cannot be released');
  assert.equal(out.timedOut, true, 'a waiter gives up after waitMs');
  assert.equal(out.unlock, true);
  assert.deepEqual(out.order, [1, 2, 3]);
  assert.equal(out.stepWait, 'timed out', 'brokerStorage waits the lock step\'s timeout_ms');
  assert.equal(out.empty, null);
  assert.deepEqual(out.back, { version: 1, n: 1 });
  assert.equal(out.deleted, null);
  assert.equal(out.name, 'storage-test');
  assert.equal(out.badNamespace, true);
  assert.equal(out.badOption, true);
  assert.match(out.noLease, /^TypeError: caspio-auth: TokenBroker\.lock needs leaseMs, a positive number of milliseconds, at most 300000; the broker has no default/);
  assert.match(out.noWait, /^TypeError: caspio-auth: TokenBroker\.lock needs waitMs/);
  assert.match(out.noOptions, /^TypeError: caspio-auth: TokenBroker\.lock needs leaseMs/);
  assert.match(out.extendNoLease, /^TypeError: caspio-auth: TokenBroker\.extend needs leaseMs/);
  assert.match(out.storageNoPolicy, /^TypeError: caspio-auth: brokerStorage's lock\(\) was called without timeout_ms, lock_ttl_ms, lock_extend_ms/);
});

test('TokenBroker over fetch (for Go Workers): an exclusive lease lock, a state round trip shared with RPC, bad input refused unechoed', async () => {
  const out = await check('/broker-fetch');
  assert.deepEqual(out.a, { status: 200, id: true });
  assert.equal(out.bWaitsWhileHeld, true, 'a second POST /lock is not granted while the first is held');
  assert.deepEqual(out.timeout, { status: 503, error: 'lock_timeout' });
  assert.deepEqual(out.unlockA, { released: true });
  assert.deepEqual(out.b, { status: 200, distinct: true }, 'the waiter is granted on release');
  assert.deepEqual(out.unlockAgain, { released: false }, 'a released lock cannot be released again');
  assert.deepEqual(out.unlockB, { released: true });
  assert.equal(out.lapse.status, 200);
  assert.ok(out.lapse.waited >= 150 && out.lapse.waited < 5000, `granted once the 200 ms lease lapsed: waited ${out.lapse.waited} ms`);
  assert.deepEqual(out.lapsedUnlock, { released: false });
  assert.deepEqual(out.extended, Array(8).fill(true), 'POST /extend keeps a held lock');
  assert.equal(out.heldWhileExtended, true, 'a lock extended past its first lease is not granted to a waiter');
  assert.deepEqual(out.lapsedAfterExtending, { status: 200, extendLapsed: { extended: false } }, 'once its holder stops extending it, the lock lapses and the waiter gets it');
  assert.equal(out.empty, 204);
  assert.equal(out.put, 204);
  assert.equal(out.got.status, 200);
  assert.equal(out.got.same, true);
  assert.equal(out.rpcSees, true, 'RPC getState reads what PUT /state stored');
  assert.deepEqual(out.fromRpc, { version: 1, n: 2 }, 'GET /state reads what RPC setState stored');
  assert.equal(out.del, 204);
  assert.equal(out.afterDelete, 204);
  const want = {
    lockBadLease: [400, 'bad_request'], lockHuge: [400, 'bad_request'], lockUnknown: [400, 'bad_request'], lockNotJSON: [400, 'bad_request'],
    lockNoLease: [400, 'bad_request'], lockNoWait: [400, 'bad_request'], lockEmpty: [400, 'bad_request'], extendNoLease: [400, 'bad_request'],
    unlockNoId: [400, 'bad_request'], extendNoId: [400, 'bad_request'], extendBadLease: [400, 'bad_request'], putArray: [400, 'bad_request'], putNotJSON: [400, 'bad_request'], putEmpty: [400, 'bad_request'],
    putText: [415, 'unsupported_media_type'], putHuge: [413, 'too_large'], wrongMethod: [405, 'method_not_allowed'], unknownPath: [404, 'not_found'],
  };
  for (const [name, [status, error]] of Object.entries(want)) {
    assert.deepEqual(out.bad[name], { status, error, echoes: false }, name);
  }
  assert.equal(out.stillEmpty, 204, 'no bad request stored anything');
  assert.match(out.missingSays.lease, /lock takes \{"leaseMs": n, "waitMs": n\}: needs leaseMs/, 'a 400 names the missing field');
  assert.match(out.missingSays.wait, /needs waitMs/);
  assert.match(out.missingSays.empty, /needs leaseMs/);
  assert.match(out.missingSays.extend, /needs leaseMs/);
});

test('the proxy built from the tarball serves requests with the broker, logging in once', async () => {
  const proxy = await mf.getWorker('proxy');
  for (let i = 0; i < 3; i++) {
    const res = await within(15_000, proxy.fetch('http://proxy.test/caspio/tables/Orders/records?q.pageSize=5', { headers: { 'X-Proxy-Key': PROXY_KEY } }), 'proxy request');
    const body = await res.text();
    assert.equal(res.status, 200, body);
    assert.equal(JSON.parse(body).Result.length, 5);
  }
  assert.deepEqual((await sandbox.stats()).token_requests, { client_credentials: 1 });
  assert.match(output, /GET \/tables\/Orders\/records 200/);
});

test('proxy/wrangler.jsonc deploys what the tests run: main, an RPC-capable date, the broker and its migration, no secret', async () => {
  const config = parseJSONC(await readFile(join(root, 'proxy', 'wrangler.jsonc'), 'utf8'));
  assert.equal(config.main, 'src/index.js');
  await readFile(join(root, 'proxy', config.main));
  assert.ok(config.compatibility_date >= '2024-04-03', 'JS RPC to Durable Objects needs 2024-04-03 or later');
  assert.deepEqual(config.durable_objects.bindings, [{ name: 'CASPIO_BROKER', class_name: 'TokenBroker' }]);
  assert.ok(config.migrations.some((m) => m.new_sqlite_classes?.includes('TokenBroker')));
  for (const secret of ['CASPIO_CLIENT_SECRET', 'PROXY_KEYS']) assert.ok(!(secret in config.vars), `${secret} is a secret, not a var`);
  const source = await readFile(join(root, 'proxy', config.main), 'utf8');
  assert.match(source, /^export \{ TokenBroker \} from 'caspio-auth';$/m, 'the main module exports the class it binds');
  const pkg = JSON.parse(await readFile(join(root, 'proxy', 'package.json'), 'utf8'));
  assert.ok(pkg.dependencies['caspio-auth'], 'the proxy depends on caspio-auth');
});

test('outside Workers the Workers exports exist and throw a TypeError with the fix', async () => {
  const node = await import(pathToFileURL(join(project, 'node_modules', 'caspio-auth', 'node.js')).href);
  assert.throws(() => node.kvStorage({}), { name: 'TypeError', message: /kvStorage needs a Workers KV binding.*workerd/ });
  assert.throws(() => node.brokerStorage({}), { name: 'TypeError', message: /brokerStorage needs a Durable Object binding/ });
  assert.throws(() => new node.TokenBroker(), { name: 'TypeError', message: /TokenBroker is a Durable Object class/ });
});
