// The sandbox's fault list through the JS client: what the token endpoint can do wrong, and
// what a 401 on a resource call leads to.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import {
  createClient, memoryStorage, CaspioResponseError, CaspioOAuthError,
} from 'caspio-auth';
import { startSandbox } from './helpers/sandbox.js';
import { startRecorder, eventLog } from './helpers/recorder.js';

const TOKEN = '/oauth/token';

let sandbox;
before(async () => { sandbox = await startSandbox(); });
after(async () => { await sandbox?.stop(); });
beforeEach(async () => { await sandbox.reset(); });

/** A client with an event log. */
async function client(extra = {}) {
  const log = eventLog();
  const c = await createClient(sandbox.options({ onEvent: log.onEvent, ...extra }));
  return { c, log };
}

async function tokenRequests() {
  return (await sandbox.stats()).token_requests;
}

test('token endpoint 500 is retried, then succeeds', async () => {
  await sandbox.fault({ route: TOKEN, status: 500, count: 2 });
  const { c, log } = await client();
  assert.equal((await c.fetch('tables')).status, 200);
  assert.deepEqual(log.types(), ['token_request', 'token_error', 'retry', 'token_request', 'token_error', 'retry', 'token_request', 'login']);
  const retries = log.events.filter((e) => e.type === 'retry');
  assert.deepEqual(retries.map((e) => e.attempt), [1, 2]);
  assert.ok(retries[0].waitMs >= 250 && retries[0].waitMs <= 500, `backoff ${retries[0].waitMs}`);
  assert.ok(retries[1].waitMs >= 500 && retries[1].waitMs <= 1000, `backoff ${retries[1].waitMs}`);
  assert.equal((await tokenRequests()).client_credentials, 3);
  c.close();
});

test('token endpoint 500 until the retries run out is a CaspioResponseError', async () => {
  await sandbox.fault({ route: TOKEN, status: 500, count: 10, body: 'Internal Server Error', content_type: 'text/plain' });
  const { c, log } = await client();
  const err = await c.token().catch((e) => e);
  assert.ok(err instanceof CaspioResponseError, `${err}`);
  assert.equal(err.status, 500);
  assert.match(err.message, /unexpected status 500 with a body that is not JSON \(Content-Type text\/plain\)/);
  assert.equal(err.response.status, 500);
  assert.equal(await err.response.text(), 'Internal Server Error');
  assert.equal(log.types().filter((t) => t === 'token_request').length, 4, 'the first attempt and three retries');
  assert.equal((await tokenRequests()).client_credentials, 4);
  c.close();
});

test('429 with Retry-After: 1 waits a second', async () => {
  await sandbox.fault({ route: TOKEN, status: 429, retry_after: '1' });
  const { c, log } = await client();
  const started = performance.now();
  await c.token();
  const elapsed = performance.now() - started;
  assert.ok(elapsed >= 950, `waited only ${elapsed} ms`);
  const retry = log.events.find((e) => e.type === 'retry');
  assert.equal(retry.status, 429);
  assert.equal(retry.waitMs, 1000);
  c.close();
});

test('a token request that outlasts tokenTimeout is abandoned and retried', async () => {
  // The first token request is answered after 60 s, the retry at once. The client must give
  // up on the first at its tokenTimeout and send the second: had it waited for the answer,
  // that answer would have been its login, with no token_error and one request. What is
  // asserted is what the client decided (the events, the requests), not how long it took.
  await sandbox.fault({ route: TOKEN, delay_ms: 60_000 });
  const { c, log } = await client({ tokenTimeout: 200 });
  await c.token();
  assert.deepEqual(log.types(), ['token_request', 'token_error', 'retry', 'token_request', 'login']);
  const error = log.events.find((e) => e.type === 'token_error');
  assert.equal(error.status, 0);
  assert.ok(error.error instanceof CaspioResponseError);
  assert.match(error.error.message, /no response from the token endpoint: no answer within the tokenTimeout of 200 ms/);
  assert.equal((await tokenRequests()).client_credentials, 2, 'the abandoned request and its retry');
  c.close();
});

test('a connection that drops is a status-0 error, retried', async () => {
  await sandbox.fault({ route: TOKEN, drop: true });
  const { c, log } = await client();
  await c.token();
  const error = log.events.find((e) => e.type === 'token_error');
  assert.equal(error.status, 0);
  assert.match(error.error.message, /no response from the token endpoint/);
  c.close();
});

test('bad token responses are CaspioResponseErrors naming the problem, not retried', async () => {
  const cases = [
    ['malformed JSON', { status: 200, body: '{"access_token": "abc", "token_type": ' }, '', /not JSON/],
    ['an HTML error page', { status: 400, body: '<html><body>Bad Request</body></html>', content_type: 'text/html' }, '', /not JSON \(Content-Type text\/html\)/],
    ['HTML with status 200', { status: 200, body: '<html>maintenance</html>', content_type: 'text/html; charset=utf-8' }, '', /Content-Type text\/html/],
    ['a missing access_token', { status: 200, body: '{"token_type":"bearer","expires_in":3600}' }, 'access_token', /is missing/],
    ['a missing expires_in', { status: 200, body: '{"access_token":"abc","token_type":"bearer"}' }, 'expires_in', /is missing/],
    ['a wrong token_type', { status: 200, body: '{"access_token":"abc","token_type":"mac","expires_in":3600}' }, 'token_type', /expected "bearer", got a string of 3 characters: letters/],
    ['an array', { status: 200, body: '[]' }, '', /expected a JSON object, got an array/],
  ];
  for (const [name, fault, field, message] of cases) {
    await sandbox.reset();
    await sandbox.fault({ route: TOKEN, ...fault });
    const { c, log } = await client();
    const err = await c.token().catch((e) => e);
    assert.ok(err instanceof CaspioResponseError, `${name}: ${err}`);
    assert.equal(err.code, 'RESPONSE_INVALID');
    assert.equal(err.field, field, name);
    assert.match(err.message, message, name);
    assert.ok(!err.message.includes('abc'), `${name}: the message quotes a token`);
    assert.equal(log.types().filter((t) => t === 'token_request').length, 1, `${name} is not retried`);
    c.close();
  }
});

test('an HTML 503 page is retried, then the login succeeds', async () => {
  await sandbox.fault({ route: TOKEN, status: 503, body: '<html>down</html>', content_type: 'text/html' });
  const { c, log } = await client();
  await c.token();
  assert.deepEqual(log.types(), ['token_request', 'token_error', 'retry', 'token_request', 'login']);
  c.close();
});

test('wrong credentials are a CaspioOAuthError, not retried', async () => {
  const { c, log } = await client({ clientSecret: 'not-the-secret' });
  const err = await c.token().catch((e) => e);
  assert.ok(err instanceof CaspioOAuthError);
  assert.equal(err.status, 401);
  assert.equal(err.error, 'invalid_client');
  assert.equal(err.grant, 'client_credentials');
  assert.equal(log.types().filter((t) => t === 'token_request').length, 1);
  c.close();
});

test('a redirect from the token endpoint is not followed: an error', async () => {
  const elsewhere = await startRecorder();
  try {
    await sandbox.fault({ route: TOKEN, status: 302, location: `${elsewhere.url}/oauth/token` });
    const { c } = await client({ credentials: 'basic' });
    const err = await c.token().catch((e) => e);
    assert.ok(err instanceof CaspioResponseError, `${err}`);
    assert.equal(err.status, 302);
    assert.equal(err.location, `${elsewhere.url}/oauth/token`);
    assert.match(err.message, /redirected/);
    assert.equal(elsewhere.requests.length, 0, 'the credentials went nowhere else');
    assert.equal((await tokenRequests()).client_credentials, 1, 'not retried');
    c.close();
  } finally {
    await elsewhere.close();
  }
});

test('an access token that expires mid-run: a 401, one refresh, the request sent again', async () => {
  const { c, log } = await client();
  assert.equal((await c.fetch('tables')).status, 200);
  await sandbox.advance('25h');
  const res = await c.fetch('tables/Orders/records?q.limit=1');
  assert.equal(res.status, 200);
  assert.equal((await res.json()).Result.length, 1);
  assert.deepEqual(log.types(), ['token_request', 'login', 'revoked', 'token_request', 'refresh']);
  assert.deepEqual(await tokenRequests(), { client_credentials: 1, refresh_token: 1 });
  assert.equal((await sandbox.stats()).unauthorized, 1);
  assert.equal(c.stats().unauthorizedRetries, 1);
  assert.equal(c.stats().refreshes, 1);
  c.close();
});

test('a revoked refresh token (invalid_grant) leads to a new login', async () => {
  const { c, log } = await client();
  await c.token();
  await sandbox.revoke();
  const res = await c.fetch('tables');
  assert.equal(res.status, 200);
  const refused = log.events.find((e) => e.type === 'token_error');
  assert.equal(refused.grant, 'refresh_token');
  assert.ok(refused.error instanceof CaspioOAuthError);
  assert.equal(refused.error.error, 'invalid_grant');
  assert.deepEqual(log.types(), ['token_request', 'login', 'revoked', 'token_request', 'token_error', 'retry', 'token_request', 'login']);
  assert.deepEqual(await tokenRequests(), { client_credentials: 2, refresh_token: 1 });
  c.close();
});

test('a refresh token evicted by the account cap leads to a new login', async () => {
  const capped = await startSandbox(['-refresh-cap', '2']);
  try {
    const log = eventLog();
    const a = await createClient(capped.options({ onEvent: log.onEvent }));
    await a.token();
    const b = await createClient(capped.options({ storage: memoryStorage() }));
    await b.authenticate();
    await b.authenticate(); // the third refresh token of the account evicts a's
    assert.equal((await capped.stats()).refresh_tokens_evicted, 1);
    await capped.advance('25h');
    const res = await a.fetch('tables');
    assert.equal(res.status, 200);
    const refused = log.events.find((e) => e.type === 'token_error');
    assert.equal(refused.grant, 'refresh_token');
    assert.equal(refused.error.error, 'invalid_grant');
    assert.equal(a.stats().logins, 2);
    a.close();
    b.close();
  } finally {
    await capped.stop();
  }
});

test('a 401 on a request whose body cannot be sent again is returned as is', async () => {
  const { c, log } = await client();
  await c.token();
  await sandbox.advance('25h');
  const body = new ReadableStream({
    start(controller) {
      controller.enqueue(new TextEncoder().encode('{"CustomerID":1,"Product":"Stream Mug","Quantity":1,"Total":2,"Status":"Pending"}'));
      controller.close();
    },
  });
  const res = await c.fetch('tables/Orders/records', {
    method: 'POST', body, duplex: 'half', headers: { 'Content-Type': 'application/json' },
  });
  assert.equal(res.status, 401);
  assert.equal(c.stats().unauthorizedRetries, 0);
  assert.ok(log.types().includes('revoked'));
  // The next request gets a fresh token.
  assert.equal((await c.fetch('tables')).status, 200);
  assert.deepEqual(await tokenRequests(), { client_credentials: 1, refresh_token: 1 });
  c.close();
});

test('a 401 on a replayable body (string, bytes, Request) is retried with a fresh token', async () => {
  const { c } = await client();
  const record = (product) => JSON.stringify({ CustomerID: 1, Product: product, Quantity: 1, Total: 2, Status: 'Pending' });
  const bodies = [
    () => ({ body: record('String Mug') }),
    () => ({ body: new TextEncoder().encode(record('Bytes Mug')) }),
    () => ({ body: new Blob([record('Blob Mug')]) }),
  ];
  for (const make of bodies) {
    await c.token();
    await sandbox.advance('25h');
    const res = await c.fetch('tables/Orders/records', { method: 'POST', headers: { 'Content-Type': 'application/json' }, ...make() });
    assert.equal(res.status, 201, await res.clone().text());
  }
  await sandbox.advance('25h');
  const request = new Request(`${sandbox.url}/rest/v2/tables/Orders/records`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: record('Request Mug'),
  });
  assert.equal((await c.fetch(request)).status, 201);
  assert.equal(request.bodyUsed, false, 'the caller\'s Request is left unread');
  assert.equal(c.stats().unauthorizedRetries, 4);
  const found = await (await c.fetch(`tables/Orders/records?q.where=Product LIKE '%Mug' AND CustomerID = 1 AND Total = 2`)).json();
  assert.deepEqual(found.Result.map((r) => r.Product).sort(), ['Blob Mug', 'Bytes Mug', 'Request Mug', 'String Mug']);
  c.close();
});

test('a caller whose signal aborts stops waiting; the shared token request goes on', async () => {
  // The caller's signal aborts as soon as the token request is sent, which the token endpoint
  // holds for 600 ms. The aborted caller must settle first (it stopped waiting), and the
  // other caller must get its answer from that same token request.
  await sandbox.fault({ route: TOKEN, delay_ms: 600 });
  const log = eventLog();
  const controller = new AbortController();
  const c = await createClient(sandbox.options({
    onEvent: (e) => {
      log.onEvent(e);
      if (e.type === 'token_request') controller.abort();
    },
  }));
  const settled = [];
  const aborted = c.fetch('tables', { signal: controller.signal }).finally(() => settled.push('aborted'));
  const patient = c.fetch('tables').finally(() => settled.push('patient'));
  await assert.rejects(aborted, (err) => err.name === 'AbortError');
  assert.equal((await patient).status, 200);
  assert.deepEqual(settled, ['aborted', 'patient'], 'the aborted caller returned before the token came');
  assert.deepEqual(log.types(), ['token_request', 'login']);
  assert.equal((await tokenRequests()).client_credentials, 1);
  c.close();
});
