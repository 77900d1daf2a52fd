// The JS client against the sandbox: options, credentials placements, resource requests,
// URL refusal, tokens, events and counters, and that no secret leaks anywhere.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import {
  createClient, memoryStorage, apiErrorFromResponse, VERSION,
  CaspioError, CaspioConfigError, CaspioOAuthError, CaspioURLError, CaspioAPIError, CaspioTokenError,
} from 'caspio-auth';
import { startSandbox, CLIENT_SECRET } from './helpers/sandbox.js';
import { recordingFetch, eventLog, assertNoSecret } from './helpers/recorder.js';

let sandbox;
before(async () => { sandbox = await startSandbox(); });
after(async () => { await sandbox?.stop(); });
beforeEach(async () => { await sandbox.reset(); });

test('the package resolves to the Node entry and its version', async () => {
  const pkg = (await import('caspio-auth/package.json', { with: { type: 'json' } })).default;
  assert.equal(VERSION, pkg.version);
  assert.equal(typeof createClient, 'function');
});

test('unknown options are a TypeError naming them', async () => {
  await assert.rejects(createClient(sandbox.options({ clientSecrt: 'x', tokenTTL: 5 })), (err) => {
    assert.ok(err instanceof TypeError);
    assert.match(err.message, /unknown options "clientSecrt" \(did you mean clientSecret\?\), "tokenTTL"; the options are account, /);
    return true;
  });
  await assert.rejects(createClient(sandbox.options({ client_secret: 'x' })), /"client_secret" \(did you mean clientSecret\?\)/);
  await assert.rejects(createClient(sandbox.options({ IntegrationURL: 'x' })), /"IntegrationURL" \(did you mean integrationUrl\?\)/);
});

test('configuration errors name the JS options, not the Go fields', async () => {
  const cases = [
    [{ clientId: 'id', clientSecret: 's' }, 'caspio-auth: option account: no endpoint is configured; set account (e.g. "c1abc123"), integrationUrl, or tokenUrl and resourceUrl'],
    [{ account: 'c1abc123', integrationUrl: 'https://c1abc123.caspio.com', clientId: 'id', clientSecret: 's' },
      'caspio-auth: option account: more than one of account, integrationUrl and tokenUrl/resourceUrl is set; set exactly one of them'],
    [{ tokenUrl: 'https://c1abc123.caspio.com/oauth/token', clientId: 'id', clientSecret: 's' },
      'caspio-auth: option resourceUrl: is empty while tokenUrl is set; set both tokenUrl and resourceUrl, as the Web services profile shows them'],
    [{ account: 'c1abc123', apiVersion: 'v4', clientId: 'id', clientSecret: 's' },
      'caspio-auth: option apiVersion: is not a Caspio REST API version ("v4"); use "v2" or "v3"'],
  ];
  for (const [options, message] of cases) {
    await assert.rejects(createClient(options), (err) => {
      assert.ok(err instanceof CaspioConfigError, String(err));
      assert.equal(err.message, message);
      assert.doesNotMatch(err.message, /\b(Account|IntegrationURL|TokenURL|ResourceURL|APIVersion)\b/);
      return true;
    });
  }
});

test('wrong option types are a TypeError naming the option and the fix', async () => {
  const cases = [
    [{ clientId: 42 }, /option clientId must be a string, not a number/],
    [{ refreshMargin: '5m' }, /option refreshMargin must be a number of seconds/],
    [{ tokenTimeout: Infinity }, /option tokenTimeout must be a finite number/],
    [{ fetch: 'fetch' }, /option fetch must be a function/],
    [{ storage: { get() {} } }, /storage lacks the methods set, delete/],
    [{ onEvent: {} }, /option onEvent must be a function/],
    [{ clientSecret: { value: CLIENT_SECRET } }, /option clientSecret must be a string, not an object/],
  ];
  for (const [extra, message] of cases) {
    await assert.rejects(createClient(sandbox.options(extra)), (err) => {
      assert.ok(err instanceof TypeError, `${err}`);
      assert.match(err.message, message);
      assert.ok(!err.message.includes(CLIENT_SECRET));
      return true;
    });
  }
  await assert.rejects(createClient(null), TypeError);
});

test('config errors from the core are CaspioConfigErrors naming the JS option', async () => {
  const cases = [
    [{ apiVersion: 'v4' }, 'apiVersion'],
    [{ clientSecret: '' }, 'clientSecret'],
    [{ credentials: 'header' }, 'credentials'],
    [{ integrationUrl: 'http://example.com' }, 'integrationUrl'],
    [{ account: 'c1abc123' }, 'account'], // two endpoints given
    [{ refreshMargin: 50_000 }, 'refreshMargin'],
    [{ refreshMargin: -0.001 }, 'refreshMargin'], // negative: the core's range check, as in Go
    [{ tokenTimeout: -1 }, 'tokenTimeout'],
  ];
  for (const [extra, field] of cases) {
    await assert.rejects(createClient(sandbox.options(extra)), (err) => {
      assert.ok(err instanceof CaspioConfigError, `${extra}: ${err}`);
      assert.equal(err.code, 'CONFIG_INVALID');
      assert.equal(err.field, field);
      assert.match(err.message, new RegExp(`^caspio-auth: option ${field}:`));
      return true;
    });
  }
});

test('a secret pasted into the wrong option is shown by no config error', async () => {
  const pasted = 'Zq8vKx1mN0pQ/77rT'; // a secret with a "/", as Base64 ones have
  const { integrationUrl: _, ...credentials } = sandbox.options();
  const cases = [
    [{ account: pasted }, 'account'],
    [{ integrationUrl: pasted }, 'integrationUrl'],
    [{ integrationUrl: `https://id-1:${pasted}@c1abc123.caspio.com` }, 'integrationUrl'],
    [{ tokenUrl: pasted, resourceUrl: 'https://c1abc123.caspio.com/rest/v2' }, 'tokenUrl'],
    [{ tokenUrl: 'https://c1abc123.caspio.com/oauth/token', resourceUrl: `https://c1abc123.caspio.com:${pasted}` }, 'resourceUrl'],
    // An API version or placement is quoted up to 24 characters (input.go); a secret is longer.
    [{ account: 'c1abc123', apiVersion: pasted + pasted }, 'apiVersion'],
    [{ account: 'c1abc123', credentials: pasted + pasted }, 'credentials'],
    [{ account: 'c1abc123', clientId: `${pasted} ` }, 'clientId'],
  ];
  for (const [extra, field] of cases) {
    await assert.rejects(createClient({ ...credentials, ...extra }), (err) => {
      assert.ok(err instanceof CaspioConfigError, `${field}: ${err}`);
      assert.equal(err.field, field);
      for (const text of [err.message, inspect(err), JSON.stringify(err)]) {
        for (const part of ['Zq8v', 'zq8v', 'Kx1mN0', '77rT', '77rt']) {
          assert.ok(!text.includes(part), `${field}: ${JSON.stringify(part)} shows in ${text}`);
        }
      }
      return true;
    });
  }
});

test('both credential placements log in, with the credentials where they belong', async () => {
  for (const credentials of ['body', 'basic']) {
    await sandbox.reset();
    const rec = recordingFetch();
    const client = await createClient(sandbox.options({ credentials, fetch: rec.fetch }));
    const res = await client.fetch('tables');
    assert.equal(res.status, 200);
    const [tokenCall, resourceCall] = rec.calls;
    assert.equal(tokenCall.url, `${sandbox.url}/oauth/token`);
    assert.equal(tokenCall.redirect, 'manual');
    const form = new URLSearchParams(tokenCall.body);
    assert.equal(form.get('grant_type'), 'client_credentials');
    if (credentials === 'body') {
      assert.equal(form.get('client_secret'), CLIENT_SECRET);
      assert.equal(tokenCall.headers.get('authorization'), null);
    } else {
      assert.equal(form.get('client_secret'), null);
      assert.equal(tokenCall.headers.get('authorization'), `Basic ${btoa(`sandbox-client:${CLIENT_SECRET}`)}`);
    }
    assert.equal(resourceCall.url, `${sandbox.url}/rest/v2/tables`);
    assert.match(resourceCall.headers.get('authorization'), /^Bearer \S+$/);
    assert.equal((await sandbox.stats()).token_requests.client_credentials, 1);
    client.close();
  }
});

test('paths resolve against the REST base, v2 and v3, and a valid token makes no token request', async () => {
  for (const [apiVersion, base] of [['v2', '/rest/v2'], ['v3', '/integrations/rest/v3']]) {
    const rec = recordingFetch();
    const client = await createClient(sandbox.options({ apiVersion, fetch: rec.fetch }));
    for (const path of ['tables', '/tables', `${sandbox.url}${base}/tables`, `tables/Orders/records?q.where=Status = 'Pending'&q.limit=2`]) {
      const res = await client.fetch(path);
      assert.equal(res.status, 200, path);
      await res.arrayBuffer();
    }
    const urls = rec.calls.map((c) => c.url);
    assert.equal(urls.filter((u) => u.endsWith('/oauth/token')).length, 1);
    assert.ok(urls.includes(`${sandbox.url}${base}/tables`));
    assert.ok(urls.includes(`${sandbox.url}${base}/tables/Orders/records?q.where=Status%20=%20'Pending'&q.limit=2`), urls.join('\n'));
    client.close();
  }
});

test('a URL off the resource endpoint is refused before anything is sent', async () => {
  const rec = recordingFetch();
  const client = await createClient(sandbox.options({ fetch: rec.fetch }));
  for (const ref of ['https://evil.example/rest/v2/tables', '//evil.example/tables', 'tables/../../oauth/token', 'http://127.0.0.2:1/rest/v2/tables', new URL('https://evil.example/x')]) {
    await assert.rejects(client.fetch(ref), (err) => {
      assert.ok(err instanceof CaspioURLError, `${ref}: ${err}`);
      assert.equal(err.code, 'URL_REFUSED');
      return true;
    });
  }
  assert.equal(rec.calls.length, 0, 'no request, not even for a token');
  client.close();
});

test('resolve(ref): the URL fetch sends to, from the core, with no request; what fetch refuses throws a CaspioURLError', async () => {
  for (const [apiVersion, base, other] of [['v2', '/rest/v2', '/integrations/rest/v3'], ['v3', '/integrations/rest/v3', '/rest/v2']]) {
    const rec = recordingFetch();
    const client = await createClient(sandbox.options({ apiVersion, fetch: rec.fetch }));
    const { resourceBase } = client.toJSON();
    assert.equal(resourceBase, `${sandbox.url}${base}`);
    const resolved = [
      ['tables', '/tables'],
      ['/tables/Orders/records', '/tables/Orders/records'],
      [`${base}/tables`, '/tables'],
      [`${apiVersion}/tables`, '/tables'],
      [`/${apiVersion}/tables`, '/tables'],
      [base, ''],
      [`${sandbox.url}${base}/tables/Orders/records?q.limit=2`, '/tables/Orders/records?q.limit=2'],
      [new URL(`${sandbox.url}${base}/tables`), '/tables'],
      ["tables/Orders/records?q.where=Status = 'Pending'", "/tables/Orders/records?q.where=Status%20=%20'Pending'"],
      ['tables/Caf%C3%A9s/fields', '/tables/Caf%C3%A9s/fields'],
    ];
    for (const [ref, path] of resolved) assert.equal(client.resolve(ref), resourceBase + path, `${apiVersion}: ${ref}`);
    const refused = ['https://evil.example/rest/v2/tables', '//evil.example/tables', 'tables/../../oauth/token', 'tables/%2e%2e/x',
      `${other}/tables`, `${apiVersion === 'v2' ? 'v3' : 'v2'}/tables`, `${sandbox.url}/oauth/token`, '', 'tables//x'];
    for (const ref of refused) {
      assert.throws(() => client.resolve(ref), (err) => {
        assert.ok(err instanceof CaspioURLError, `${apiVersion}: ${ref}: ${err}`);
        assert.equal(err.code, 'URL_REFUSED');
        return true;
      });
    }
    assert.throws(() => client.resolve(/** @type {any} */ (42)), TypeError);
    assert.equal(rec.calls.length, 0, 'resolve sends nothing, not even a token request');

    // fetch sends to the URL resolve gave, and reuses its resolution: no second call into the core.
    await client.token();
    const ref = 'tables/Orders/records?q.limit=1&n=resolve';
    const url = client.resolve(ref);
    const calls = await countCalls(async () => (await client.fetch(ref)).arrayBuffer());
    assert.deepEqual(calls, [], 'the resolution is cached for fetch');
    assert.equal(rec.calls.at(-1).url, url);
    client.close();
    assert.throws(() => client.resolve('tables'), CaspioConfigError, 'a closed client resolves nothing');
  }
});

test('token(), authenticate(), refresh() and stats()', async () => {
  const client = await createClient(sandbox.options());
  const t1 = await client.token();
  assert.equal(t1.tokenType, 'bearer');
  assert.ok(t1.accessToken.length > 10);
  assert.ok(t1.expiresAt instanceof Date && t1.validUntil < t1.expiresAt);
  assert.ok(t1.refreshTokenExpiresAt instanceof Date);
  assert.equal(t1.logins, 1);
  assert.equal((await client.token()).accessToken, t1.accessToken, 'reused');

  const t2 = await client.refresh();
  assert.notEqual(t2.accessToken, t1.accessToken);
  assert.equal(t2.refreshes, 1);
  const t3 = await client.authenticate();
  assert.equal(t3.logins, 2);
  assert.deepEqual(client.stats(), {
    tokenRequests: { client_credentials: 2, refresh_token: 1 }, logins: 2, refreshes: 1, unauthorizedRetries: 0,
  });
  assert.deepEqual((await sandbox.stats()).token_requests, { client_credentials: 2, refresh_token: 1 });

  // Concurrent forced refreshes share one request too.
  await Promise.all([client.refresh(), client.refresh(), client.refresh()]);
  assert.equal(client.stats().tokenRequests.refresh_token, 2);
  client.close();
  await assert.rejects(client.token(), CaspioConfigError);
  await assert.rejects(client.fetch('tables'), CaspioConfigError);
});

test('events tell what happened; on() returns an unsubscribe function', async () => {
  const log = eventLog();
  const client = await createClient(sandbox.options({ onEvent: log.onEvent }));
  const seen = [];
  const off = client.on((e) => seen.push(e.type));
  await client.token();
  off();
  await client.refresh();
  assert.deepEqual(log.types(), ['token_request', 'login', 'token_request', 'refresh']);
  assert.deepEqual(seen, ['token_request', 'login']);
  const login = log.events[1];
  assert.equal(login.grant, 'client_credentials');
  assert.equal(login.attempt, 1);
  assert.equal(login.status, 200);
  assert.ok(login.expiresAt instanceof Date);
  client.close();
});

test('a listener that throws does not break the client', async () => {
  const client = await createClient(sandbox.options({ onEvent: () => { throw new Error('listener bug'); } }));
  assert.equal((await client.fetch('tables')).status, 200);
  client.close();
});

test('apiErrorFromResponse reads Caspio errors', async () => {
  const client = await createClient(sandbox.options());
  const res = await client.fetch('tables/NoSuchTable/records');
  assert.equal(res.status, 404);
  const err = await apiErrorFromResponse(res);
  assert.ok(err instanceof CaspioAPIError && err instanceof CaspioError);
  assert.equal(err.code, 'CASPIO_API_ERROR');
  assert.equal(err.status, 404);
  assert.equal(err.Code, 'ObjectNotFound');
  assert.match(err.RequestId, /\S/);
  assert.equal(err.response, res);
  assert.ok(!Object.keys(err).includes('response'), 'the response is not enumerable');

  const plain = await apiErrorFromResponse(new Response('<html>oops</html>', { status: 502, headers: { 'X-Caspio-Request-ID': 'r-1' } }));
  assert.equal(plain.Message, 'Bad Gateway');
  assert.equal(plain.RequestId, 'r-1');
  await assert.rejects(apiErrorFromResponse({}), TypeError);
  // A success is no error: refused, and its body is left to the caller.
  const okRes = await client.fetch('tables');
  assert.equal(okRes.status, 200);
  await assert.rejects(apiErrorFromResponse(okRes), (err) => err instanceof TypeError && /status is 200, a success, not an error/.test(err.message));
  assert.ok(Array.isArray((await okRes.json()).Result), 'the body is still there');
  client.close();
});

test('secrets appear in no error, event, JSON.stringify or util.inspect', async () => {
  const log = eventLog();
  const storage = memoryStorage();
  const client = await createClient(sandbox.options({ onEvent: log.onEvent, storage }));
  await client.token();
  await client.refresh();
  await sandbox.revoke();
  await sandbox.advance('25h');
  assert.equal((await client.fetch('tables')).status, 200); // 401, refused refresh, login
  const state = await storage.get();
  const secrets = [CLIENT_SECRET, state.access_token, state.refresh_token, btoa(`sandbox-client:${CLIENT_SECRET}`)];

  const bad = await createClient(sandbox.options({ clientSecret: 'WRONG-SECRET-42', onEvent: log.onEvent }));
  const err = await bad.token().catch((e) => e);
  assert.ok(err instanceof CaspioOAuthError);
  assert.equal(err.error, 'invalid_client');
  secrets.push('WRONG-SECRET-42', btoa('sandbox-client:WRONG-SECRET-42'));

  const texts = [
    JSON.stringify(client), inspect(client), inspect(client, { showHidden: true, depth: 10 }), String(client),
    JSON.stringify(bad), inspect(bad, { showHidden: true }),
    err.message, err.stack, inspect(err), JSON.stringify(err),
    JSON.stringify(log.events), inspect(log.events, { depth: 10 }),
    ...log.events.filter((e) => e.error).map((e) => `${e.error.message} ${inspect(e.error)}`),
  ];
  assertNoSecret(assert, texts, secrets);
  assert.ok(log.types().includes('revoked'));
  assert.match(inspect(client), /clientSecret: '\[redacted\]'/);
  assert.deepEqual(Object.keys(JSON.parse(JSON.stringify(client))).sort(), ['apiVersion', 'clientId', 'credentials', 'resourceBase', 'tokenUrl']);
  client.close();
  bad.close();
});

/** Counts the calls from JS into the core, by export, while fn runs. */
async function countCalls(fn) {
  const { startCore } = await import('../../js/core.js');
  const core = await startCore(() => { throw new Error('the core should be running already'); });
  const calls = [];
  const originals = { ...core };
  for (const [name, value] of Object.entries(originals)) {
    if (typeof value === 'function') core[name] = (...args) => { calls.push(name); return value(...args); };
  }
  try {
    await fn();
  } finally {
    Object.assign(core, originals);
  }
  return calls;
}

test('the resolve cache stays bounded (first in, first out) and correct', async () => {
  const { RESOLVE_CACHE_SIZE } = await import('../../js/client.js');
  const rec = recordingFetch();
  const client = await createClient(sandbox.options({ fetch: rec.fetch }));
  await client.token();
  const get = async (ref) => (await client.fetch(ref)).arrayBuffer();
  const over = 50;
  const filled = await countCalls(async () => {
    for (let i = 0; i < RESOLVE_CACHE_SIZE + over; i++) await get(`tables?n=${i}`);
  });
  assert.deepEqual(filled, Array(RESOLVE_CACHE_SIZE + over).fill('resolve'), 'each new path is resolved once');
  // The first `over` paths were evicted to keep the bound: resolved again; the newest were kept.
  assert.deepEqual(await countCalls(() => get(`tables?n=${RESOLVE_CACHE_SIZE + over - 1}`)), [], 'a recent path stays cached');
  assert.deepEqual(await countCalls(() => get(`tables?n=${RESOLVE_CACHE_SIZE - 1}`)), [], 'the oldest path kept is still cached');
  assert.deepEqual(await countCalls(() => get('tables?n=0')), ['resolve'], 'the oldest path was evicted');
  assert.deepEqual(await countCalls(() => get(`tables?n=${over}`)), ['resolve'], 'resolving n=0 again evicted the next oldest');
  // Entries evicted and resolved again give the same URLs.
  assert.equal(rec.calls.at(-1).url, `${sandbox.url}/rest/v2/tables?n=${over}`);
  assert.equal(rec.calls.filter((c) => c.url.endsWith('/oauth/token')).length, 1);
  client.close();
});

test('the hot path (a valid token, a path seen before) makes no call into the core', async () => {
  const client = await createClient(sandbox.options());
  await (await client.fetch('tables')).arrayBuffer();
  const calls = await countCalls(async () => {
    for (let i = 0; i < 100; i++) {
      const res = await client.fetch('tables');
      assert.equal(res.status, 200);
      await res.arrayBuffer();
    }
    await client.token();
  });
  assert.deepEqual(calls, []);
  assert.deepEqual(await countCalls(async () => (await client.fetch('tables?new=1')).arrayBuffer()), ['resolve'], 'a new path is resolved once');
  client.close();
});

// Issue 9, item 7: about one call into the core per step that needs a decision. The counts
// are recorded in the test's diagnostics (and BENCHMARKS.md).
test('calls into the core: a cold fetch, a 401 with a refresh, a warm fetch', async (t) => {
  const client = await createClient(sandbox.options());
  const cold = await countCalls(async () => assert.equal((await client.fetch('tables')).status, 200));
  // fetch starts the conversation (its first step: read); each next() feeds one step: the read,
  // the login, the write, the send.
  assert.deepEqual(cold, ['fetch', 'next', 'next', 'next', 'next']);
  await sandbox.advance('25h');
  const refreshed = await countCalls(async () => assert.equal((await client.fetch('tables')).status, 200));
  // The hot path's send got a 401: fetch resumes from it (its first step is that send), then
  // the 401, the read, the refresh, the write, the send again.
  assert.deepEqual(refreshed, ['fetch', 'next', 'next', 'next', 'next', 'next']);
  const warm = await countCalls(async () => assert.equal((await client.fetch('tables')).status, 200));
  assert.deepEqual(warm, []);
  t.diagnostic(`calls from JS into Go: cold fetch ${cold.length}, 401 with a refresh ${refreshed.length}, warm fetch ${warm.length}`);
  client.close();
});

test('status(): margins, expiries, lease validity and counters from the core', async () => {
  const client = await createClient(sandbox.options({ refreshMargin: 600 }));
  const before = client.status();
  assert.deepEqual({ ...before }, {
    refreshMargin: 600, accessTokenExpiresAt: null, leaseValidUntil: null, leaseValid: false, refreshTokenExpiresAt: null,
    next: 'authenticate', tokenRequests: { client_credentials: 0, refresh_token: 0 }, logins: 0, refreshes: 0,
    unauthorizedRetries: 0, revoked: 0, acquiring: null, hold: null,
  });
  const token = await client.token();
  const after = client.status();
  assert.equal(after.leaseValid, true);
  assert.equal(after.next, 'lease');
  assert.deepEqual(after.accessTokenExpiresAt, token.expiresAt);
  assert.deepEqual(after.leaseValidUntil, token.validUntil);
  assert.equal(after.accessTokenExpiresAt - after.leaseValidUntil, 600_000);
  assert.deepEqual(after.refreshTokenExpiresAt, token.refreshTokenExpiresAt);
  assert.deepEqual(after.tokenRequests, { client_credentials: 1, refresh_token: 0 });
  assert.equal(after.logins, 1);
  client.close();
  assert.throws(() => client.status(), CaspioConfigError);
});

test('hold: "login" refuses logins but refreshes; "all" refuses every token request; stored tokens still serve', async () => {
  const storage = memoryStorage();
  const held = await createClient(sandbox.options({ storage, hold: 'login' }));
  await assert.rejects(held.token(), (err) => {
    assert.ok(err instanceof CaspioTokenError, `${err}`);
    assert.equal(err.code, 'TOKEN_REQUEST_HELD');
    assert.equal(err.grant, 'client_credentials');
    return true;
  });
  await assert.rejects(held.authenticate(), { code: 'TOKEN_REQUEST_HELD' });
  assert.deepEqual((await sandbox.stats()).token_requests, {}, 'no token request was sent');
  assert.equal(held.status().hold, 'login');

  const free = await createClient(sandbox.options({ storage }));
  const first = await free.token();
  free.close();
  const all = await createClient(sandbox.options({ storage, hold: 'all' }));
  assert.equal((await all.token()).accessToken, first.accessToken, 'a stored token serves');
  await assert.rejects(all.refresh(), { code: 'TOKEN_REQUEST_HELD' });
  assert.equal((await held.refresh()).refreshes, 1, 'hold "login" lets a refresh go');
  assert.deepEqual((await sandbox.stats()).token_requests, { client_credentials: 1, refresh_token: 1 });
  await assert.rejects(createClient(sandbox.options({ hold: 'some' })), (err) => err instanceof CaspioConfigError && err.field === 'hold' &&
    err.message === 'caspio-auth: option hold: is not a kind of token request to hold ("some"); use "login", "all", or "" to hold none');
  held.close();
  all.close();
});

test('a client that holds every token request needs no secret; any other does', async () => {
  const storage = memoryStorage();
  const free = await createClient(sandbox.options({ storage }));
  const first = await free.token();
  free.close();
  const { clientSecret, ...withoutSecret } = sandbox.options({ storage });
  assert.ok(clientSecret);
  const all = await createClient({ ...withoutSecret, hold: 'all' });
  try {
    assert.equal((await all.token()).accessToken, first.accessToken, 'the stored token serves');
    await assert.rejects(all.refresh(), { code: 'TOKEN_REQUEST_HELD' });
  } finally {
    all.close();
  }
  for (const hold of [undefined, 'login']) {
    await assert.rejects(createClient({ ...withoutSecret, ...(hold ? { hold } : {}) }), (err) => err instanceof CaspioConfigError && err.field === 'clientSecret' &&
      err.message === 'caspio-auth: option clientSecret: is empty; copy the Client Secret from the account\'s Web services profile; a client may go without it only if it holds every token request (hold "all")');
  }
});
