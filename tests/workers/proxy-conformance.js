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
// PROXY_PREFIX (default /caspio), PROXY_KEYS, PROXY_ORIGINS, PROXY_ALLOW, and the KV
// namespace CASPIO_TOKENS.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLIENT_ID, CLIENT_SECRET, startLoggedSandbox, startRecorder, startTrap } from './helpers.js';

/**
 * @typedef {object} ProxyHandle
 * @property {(input: string, init?: object) => Promise<Response>} dispatchFetch
 * @property {URL} url where the Worker listens, for raw HTTP requests
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
export const APP_ORIGIN = 'https://app.example.com';
export const OTHER_ORIGIN = 'https://evil.example';

/**
 * The bindings every scenario starts from: the spec's example configuration, with Caspio at
 * integrationUrl (the sandbox, or a recorder in front of it).
 */
export function proxyBindings(integrationUrl, extra = {}) {
  return {
    CASPIO_INTEGRATION_URL: integrationUrl,
    CASPIO_CLIENT_ID: CLIENT_ID,
    CASPIO_CLIENT_SECRET: CLIENT_SECRET,
    PROXY_KEYS: `another-key, ${PROXY_KEY}`,
    PROXY_ORIGINS: APP_ORIGIN,
    PROXY_ALLOW: 'GET /tables/Orders/records, GET /tables/Customers/records, POST /tables/Orders/records, GET /tables/*/fields',
    ...extra,
  };
}

const keyed = (headers = {}) => ({ 'X-Proxy-Key': PROXY_KEY, ...headers });

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
    const secrets = new Set([CLIENT_SECRET, PROXY_KEY]); // and the tokens found in KV
    const dirs = [];

    before(async () => {
      [sandbox, trap] = await Promise.all([startLoggedSandbox(), startTrap()]);
      recorder = await startRecorder(sandbox.url);
    });
    after(async () => {
      await Promise.all([sandbox?.stop(), trap?.close(), recorder?.close()]);
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
        const req = request({ host: proxy.url.hostname, port: proxy.url.port, method: 'GET', path: target, headers }, (res) => {
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

        const post = await call(proxy, '/caspio/tables/Orders/records', {
          method: 'POST',
          headers: keyed({ 'Content-Type': 'application/json', Cookie: 'session=1', Authorization: 'Bearer caller' }),
          body: JSON.stringify({ CustomerID: 7, Product: 'Proxy', Quantity: 2 }),
        });
        assert.equal(post.status, 201, post.body);
        assert.equal(post.json.RecordsAffected, 1);
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
          ['key as a bearer token', '/caspio/tables/Orders/records', { headers: { Authorization: `Bearer ${PROXY_KEY}` } }, 401, 'unauthenticated'],
          ['origin not listed', '/caspio/tables/Orders/records', { headers: { Origin: OTHER_ORIGIN } }, 401, 'unauthenticated'],
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

        const get = await call(proxy, '/caspio/tables/Orders/records?q.pageSize=5', { headers: { Origin: APP_ORIGIN } });
        assert.equal(get.status, 200, get.body);
        assert.equal(get.headers.get('access-control-allow-origin'), APP_ORIGIN);
        assert.match(get.headers.get('vary') ?? '', /\bOrigin\b/);
        assert.match(get.headers.get('access-control-expose-headers') ?? '', /X-Caspio-Request-ID/i);

        const refused = await call(proxy, '/caspio/tables/Products/records', { headers: { Origin: APP_ORIGIN } });
        assert.equal(refused.status, 403);
        assert.equal(refused.headers.get('access-control-allow-origin'), APP_ORIGIN, 'errors are readable by the allowed origin');

        const other = await call(proxy, '/caspio/tables/Orders/records', { headers: { Origin: OTHER_ORIGIN } });
        assert.equal(other.status, 401);
        assert.equal(other.headers.get('access-control-allow-origin'), null);
      } finally {
        await finish(proxy);
      }
    });

    test('a missing or bad configuration answers 500 naming the variable, not the secret', async () => {
      const cases = [
        [{ CASPIO_CLIENT_SECRET: '' }, 'CASPIO_CLIENT_SECRET'],
        [{ CASPIO_CLIENT_SECRET: `${CLIENT_SECRET}\u0001` }, 'CASPIO_CLIENT_SECRET'],
        [{ CASPIO_INTEGRATION_URL: 'http://example.com' }, 'CASPIO_INTEGRATION_URL'],
        [{ PROXY_ALLOW: 'GET /tables/**/records' }, 'PROXY_ALLOW'],
      ];
      for (const [extra, variable] of cases) {
        const { proxy } = await fresh(extra);
        try {
          const res = await call(proxy, '/caspio/tables/Orders/records', { headers: keyed() });
          assert.equal(res.status, 500, res.body);
          assert.equal(res.json.error, 'proxy_misconfigured');
          assert.match(res.json.message, new RegExp(`\\b${variable}\\b`));
        } finally {
          await finish(proxy);
        }
      }
      assert.deepEqual(await tokenRequests(), {});
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
