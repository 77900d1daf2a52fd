// The conformance suite of a Caspio authenticating edge proxy running as a Cloudflare Worker
// (the Go example in examples/go-proxy, and any JS proxy that implements the same spec).
// Each test drives the Worker in real workerd through Miniflare, against the Caspio sandbox,
// and checks the sandbox's own counters and request log as well as the answers.
//
//   import { proxySuite } from './proxy-conformance.js';
//   proxySuite('go-proxy', ({ bindings, kvPersist }) => startWorker({ ..., bindings, kvPersist }));
//
// The spec, as bindings: CASPIO_INTEGRATION_URL (or CASPIO_ACCOUNT, or CASPIO_TOKEN_URL and
// CASPIO_RESOURCE_URL; CASPIO_API_VERSION), CASPIO_CLIENT_ID, CASPIO_CLIENT_SECRET,
// PROXY_PREFIX (default /caspio), PROXY_ALLOW (rules "CALLERS METHOD /path", CALLERS one of
// key, access, key+access, PUBLIC), PROXY_KEYS, PROXY_ACCESS_TEAM_DOMAIN and
// PROXY_ACCESS_AUD, PROXY_PUBLIC_WRITES, PROXY_ORIGINS (CORS only), and the KV namespace
// CASPIO_TOKENS.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLIENT_ID, CLIENT_SECRET, memoryOf, startAccessTeam, startLoggedSandbox, startRecorder, startTrap, streamBody } from './helpers.js';

/**
 * @typedef {object} ProxyHandle
 * @property {(input: string, init?: object) => Promise<Response>} dispatchFetch
 * @property {URL} url where the Worker listens, for raw HTTP requests
 * @property {number | null} pid the workerd process that runs it, for its memory
 * @property {() => Promise<{ list(): Promise<{ keys: { name: string }[] }>, get(key: string): Promise<string | null> }>} kv
 *   the CASPIO_TOKENS namespace, to find the tokens the leak checks look for
 * @property {() => string} logs the Worker's output so far (stdout and stderr)
 * @property {() => Promise<void>} dispose
 *
 * @callback StartProxy
 * @param {{ bindings: Record<string, string>, kvPersist: string }} options
 * @returns {Promise<ProxyHandle>}
 */

export const PROXY_KEY = 'proxy-key-Vb82kQ-never-print-me';
/** A second key, as during a rotation. */
export const OLD_PROXY_KEY = 'proxy-key-old-Lp03xN-never-print-me';
export const APP_ORIGIN = 'https://app.example.com';
export const OTHER_ORIGIN = 'https://evil.example';
/** A secret put in the wrong variable by mistake: no answer and no log line may show it. */
export const MISPLACED_SECRET = 'misplaced-Kd93vQ7mW2-never-print-me';

/** The rules of the example configuration: for key holders only, nothing public. */
export const KEY_RULES = 'key GET /tables/Orders/records, key GET /tables/Customers/records, key POST /tables/Orders/records, key GET /tables/*/fields';

/**
 * The bindings every scenario starts from: the spec's example configuration, with Caspio at
 * integrationUrl (the sandbox, or a recorder in front of it).
 */
export function proxyBindings(integrationUrl, extra = {}) {
  return {
    CASPIO_INTEGRATION_URL: integrationUrl,
    CASPIO_CLIENT_ID: CLIENT_ID,
    CASPIO_CLIENT_SECRET: CLIENT_SECRET,
    PROXY_KEYS: `${OLD_PROXY_KEY}, ${PROXY_KEY}`,
    PROXY_ORIGINS: APP_ORIGIN,
    PROXY_ALLOW: KEY_RULES,
    ...extra,
  };
}

const keyed = (headers = {}) => ({ 'X-Proxy-Key': PROXY_KEY, ...headers });

/** Body size limit of the spec, and what the streaming test offers beyond it. */
const MAX_BODY = 8 << 20;
const HUGE_BODY = 256 << 20;
/**
 * How much more workerd's peak memory may grow over a 256 MiB body refused at MAX_BODY than
 * over an ordinary request: the body read up to the limit, and a few MiB of slack for when
 * the garbage collector runs. Buffering the whole body, as a proxy must not, costs 900 MiB.
 */
const MEMORY_BOUND_MIB = (MAX_BODY >> 20) + 6;

/**
 * Registers the conformance tests of a proxy Worker.
 * @param {string} name
 * @param {StartProxy} startProxy
 */
export function proxySuite(name, startProxy) {
  describe(`proxy conformance: ${name}`, () => {
    let sandbox;
    let recorder; // between the proxy and the sandbox
    let trap;
    const seen = []; // every answer of every scenario, for the leak check
    const logs = []; // every Worker's output
    const secrets = new Set([CLIENT_SECRET, PROXY_KEY, OLD_PROXY_KEY, MISPLACED_SECRET]); // and the tokens found in KV
    const dirs = [];
    let team; // a Cloudflare Access team on loopback

    before(async () => {
      [sandbox, trap, team] = await Promise.all([startLoggedSandbox(), startTrap(), startAccessTeam()]);
      recorder = await startRecorder(sandbox.url);
    });
    after(async () => {
      await Promise.all([sandbox?.stop(), trap?.close(), recorder?.close(), team?.close()]);
      await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
    });

    /** A fresh scenario: sandbox reset, empty KV, the Worker started. */
    async function fresh(extra) {
      await sandbox.reset();
      sandbox.requestLog.length = 0;
      recorder.requests.length = 0;
      const kvPersist = await mkdtemp(join(tmpdir(), 'caspio-proxy-kv-'));
      dirs.push(kvPersist);
      const start = () => startProxy({ bindings: proxyBindings(recorder.url, extra), kvPersist });
      return { proxy: await start(), start };
    }

    /** The token states the Worker keeps in KV. */
    async function storedStates(proxy) {
      const ns = await proxy.kv();
      const states = [];
      for (const { name: key } of (await ns.list()).keys) {
        try { states.push(JSON.parse(await ns.get(key))); } catch { /* not a token state */ }
      }
      return states;
    }

    /** Notes the tokens the Worker stored and its output, then stops it. */
    async function finish(proxy) {
      for (const state of await storedStates(proxy)) {
        for (const field of ['access_token', 'refresh_token']) if (state[field]) secrets.add(state[field]);
      }
      logs.push(proxy.logs());
      await proxy.dispose();
    }

    /** Sends a request through the proxy; records the answer for the leak check. */
    async function call(proxy, path, init = {}) {
      const res = await proxy.dispatchFetch(`http://proxy.test${path}`, { redirect: 'manual', ...init });
      const body = await res.text();
      seen.push({ path, status: res.status, headers: [...res.headers], body });
      let json;
      try { json = JSON.parse(body); } catch { /* not JSON */ }
      return { status: res.status, headers: res.headers, body, json };
    }

    /** Sends a raw HTTP/1.1 request line, bypassing any URL normalisation of the client. */
    function raw(proxy, target, headers = {}) {
      return new Promise((resolve, reject) => {
        const req = request({ host: proxy.url.hostname, port: proxy.url.port, method: 'GET', path: target, headers, agent: false }, (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (d) => { body += d; }).on('end', () => {
            seen.push({ path: target, status: res.statusCode, headers: Object.entries(res.headers), body });
            resolve({ status: res.statusCode, body });
          });
        });
        req.on('error', reject);
        req.end();
      });
    }

    const tokenRequests = async () => (await sandbox.stats()).token_requests;

    test('GET and POST reach Caspio with the bearer token; Caspio errors pass through', async () => {
      const { proxy } = await fresh();
      try {
        const get = await call(proxy, '/caspio/tables/Orders/records?q.pageSize=5&q.orderBy=PK_ID', { headers: keyed() });
        assert.equal(get.status, 200, get.body);
        assert.equal(get.json.Result.length, 5);
        assert.equal(get.json.Result[0].PK_ID, 1);
        assert.match(get.headers.get('content-type'), /^application\/json/);

        const post = await call(proxy, '/caspio/tables/Orders/records?response=rows', {
          method: 'POST',
          headers: keyed({ 'Content-Type': 'application/json', Cookie: 'session=1', Authorization: 'Bearer caller' }),
          body: JSON.stringify({ CustomerID: 7, Product: 'Proxy', Quantity: 2 }),
        });
        assert.equal(post.status, 201, post.body);
        assert.equal(post.json.RecordsAffected, 1);
        assert.equal(post.json.Result[0].Product, 'Proxy', 'response=rows reaches Caspio');
        const check = await call(proxy, "/caspio/tables/Orders/records?q.where=Product%3D'Proxy'", { headers: keyed() });
        assert.equal(check.json.Result.length, 1, 'the POST created the record');

        const missing = await call(proxy, '/caspio/tables/Nope/fields', { headers: keyed() });
        assert.equal(missing.status, 404);
        assert.equal(missing.json.Code, 'ObjectNotFound');
        assert.match(missing.headers.get('x-caspio-request-id') ?? '', /^[0-9a-f-]{36}$/);
        assert.equal(missing.headers.get('x-caspio-request-id'), missing.json.RequestId);

        const [state] = await storedStates(proxy);
        assert.ok(state?.access_token, 'KV holds the token state');
        const forwarded = recorder.requests.filter((r) => r.path.startsWith('/rest/v2/'));
        assert.equal(forwarded.length, 4);
        for (const r of forwarded) {
          assert.equal(r.headers.authorization, `Bearer ${state.access_token}`, 'the proxy\'s bearer token, not the caller\'s');
          assert.equal(r.headers.cookie, undefined, 'no Cookie');
          assert.equal(r.headers['x-proxy-key'], undefined, 'no X-Proxy-Key');
        }
        assert.equal(forwarded[1].method, 'POST');
        assert.match(forwarded[1].headers['content-type'], /^application\/json/);

        const stats = await sandbox.stats();
        assert.equal(stats.resource_requests, 4);
        assert.equal(stats.unauthorized, 0, 'every resource request carried a valid bearer token');
        assert.deepEqual(stats.token_requests, { client_credentials: 1 });
      } finally {
        await finish(proxy);
      }
    });

    test('the token is reused across requests and restarts of the Worker (KV)', async () => {
      let { proxy, start } = await fresh();
      try {
        for (let i = 0; i < 3; i++) {
          assert.equal((await call(proxy, '/caspio/tables/Customers/records?q.pageSize=5', { headers: keyed() })).status, 200);
        }
        await finish(proxy);
        proxy = await start(); // a new deployment, the same KV
        for (let i = 0; i < 2; i++) {
          assert.equal((await call(proxy, '/caspio/tables/Customers/records?q.pageSize=5', { headers: keyed() })).status, 200);
        }
        assert.deepEqual(await tokenRequests(), { client_credentials: 1 }, 'exactly one login');
        assert.equal((await sandbox.stats()).unauthorized, 0);
      } finally {
        await finish(proxy);
      }
    });

    test('an expired access token is refreshed exactly once', async () => {
      const { proxy } = await fresh();
      try {
        assert.equal((await call(proxy, '/caspio/tables/Orders/records?q.pageSize=5', { headers: keyed() })).status, 200);
        await sandbox.advance('25h');
        for (let i = 0; i < 3; i++) {
          const res = await call(proxy, '/caspio/tables/Orders/records?q.pageSize=5', { headers: keyed() });
          assert.equal(res.status, 200, res.body);
        }
        assert.deepEqual(await tokenRequests(), { client_credentials: 1, refresh_token: 1 });
      } finally {
        await finish(proxy);
      }
    });

    test('callers must authenticate, and may do only what PROXY_ALLOW allows', async () => {
      const { proxy } = await fresh();
      try {
        const cases = [
          ['no key', '/caspio/tables/Orders/records', {}, 401, 'unauthenticated'],
          ['wrong key', '/caspio/tables/Orders/records', { headers: { 'X-Proxy-Key': PROXY_KEY + 'x' } }, 401, 'unauthenticated'],
          ['a key one character short', '/caspio/tables/Orders/records', { headers: { 'X-Proxy-Key': PROXY_KEY.slice(0, -1) } }, 401, 'unauthenticated'],
          ['key as a bearer token', '/caspio/tables/Orders/records', { headers: { Authorization: `Bearer ${PROXY_KEY}` } }, 401, 'unauthenticated'],
          ['origin not listed', '/caspio/tables/Orders/records', { headers: { Origin: OTHER_ORIGIN } }, 401, 'unauthenticated'],
          ['listed origin without a key', '/caspio/tables/Orders/records', { headers: { Origin: APP_ORIGIN } }, 401, 'unauthenticated'],
          ['an Access token while Access is not configured', '/caspio/tables/Orders/records', { headers: { 'Cf-Access-Jwt-Assertion': team.sign() } }, 401, 'unauthenticated'],
          ['a valid key and a wrong one', '/caspio/tables/Orders/records', { headers: { 'X-Proxy-Key': `${PROXY_KEY}, x` } }, 401, 'unauthenticated'],
          ['method not allowed', '/caspio/tables/Orders/records?q.where=PK_ID%3D1', { method: 'DELETE', headers: keyed() }, 403, 'forbidden'],
          ['PUT not allowed', '/caspio/tables/Orders/records?q.where=PK_ID%3D1', { method: 'PUT', headers: keyed({ 'Content-Type': 'application/json' }), body: '{"Quantity":9}' }, 403, 'forbidden'],
          ['path not allowed', '/caspio/tables/Products/records', { headers: keyed() }, 403, 'forbidden'],
          ['longer path not allowed', '/caspio/tables/Orders/records/extra', { headers: keyed() }, 403, 'forbidden'],
          ['not under the prefix', '/tables/Orders/records', { headers: keyed() }, 404, null],
        ];
        for (const [what, path, init, status, error] of cases) {
          const res = await call(proxy, path, init);
          assert.equal(res.status, status, `${what}: ${res.body}`);
          assert.match(res.headers.get('content-type') ?? '', /^application\/json/, what);
          if (error) assert.equal(res.json.error, error, what);
        }
        const stats = await sandbox.stats();
        assert.equal(stats.resource_requests, 0, 'nothing refused reached Caspio');
        assert.deepEqual(stats.token_requests, {}, 'nor made the proxy log in');
        // Both keys of a rotation work.
        for (const key of [PROXY_KEY, OLD_PROXY_KEY]) {
          assert.equal((await call(proxy, '/caspio/tables/Orders/records?q.pageSize=5', { headers: { 'X-Proxy-Key': key } })).status, 200);
        }
      } finally {
        await finish(proxy);
      }
    });

    test('Origin is not authentication: a forged Origin of an allowed page, without a key, gets 401 and no data', async () => {
      const { proxy } = await fresh();
      try {
        // As curl sends it: any Origin it is told to, no key.
        const forged = await raw(proxy, '/caspio/tables/Orders/records?q.pageSize=5', { Origin: APP_ORIGIN });
        assert.equal(forged.status, 401, forged.body);
        assert.equal(JSON.parse(forged.body).error, 'unauthenticated');
        assert.doesNotMatch(forged.body, /Result|PK_ID/);
        for (const method of ['GET', 'POST']) {
          const res = await call(proxy, '/caspio/tables/Orders/records', {
            method,
            headers: { Origin: APP_ORIGIN, 'Content-Type': 'application/json', 'Sec-Fetch-Site': 'same-origin', Referer: `${APP_ORIGIN}/` },
            body: method === 'POST' ? '{"CustomerID": 1, "Product": "forged", "Quantity": 1}' : undefined,
          });
          assert.equal(res.status, 401, `${method}: ${res.body}`);
          assert.equal(res.headers.get('access-control-allow-origin'), APP_ORIGIN, 'the page may read the refusal');
        }
        const stats = await sandbox.stats();
        assert.equal(stats.resource_requests, 0, 'nothing reached Caspio');
        assert.deepEqual(stats.token_requests, {}, 'nor made the proxy log in');
      } finally {
        await finish(proxy);
      }
    });

    test('odd path segments are refused before the rules match, even under a * rule', async () => {
      const { proxy } = await fresh();
      try {
        // GET /tables/*/fields is allowed; each of these would pass it as its one segment.
        const odd = [
          ['dot dot semicolon', '/caspio/tables/..;/fields'],
          ['dot dot semicolon and a name', '/caspio/tables/..;x=1/fields'],
          ['semicolon parameter', '/caspio/tables/Orders;jsessionid=1/fields'],
          ['double-encoded dot dot', '/caspio/tables/%252e%252e/fields'],
          ['double-encoded dot dot, upper case', '/caspio/tables/%252E%252E/fields'],
          ['double-encoded slash', '/caspio/tables/Orders%252fx/fields'],
          ['double-encoded backslash', '/caspio/tables/Orders%255cx/fields'],
          ['overlong UTF-8 dots', '/caspio/tables/%C0%AE%C0%AE/fields'],
          ['overlong UTF-8 slash', '/caspio/tables/x%C0%AFy/fields'],
          ['overlong UTF-8, three bytes', '/caspio/tables/%E0%80%AE%E0%80%AE/fields'],
          ['invalid UTF-8', '/caspio/tables/%FF/fields'],
          ['fullwidth dots', '/caspio/tables/%EF%BC%8E%EF%BC%8E/fields'],
          ['fullwidth dots, unencoded', '/caspio/tables/\uFF0E\uFF0E/fields'],
          ['one dot leaders', '/caspio/tables/%E2%80%A4%E2%80%A4/fields'],
          ['small full stops', '/caspio/tables/%EF%B9%92%EF%B9%92/fields'],
          ['fullwidth slash', '/caspio/tables/x%EF%BC%8Fy/fields'],
          ['division slash', '/caspio/tables/x%E2%88%95y/fields'],
          ['three dots', '/caspio/tables/.../fields'],
          ['dot dot space', '/caspio/tables/..%20/fields'],
          ['trailing dot', '/caspio/tables/Orders./fields'],
          ['encoded question mark', '/caspio/tables/x%3Fy/fields'],
          ['encoded colon', '/caspio/tables/x%3Ay/fields'],
          ['encoded NUL', '/caspio/tables/x%00/fields'],
        ];
        for (const [what, target] of odd) {
          const res = await call(proxy, target, { headers: keyed() });
          assert.equal(res.status, 400, `${what} (${target}): ${res.body}`);
          assert.equal(res.json?.error, 'bad_path', what);
          assert.match(res.json.message, /segment 2/, `${what}: the message says where`);
        }
        // A malformed percent-encoding: the JS proxy refuses it (400); syumai/workers parses the
        // URL before the Go proxy's handler runs and fails the request (500). Neither forwards it.
        const malformed = await call(proxy, '/caspio/tables/%zz/fields', { headers: keyed() });
        assert.ok(malformed.status === 400 || malformed.status === 500, `malformed percent-encoding: ${malformed.status} ${malformed.body}`);
        // Names with letters of any script, digits, spaces and a dot inside are no odd segments.
        for (const target of ['/caspio/tables/Orders/fields', '/caspio/tables/%4Frders/fields', '/caspio/tables/Caf%C3%A9s/fields', '/caspio/tables/My%20Table.2024/fields']) {
          const res = await call(proxy, target, { headers: keyed() });
          assert.ok(res.status === 200 || res.status === 404, `${target}: ${res.status} ${res.body}`);
          assert.notEqual(res.json?.error, 'bad_path', target);
        }
        const paths = recorder.requests.map((r) => r.path).filter((p) => p.startsWith('/rest/'));
        assert.deepEqual(paths, ['/rest/v2/tables/Orders/fields', '/rest/v2/tables/Orders/fields', '/rest/v2/tables/Caf%C3%A9s/fields', '/rest/v2/tables/My%20Table.2024/fields'],
          'only the plain names reached Caspio, each spelled one way');
      } finally {
        await finish(proxy);
      }
    });

    test('path smuggling never reaches anything but the resource routes', async () => {
      const { proxy } = await fresh();
      try {
        assert.equal((await call(proxy, '/caspio/tables/Orders/records?q.pageSize=5', { headers: keyed() })).status, 200);
        const before = await sandbox.stats();
        // [what, target, init, status]. workerd parses the request URL as browsers do (WHATWG):
        // "..", ".%2e" and "%2e%2e" segments are resolved and "\\" becomes "/" before the
        // Worker sees the URL, so those attempts arrive as other paths, outside the prefix
        // (404) or not allowed (403). What survives the parser is the proxy's to refuse (400).
        const attempts = [
          ['dot dot', '/caspio/../oauth/token', { method: 'POST', body: 'grant_type=client_credentials' }, 404],
          ['dot dot into the token endpoint', '/caspio/tables/../../oauth/token', {}, 404],
          ['encoded dot dot', '/caspio/tables/%2e%2e/%2E%2E/oauth/token', {}, 404],
          ['half-encoded dot dot', '/caspio/tables/.%2e/oauth/token', {}, 403],
          ['encoded slash', '/caspio/tables%2FOrders/records', {}, 400],
          ['encoded dot dot and slashes', '/caspio/tables/Orders%2f..%2f..%2f..%2foauth%2ftoken', {}, 400],
          ['encoded dot in a segment', '/caspio/tables/Orders%2erecords', {}, 400],
          ['empty segment', '/caspio//tables/Orders/records', {}, 400],
          ['trailing slash', '/caspio/tables/Orders/records/', {}, 400],
          ['backslashes', '/caspio/tables\\..\\..\\oauth\\token', {}, 404],
          ['encoded backslash', '/caspio/tables%5c..%5C..%5coauth%5ctoken', {}, 400],
          ['the token endpoint as a resource path', '/caspio/oauth/token', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials' }, 403],
          ['the REST base and dot dot', '/caspio/rest/v2/../../oauth/token', {}, 403],
          ['the other API version', '/caspio/integrations/rest/v3/tables/Orders/records', {}, 400],
          ['user info', `/caspio/@${trap.host}/tables/Orders/records`, {}, 400],
          ['encoded at sign', `/caspio/%40${trap.host}/tables/Orders/records`, {}, 400],
          ['absolute URL in the path', `/caspio/http://${trap.host}/tables/Orders/records`, {}, 400],
          ['scheme-relative URL in the path', `/caspio//${trap.host}/tables/Orders/records`, {}, 400],
          ['encoded scheme-relative URL', `/caspio/%2F%2F${trap.host}/tables/Orders/records`, {}, 400],
          ['the control API', '/caspio/../__sandbox/reset', { method: 'POST' }, 404],
        ];
        for (const [what, target, init, status] of attempts) {
          const res = await call(proxy, target, { ...init, headers: keyed(init.headers) });
          assert.equal(res.status, status, `${what} (${target}): ${res.body}`);
          assert.match(res.headers.get('content-type') ?? '', /^application\/json/, what);
          assert.equal(res.json.error, { 400: 'bad_path', 403: 'forbidden', 404: 'not_found' }[status], what);
          assert.ok(!res.body.includes(sandbox.url.replace('http://', '')) && !res.body.includes(recorder.url.replace('http://', '')), `${what}: the answer names no upstream`);
        }
        // Raw request lines, which no client-side URL parser touches.
        for (const target of [
          '/caspio/tables/%2e%2e/%2e%2e/oauth/token',
          '/caspio/tables\\..\\..\\oauth\\token',
          `/caspio/@${trap.host}/x`,
          `http://${trap.host}/caspio/tables/Orders/records`,
          `//${trap.host}/caspio/tables/Orders/records`,
        ]) {
          const res = await raw(proxy, target, { 'X-Proxy-Key': PROXY_KEY });
          assert.notEqual(res.status, 200, `${target}: ${res.body}`);
        }
        // The Host a caller names never picks the upstream: this goes to the sandbox.
        const hosted = await proxy.dispatchFetch(`http://${trap.host}/caspio/tables/Orders/records?q.pageSize=5`, { headers: keyed() });
        assert.equal(hosted.status, 200);
        await hosted.arrayBuffer();

        const after = await sandbox.stats();
        assert.deepEqual(after.token_requests, { client_credentials: 1 }, 'no extra token request');
        assert.equal(after.resource_requests, before.resource_requests + 1, 'only the Host request was forwarded');
        assert.deepEqual(trap.hits, [], 'the second server received nothing');
        const upstream = recorder.requests.map((r) => `${r.method} ${r.path}`);
        assert.deepEqual(upstream.filter((r) => !r.startsWith('GET /rest/v2/tables/Orders/records?')), ['POST /oauth/token'],
          'the proxy sent nothing upstream but the login and the allowed requests');
        for (const { method, path } of sandbox.requestLog) {
          const ok = (method === 'POST' && path === '/oauth/token') || path.startsWith('/rest/v2/tables/') || path.startsWith('/__sandbox/');
          assert.ok(ok, `the sandbox saw ${method} ${path}`);
        }
        assert.equal(sandbox.requestLog.filter((r) => r.path === '/oauth/token').length, 1);
      } finally {
        await finish(proxy);
      }
    });

    test('the rules match the resource path as the client resolves it: a leading REST base or version is dropped, another version is refused', async () => {
      for (const [version, base, other] of [['v2', '/rest/v2', '/integrations/rest/v3'], ['v3', '/integrations/rest/v3', '/rest/v2']]) {
        const { proxy } = await fresh({ CASPIO_API_VERSION: version });
        try {
          for (const spelling of ['', base, `/${version}`]) {
            const res = await call(proxy, `/caspio${spelling}/tables/Orders/records?q.pageSize=5`, { headers: keyed() });
            assert.equal(res.status, 200, `${version}, ${spelling || 'the resource path'}: ${res.body}`);
            assert.equal(res.json.Result.length, 5);
          }
          const ruled = await call(proxy, `/caspio${base}/tables/Products/records`, { headers: keyed() });
          assert.equal(ruled.status, 403, `${version}: the REST base is dropped before the rules match: ${ruled.body}`);
          for (const spelling of [other, `/${version === 'v2' ? 'v3' : 'v2'}`]) {
            const res = await call(proxy, `/caspio${spelling}/tables/Orders/records`, { headers: keyed() });
            assert.equal(res.status, 400, `${version}, ${spelling}: ${res.body}`);
            assert.equal(res.json.error, 'bad_path');
            assert.ok(!res.body.includes(recorder.url.replace('http://', '')), 'the answer names no upstream');
          }
          const forwarded = recorder.requests.filter((r) => r.path !== '/oauth/token').map((r) => `${r.method} ${r.path}`);
          assert.deepEqual(forwarded, Array(3).fill(`GET ${base}/tables/Orders/records?q.pageSize=5`), `${version}: each spelling reached the one resource`);
          await new Promise((r) => setTimeout(r, 50)); // workerd's output reaches the pipe
          const routes = proxy.logs().match(/GET \/tables\/Orders\/records 200 /g) ?? [];
          assert.equal(routes.length, 3, `${version}: the log names the resource path:\n${proxy.logs()}`);
        } finally {
          await finish(proxy);
        }
      }
    });

    test('redirects from Caspio are never followed, neither for tokens nor for resources', async () => {
      const { proxy } = await fresh();
      try {
        await sandbox.fault({ route: '/oauth/token', status: 302, location: `${trap.url}/oauth/token` });
        const login = await call(proxy, '/caspio/tables/Orders/records?q.pageSize=5', { headers: keyed() });
        assert.ok(login.status >= 500 && login.status < 600, `a redirected login is a gateway error: ${login.status} ${login.body}`);
        assert.ok(login.json?.error, 'with a JSON error');

        assert.equal((await call(proxy, '/caspio/tables/Orders/records?q.pageSize=5', { headers: keyed() })).status, 200);
        await sandbox.fault({ route: '/rest/v2/tables/Orders/records', status: 302, location: `${trap.url}/rest/v2/tables/Orders/records` });
        const moved = await call(proxy, '/caspio/tables/Orders/records?q.pageSize=5', { headers: keyed() });
        assert.equal(moved.status, 302, 'the redirect is passed back, not followed');
        assert.ok(!(moved.headers.get('location') ?? '').includes(trap.host), 'and its Location is not passed on');
        assert.deepEqual(trap.hits, [], 'the redirect targets received nothing');
      } finally {
        await sandbox.control('DELETE', 'faults');
        await finish(proxy);
      }
    });

    test('CORS: allowed origins get CORS headers and preflights; others get 403', async () => {
      const { proxy } = await fresh();
      try {
        const pre = await call(proxy, '/caspio/tables/Orders/records', {
          method: 'OPTIONS',
          headers: { Origin: APP_ORIGIN, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' },
        });
        assert.equal(pre.status, 204);
        assert.equal(pre.headers.get('access-control-allow-origin'), APP_ORIGIN);
        assert.match(pre.headers.get('vary') ?? '', /\bOrigin\b/);
        const methods = (pre.headers.get('access-control-allow-methods') ?? '').split(/\s*,\s*/);
        assert.ok(methods.includes('GET') && methods.includes('POST'), `allowed methods: ${methods}`);
        const allowHeaders = (pre.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(/\s*,\s*/);
        for (const h of ['content-type', 'accept', 'x-proxy-key']) assert.ok(allowHeaders.includes(h), `allows ${h}`);

        const denied = await call(proxy, '/caspio/tables/Orders/records', {
          method: 'OPTIONS',
          headers: { Origin: OTHER_ORIGIN, 'Access-Control-Request-Method': 'GET' },
        });
        assert.equal(denied.status, 403);
        assert.equal(denied.headers.get('access-control-allow-origin'), null);

        const get = await call(proxy, '/caspio/tables/Orders/records?q.pageSize=5', { headers: keyed({ Origin: APP_ORIGIN }) });
        assert.equal(get.status, 200, get.body);
        assert.equal(get.headers.get('access-control-allow-origin'), APP_ORIGIN);
        assert.match(get.headers.get('vary') ?? '', /\bOrigin\b/);
        assert.match(get.headers.get('access-control-expose-headers') ?? '', /X-Caspio-Request-ID/i);

        const refused = await call(proxy, '/caspio/tables/Products/records', { headers: keyed({ Origin: APP_ORIGIN }) });
        assert.equal(refused.status, 403);
        assert.equal(refused.headers.get('access-control-allow-origin'), APP_ORIGIN, 'errors are readable by the allowed origin');

        const keyless = await call(proxy, '/caspio/tables/Orders/records', { headers: { Origin: APP_ORIGIN } });
        assert.equal(keyless.status, 401, 'an allowed origin is no credential');
        assert.equal(keyless.headers.get('access-control-allow-origin'), APP_ORIGIN);

        const other = await call(proxy, '/caspio/tables/Orders/records', { headers: keyed({ Origin: OTHER_ORIGIN }) });
        assert.equal(other.status, 200, 'a key holder is served from any page; its browser just cannot read the answer');
        assert.equal(other.headers.get('access-control-allow-origin'), null);
      } finally {
        await finish(proxy);
      }
    });

    test('a bad configuration: callers are authenticated first, then get a generic 500 with a request ID; the log names the variable, never the value', async () => {
      const S = MISPLACED_SECRET;
      // [variable at fault, the change]: a secret pasted into the wrong variable, mostly.
      const cases = [
        ['PROXY_ALLOW', { PROXY_ALLOW: `${KEY_RULES}, ${S}` }],
        ['PROXY_ALLOW', { PROXY_ALLOW: `key GET /tables/${S}*` }],
        ['PROXY_ORIGINS', { PROXY_ORIGINS: `https://app.example.com/${S}` }],
        ['PROXY_PREFIX', { PROXY_PREFIX: `/${S}?` }],
        ['PROXY_KEYS', { PROXY_KEYS: `${PROXY_KEY}, short` }],
        ['PROXY_PUBLIC_WRITES', { PROXY_PUBLIC_WRITES: S }],
        ['PROXY_ACCESS_AUD', { PROXY_ACCESS_TEAM_DOMAIN: team.url, PROXY_ACCESS_AUD: S }],
        ['PROXY_ACCESS_TEAM_DOMAIN', { PROXY_ACCESS_TEAM_DOMAIN: `https://${S}.example/x`, PROXY_ACCESS_AUD: team.aud }],
        ['CASPIO_ACCOUNT', { CASPIO_INTEGRATION_URL: '', CASPIO_ACCOUNT: S }],
        ['CASPIO_API_VERSION', { CASPIO_API_VERSION: S }],
        ['CASPIO_INTEGRATION_URL', { CASPIO_INTEGRATION_URL: `http://example.com/${S}` }],
        ['CASPIO_CLIENT_SECRET', { CASPIO_CLIENT_SECRET: '' }],
        ['CASPIO_CLIENT_SECRET', { CASPIO_CLIENT_SECRET: `${CLIENT_SECRET}\u0001` }],
        ['CASPIO_CLIENT_ID', { CASPIO_CLIENT_ID: `${S} x` }],
      ];
      for (const [variable, extra] of cases) {
        const { proxy } = await fresh(extra);
        const what = `${variable} (${Object.keys(extra).join(', ')})`;
        try {
          for (const headers of [{}, { Origin: APP_ORIGIN }, { 'X-Proxy-Key': 'proxy-key-not-one-of-them-at-all' }]) {
            const anonymous = await call(proxy, '/caspio/tables/Orders/records', { headers });
            assert.equal(anonymous.status, 401, `${what}: an unauthenticated caller learns nothing: ${anonymous.body}`);
            assert.equal(anonymous.json.error, 'unauthenticated', what);
          }
          const res = await call(proxy, '/caspio/tables/Orders/records', { headers: keyed() });
          assert.equal(res.status, 500, `${what}: ${res.body}`);
          assert.equal(res.json.error, 'proxy_misconfigured', what);
          assert.match(res.json.request_id ?? '', /^[0-9a-f-]{16,}$/, `${what}: a request ID`);
          assert.doesNotMatch(res.body, /PROXY_|CASPIO_/, `${what}: the answer names no variable`);
          await new Promise((r) => setTimeout(r, 50)); // workerd's output reaches the pipe
          const output = proxy.logs();
          const line = output.split('\n').find((l) => l.includes(res.json.request_id));
          assert.ok(line, `${what}: the log has a line with the request ID:\n${output}`);
          assert.match(line, new RegExp(`\\b${variable}\\b`), `${what}: the log line names the variable`);
          assert.ok(!output.includes(S), `${what}: the log shows no value`);
        } finally {
          await finish(proxy);
        }
      }
      assert.deepEqual(await tokenRequests(), {});
      assert.equal((await sandbox.stats()).resource_requests, 0);
    });

    test('a body is counted as it streams and refused at the limit: a 256 MiB chunked body gets 413 and costs workerd the limit\'s worth of memory at most', async (t) => {
      const { proxy } = await fresh();
      try {
        assert.equal((await call(proxy, '/caspio/tables/Orders/records?q.pageSize=5', { headers: keyed() })).status, 200);
        const before = await sandbox.stats();
        const path = '/caspio/tables/Orders/records';
        // Refused on Content-Length before anything is read: the body never comes.
        const declared = await new Promise((resolve, reject) => {
          const req = request({ host: proxy.url.hostname, port: proxy.url.port, method: 'POST', path, agent: false, headers: keyed({ 'Content-Type': 'application/json', 'Content-Length': String(HUGE_BODY) }) }, (res) => {
            let body = '';
            res.setEncoding('utf8').on('data', (d) => { body += d; }).on('end', () => { req.destroy(); resolve({ status: res.statusCode, body }); });
          });
          req.on('error', reject);
          req.setTimeout(10_000, () => { req.destroy(); reject(new Error('no answer within 10 s: the proxy waited for a body that its Content-Length already put over the limit')); });
          req.flushHeaders();
        });
        assert.equal(declared.status, 413, declared.body);
        assert.equal(JSON.parse(declared.body).error, 'too_large');
        // A body at the limit is forwarded (Caspio refuses it as JSON, but it gets there).
        const atLimit = await streamBody(proxy.url, path, MAX_BODY, keyed());
        assert.notEqual(atLimit.status, 413, `${MAX_BODY} bytes are allowed: ${atLimit.body}`);

        // What the proxy decided about a chunked body: its answer. A proxy that refuses a body
        // may close the connection while the body is still coming, and Node's client then
        // reports the closed connection (status 0 here) instead of the answer that came with
        // it, more often on a busy machine. Then the proxy's own record of its decision, the
        // log line it writes for every request, says whether it answered 413.
        const refusals = () => (proxy.logs().match(/^.*\bPOST \S+ 413 .*$/gm) ?? []).length;
        const assertRefused = async (answer, logged, what) => {
          if (answer.status === 0 && ['ECONNRESET', 'EPIPE'].includes(answer.error)) {
            // workerd's output reaches the pipe a little after the connection closes.
            for (let i = 0; i < 200 && refusals() === logged; i++) await new Promise((r) => { setTimeout(r, 50); });
            assert.equal(refusals(), logged + 1, `${what}: the connection closed (${answer.error}) and the proxy logged no 413:\n${proxy.logs()}`);
            return;
          }
          assert.equal(answer.status, 413, `${what}: ${answer.error ?? answer.body}`);
          assert.equal(JSON.parse(answer.body).error, 'too_large', what);
        };

        // Chunked, no Content-Length: counted as it streams, refused one byte over.
        let logged = refusals();
        const justOver = await streamBody(proxy.url, path, MAX_BODY + 1, keyed());
        await assertRefused(justOver, logged, 'one byte over the limit');

        // workerd's peak memory over a 256 MiB chunked body, beside its peak over an ordinary
        // request (a Go Worker starts a Go instance for each request, which costs memory of
        // its own until V8 collects it).
        const pid = proxy.pid;
        const growth = async (send) => {
          const before = await memoryOf(pid, { resetPeak: true });
          const answer = await send();
          return { answer, mib: (await memoryOf(pid)).peak - before.rss };
        };
        const ordinary = () => growth(async () => {
          const res = await proxy.dispatchFetch('http://proxy.test/caspio/tables/Orders/records?q.pageSize=5', { headers: keyed() });
          await res.arrayBuffer();
          return res;
        });
        if (pid === null) {
          t.diagnostic('the workerd process was not found: memory not measured');
        } else {
          const control = Math.max((await ordinary()).mib, (await ordinary()).mib);
          logged = refusals();
          const huge = await growth(() => streamBody(proxy.url, path, HUGE_BODY, keyed()));
          const { status, sent, ms } = huge.answer;
          t.diagnostic(`workerd's peak memory: +${huge.mib.toFixed(1)} MiB over a ${HUGE_BODY >> 20} MiB chunked body (answered ${status || huge.answer.error} in ${ms} ms, `
            + `after ${(sent / 2 ** 20).toFixed(0)} MiB were sent), +${control.toFixed(1)} MiB over an ordinary request`);
          await assertRefused(huge.answer, logged, `a ${HUGE_BODY >> 20} MiB body`);
          assert.ok(sent < HUGE_BODY, 'the answer came before the whole body was sent');
          assert.ok(huge.mib - control <= MEMORY_BOUND_MIB,
            `a refused 256 MiB body cost ${(huge.mib - control).toFixed(1)} MiB more than an ordinary request (at most ${MEMORY_BOUND_MIB})`);
        }
        const after = await sandbox.stats();
        assert.equal(after.resource_requests, before.resource_requests + 1 + (pid === null ? 0 : 2), 'of the bodies, only the one at the limit reached Caspio');
        // The proxy still serves.
        assert.equal((await call(proxy, '/caspio/tables/Orders/records?q.pageSize=5', { headers: keyed() })).status, 200);
      } finally {
        await finish(proxy);
      }
    });

    test('an outage of the token endpoint is named an outage (503); a refusal of the credentials stays a refusal (502)', async () => {
      const { proxy } = await fresh();
      try {
        for (const status of [500, 503]) {
          await sandbox.fault({ route: '/oauth/token', status, count: 10, retry_after: '0' });
          const res = await call(proxy, '/caspio/tables/Orders/records?q.pageSize=5', { headers: keyed() });
          assert.equal(res.status, 503, `token endpoint ${status}: ${res.body}`);
          assert.equal(res.json.error, 'caspio_unavailable');
          assert.doesNotMatch(res.json.message, /refused|credentials/, `an outage is not a refusal: ${res.json.message}`);
          await sandbox.control('DELETE', 'faults');
        }
        for (const [status, body] of [[401, '{"error":"invalid_client"}'], [400, '{"error":"invalid_client","error_description":"bad secret"}']]) {
          await sandbox.fault({ route: '/oauth/token', status, body, count: 10 });
          const res = await call(proxy, '/caspio/tables/Orders/records?q.pageSize=5', { headers: keyed() });
          assert.equal(res.status, 502, `token endpoint ${status}: ${res.body}`);
          assert.equal(res.json.error, 'caspio_auth_failed');
          assert.match(res.json.message, /refused the proxy's credentials \(invalid_client\)/);
          await sandbox.control('DELETE', 'faults');
        }
        assert.equal((await call(proxy, '/caspio/tables/Orders/records?q.pageSize=5', { headers: keyed() })).status, 200, 'served once Caspio is back');
      } finally {
        await sandbox.control('DELETE', 'faults');
        await finish(proxy);
      }
    });

    test('Cloudflare Access: a valid token is an access caller; expired, other audience, other key and forgeries get 401', async () => {
      const { proxy } = await fresh({
        PROXY_ACCESS_TEAM_DOMAIN: team.url,
        PROXY_ACCESS_AUD: `${'0'.repeat(64)}, ${team.aud}`,
        PROXY_ALLOW: `${KEY_RULES}, access GET /tables/Customers/records, key+access GET /tables/Orders/fields`,
      });
      try {
        const fetchesBefore = team.keyFetches;
        const as = (token, path = '/caspio/tables/Customers/records?q.pageSize=5') => call(proxy, path, { headers: { 'Cf-Access-Jwt-Assertion': token } });
        const valid = await as(team.sign());
        assert.equal(valid.status, 200, valid.body);
        assert.equal(valid.json.Result.length, 5);
        assert.equal((await as(team.sign({ claims: { aud: team.aud } }))).status, 200, 'aud as a string');
        assert.equal((await as(team.sign(), '/caspio/tables/Orders/fields')).status, 200, 'a key+access rule');
        assert.equal((await as(team.sign(), '/caspio/tables/Orders/records')).status, 403, 'an access caller on a key rule is forbidden');

        const now = Math.floor(Date.now() / 1000);
        const x = (s) => Buffer.from(s).toString('base64url');
        const [h, p] = team.sign().split('.');
        const refused = [
          ['expired', team.sign({ claims: { exp: now - 5 } }), /expired/],
          ['for another audience', team.sign({ claims: { aud: ['f'.repeat(64)] } }), /another Access application/],
          ['signed by another key', team.sign({ otherKey: true }), /signature/],
          ['signed by another key, with an unknown kid', team.sign({ otherKey: true, header: { kid: 'f'.repeat(32) } }), /key that the team/],
          ['from another team', team.sign({ claims: { iss: 'https://other.cloudflareaccess.com' } }), /another team/],
          ['not valid yet', team.sign({ claims: { nbf: now + 3600 } }), /not valid yet/],
          ['without an expiry', team.sign({ claims: { exp: undefined } }), /no expiry/],
          ['alg none', `${x('{"alg":"none","kid":"' + team.kid + '"}')}.${p}.`, /part 3|RS256/],
          ['alg HS256', `${x('{"alg":"HS256","kid":"' + team.kid + '"}')}.${p}.${x('sig')}`, /RS256/],
          ['a changed payload', `${h}.${x(JSON.stringify({ aud: [team.aud], iss: team.url, exp: now + 3600, email: 'admin@example.com' }))}.${team.sign().split('.')[2]}`, /signature/],
          ['two parts', `${h}.${p}`, /has 2 dot-separated parts/],
          ['not base64url', `${h}.${p}.${MISPLACED_SECRET}!`, /base64url/],
        ];
        for (const [what, token, why] of refused) {
          const res = await as(token);
          assert.equal(res.status, 401, `${what}: ${res.body}`);
          assert.equal(res.json.error, 'unauthenticated', what);
          assert.match(res.json.message, /Cf-Access-Jwt-Assertion/, what);
          assert.match(res.json.message, why, what);
          assert.ok(!res.body.includes(token.split('.')[1] || token), `${what}: the answer does not echo the token`);
        }
        assert.equal((await as(team.sign({ otherKey: true }), '/caspio/tables/Orders/records')).status, 401, 'an invalid token with no rule for it is still 401');
        const withKey = await call(proxy, '/caspio/tables/Customers/records?q.pageSize=5', { headers: keyed({ 'Cf-Access-Jwt-Assertion': team.sign({ claims: { exp: now - 5 } }) }) });
        assert.equal(withKey.status, 401, 'every credential sent must hold');
        const fetches = team.keyFetches - fetchesBefore;
        assert.ok(fetches >= 1 && fetches <= 4, `the team's keys were fetched ${fetches} times for ${refused.length + 6} tokens (cached)`);
        const stats = await sandbox.stats();
        assert.equal(stats.resource_requests, 3, 'only the valid tokens reached Caspio');
      } finally {
        await finish(proxy);
      }
    });

    test('PUBLIC rules serve anyone; a public write needs PROXY_PUBLIC_WRITES; public must be spelled PUBLIC', async () => {
      let { proxy } = await fresh({ PROXY_ALLOW: `${KEY_RULES}, PUBLIC GET /tables/Customers/records` });
      try {
        const open = await call(proxy, '/caspio/tables/Customers/records?q.pageSize=5');
        assert.equal(open.status, 200, open.body);
        assert.equal((await call(proxy, '/caspio/tables/Orders/records')).status, 401, 'a key rule still needs a key');
        assert.equal((await call(proxy, '/caspio/tables/Products/records')).status, 401, 'no rule: unauthenticated, not forbidden, for an anonymous caller');
        assert.equal((await call(proxy, '/caspio/tables/..;/records')).status, 400, 'the path checks hold for anyone');
        assert.equal((await call(proxy, '/caspio/tables/Customers/records', { headers: { 'X-Proxy-Key': 'proxy-key-not-one-of-them-at-all' } })).status, 401, 'a wrong key is refused even on a public rule');
        await finish(proxy);

        for (const rules of ['PUBLIC POST /tables/Orders/records', 'PUBLIC DELETE /tables/**', 'public GET /tables/Customers/records', 'Public GET /tables/Customers/records', 'key+PUBLIC GET /tables/Customers/records', 'GET /tables/Customers/records']) {
          ({ proxy } = await fresh({ PROXY_ALLOW: `${KEY_RULES}, ${rules}` }));
          assert.equal((await call(proxy, '/caspio/tables/Customers/records')).status, 401, `${rules}: refused, so nothing is public`);
          const res = await call(proxy, '/caspio/tables/Customers/records', { headers: keyed() });
          assert.equal(res.status, 500, `${rules}: misconfigured`);
          await new Promise((r) => setTimeout(r, 50));
          assert.match(proxy.logs(), /PROXY_ALLOW rule 5/, rules);
          await finish(proxy);
        }

        ({ proxy } = await fresh({ PROXY_ALLOW: `${KEY_RULES}, PUBLIC POST /tables/Orders/records`, PROXY_PUBLIC_WRITES: 'allow' }));
        const post = await call(proxy, '/caspio/tables/Orders/records?response=rows', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"CustomerID": 3, "Product": "Public", "Quantity": 1}' });
        assert.equal(post.status, 201, post.body);
      } finally {
        await finish(proxy);
      }
    });

    test('the secret, the proxy key and the tokens appear in no answer and no log line', () => {
      assert.ok(secrets.size >= 4, 'the tokens were found in KV');
      assert.ok(seen.length > 40);
      for (const secret of secrets) {
        for (const r of seen) {
          assert.ok(!r.body.includes(secret), `a secret in the body of ${r.path}`);
          for (const [name, value] of r.headers) assert.ok(!String(value).includes(secret), `a secret in ${name} of ${r.path}`);
        }
        for (const output of logs) assert.ok(!output.includes(secret), 'a secret in the Worker output');
      }
      assert.ok(logs.join('').length > 0, 'the Worker output was captured');
    });
  });
}

/**
 * Checks that a shipped configuration (the vars of a wrangler.jsonc) and its README's
 * examples grant nothing public, and that the configuration, with the sandbox and the
 * test's secrets put in, serves key holders and nobody else.
 * @param {{vars: Record<string, string>, readme: string, startProxy: (bindings: Record<string, string>) => Promise<ProxyHandle>, sandboxUrl: string}} options
 */
export async function checkShippedConfiguration({ vars, readme, startProxy, sandboxUrl }) {
  assert.doesNotMatch(vars.PROXY_ALLOW ?? '', /\bpublic\b/i, 'the shipped rules grant nothing public');
  assert.equal(vars.PROXY_PUBLIC_WRITES ?? '', '', 'nor public writes');
  for (const secret of ['CASPIO_CLIENT_SECRET', 'PROXY_KEYS']) assert.ok(!(secret in vars), `${secret} is a secret, not a var`);
  const blocks = readme.match(/^```[^\n]*\n[\s\S]*?^```/gm) ?? [];
  for (const block of blocks) assert.doesNotMatch(block, /\bPUBLIC\s+[A-Z]+\s+\//, 'the README\'s examples grant nothing public');
  for (const block of blocks) assert.doesNotMatch(block, /PROXY_PUBLIC_WRITES/, 'nor public writes');

  const bindings = { ...vars, CASPIO_INTEGRATION_URL: sandboxUrl, CASPIO_CLIENT_ID: CLIENT_ID, CASPIO_CLIENT_SECRET: CLIENT_SECRET, PROXY_KEYS: PROXY_KEY };
  delete bindings.CASPIO_ACCOUNT;
  const proxy = await startProxy(bindings);
  try {
    const get = async (path, init) => {
      const res = await proxy.dispatchFetch(`http://proxy.test${path}`, init);
      return { status: res.status, body: await res.text() };
    };
    const path = '/caspio/tables/Orders/records?q.pageSize=5';
    const served = await get(path, { headers: { 'X-Proxy-Key': PROXY_KEY } });
    assert.equal(served.status, 200, `the shipped configuration serves a key holder: ${served.body}`);
    for (const headers of [{}, { Origin: APP_ORIGIN }, { Origin: 'https://caspio-proxy.example.workers.dev' }]) {
      assert.equal((await get(path, { headers })).status, 401, `and nobody else (${JSON.stringify(headers)})`);
      assert.equal((await get('/caspio/tables/Orders/records', { method: 'POST', headers: { ...headers, 'Content-Type': 'application/json' }, body: '{}' })).status, 401);
    }
  } finally {
    await proxy.dispose();
  }
}
