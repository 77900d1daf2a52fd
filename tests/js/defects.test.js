// Defects of issue 9 that the protocol machine fixed in the JS client, each against a fake
// token and resource endpoint (a fetch of the test's own) and a storage that records what
// the client does with it. Each of these tests failed before the machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient, memoryStorage, CaspioTokenError, CaspioResponseError } from 'caspio-auth';
import { kvStorage } from '../../js/kv-storage.js';

const BASE = 'https://c1abc123.caspio.com';
const OPTIONS = { account: 'c1abc123', clientId: 'id-1', clientSecret: 'SECRET-1' };

/**
 * A fake Caspio: token requests get the tokens of `logins` in turn (a refresh gets the next
 * one too), and a resource request is answered 401 when its token was revoked, else 200.
 */
function fakeCaspio({ logins = ['SECRET-at1', 'SECRET-at2', 'SECRET-at3'] } = {}) {
  const revoked = new Set();
  const grants = [];
  let n = 0;
  const fetch = async (url, init = {}) => {
    if (String(url).endsWith('/oauth/token')) {
      grants.push(new URLSearchParams(init.body).get('grant_type'));
      const token = logins[Math.min(n++, logins.length - 1)];
      return Response.json({ access_token: token, token_type: 'bearer', expires_in: 86399, refresh_token: `SECRET-rt${n}` });
    }
    const sent = new Headers(init.headers).get('authorization')?.slice('Bearer '.length);
    if (init.body instanceof ReadableStream) await new Response(init.body).arrayBuffer();
    return revoked.has(sent) ? new Response('', { status: 401 }) : Response.json({ Result: [] });
  };
  return { fetch, revoke: (token) => revoked.add(token), grants };
}

/** A storage that records its calls, over memoryStorage, with a lock if asked. */
function recordingStorage({ lock = false, initial = null } = {}) {
  const inner = memoryStorage();
  const calls = [];
  let ready = initial === null ? Promise.resolve() : inner.set(initial);
  const storage = {
    calls,
    async get() { await ready; calls.push('get'); return inner.get(); },
    async set(state, options) { calls.push('set'); storage.last = { state, options }; return inner.set(state); },
    async delete() { calls.push('delete'); return inner.delete(); },
  };
  if (lock) storage.lock = async () => { calls.push('lock'); return () => { calls.push('unlock'); }; };
  return storage;
}

const stream = () => new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode('{}')); c.close(); } });

test('a 401 is not written to the storage: the revoked token is the machine\'s to remember', async () => {
  const caspio = fakeCaspio();
  const storage = recordingStorage();
  const client = await createClient({ ...OPTIONS, fetch: caspio.fetch, storage });
  await client.token();
  const writes = storage.calls.filter((c) => c === 'set').length;
  caspio.revoke('SECRET-at1');
  const res = await client.fetch('tables', { method: 'POST', body: stream(), duplex: 'half' });
  assert.equal(res.status, 401, 'a one-shot body: the 401 handed back');
  await new Promise((resolve) => { setTimeout(resolve, 50); }); // the old client saved in the background
  assert.equal(storage.calls.filter((c) => c === 'set').length, writes, 'no write after the 401');
  assert.equal((await client.fetch('tables')).status, 200, 'the next request refreshes');
  assert.deepEqual(caspio.grants, ['client_credentials', 'refresh_token']);
  client.close();
});

test('a shared storage is read before it is locked: a valid stored token takes no lock', async () => {
  const now = Date.now();
  const initial = {
    version: 1, client_id: 'id-1', token_url: `${BASE}/oauth/token`, access_token: 'SECRET-stored', obtained_at: now,
    expires_at: now + 86_399_000, counters: { client_credentials_requests: 1, refresh_token_requests: 0, logins: 1, refreshes: 0 },
  };
  const storage = recordingStorage({ lock: true, initial });
  const caspio = fakeCaspio();
  const client = await createClient({ ...OPTIONS, fetch: caspio.fetch, storage });
  assert.equal((await client.token()).accessToken, 'SECRET-stored');
  assert.deepEqual(storage.calls, ['get'], 'no lock: every cold isolate would queue on a Durable Object for it');
  assert.deepEqual(caspio.grants, []);
  client.close();

  const cold = recordingStorage({ lock: true });
  const second = await createClient({ ...OPTIONS, fetch: caspio.fetch, storage: cold });
  await second.token();
  assert.deepEqual(cold.calls, ['get', 'lock', 'get', 'set', 'unlock'], 'nothing stored: looked at, locked, read again, written');
  second.close();
});

test('a token endpoint that re-issues the access token a 401 just refused: TOKEN_REISSUED', async () => {
  const caspio = fakeCaspio({ logins: ['SECRET-same'] });
  const client = await createClient({ ...OPTIONS, fetch: caspio.fetch });
  await client.token();
  caspio.revoke('SECRET-same');
  const err = await client.fetch('tables').catch((e) => e);
  assert.ok(err instanceof CaspioTokenError, `${err}`);
  assert.equal(err.code, 'TOKEN_REISSUED');
  assert.equal(err.grant, 'refresh_token');
  assert.doesNotMatch(err.message, /clock|SECRET/);
  client.close();
});

test('kvStorage takes the expiry from the write step; set(state) alone does not expire', async () => {
  const puts = [];
  const namespace = {
    async get() { return null; },
    async put(key, value, options) { puts.push({ key, options }); },
    async delete() {},
  };
  const storage = kvStorage(namespace, 'k');
  const client = await createClient({ ...OPTIONS, fetch: fakeCaspio().fetch, storage });
  await client.token();
  // A refresh token never used lives 60 days: the core's TTL, the same in every runtime.
  assert.deepEqual(puts, [{ key: 'k', options: { expirationTtl: 60 * 86400 } }]);
  await storage.set({ version: 1 }, { expiresAt: Date.now() + 120_000, ttl: 120 });
  await storage.set({ version: 1 });
  assert.deepEqual(puts.slice(1).map((p) => p.options), [{ expirationTtl: 120 }, undefined]);
  client.close();
});

test('a token request that gets no response keeps the platform\'s error as cause', async () => {
  const platform = new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:9') });
  const events = [];
  const client = await createClient({
    ...OPTIONS, onEvent: (e) => events.push(e),
    fetch: async () => { throw platform; },
  });
  const err = await client.token().catch((e) => e);
  assert.ok(err instanceof CaspioResponseError, `${err}`);
  assert.equal(err.status, 0);
  assert.equal(err.cause, platform);
  assert.match(err.message, /fetch failed: connect ECONNREFUSED/);
  assert.equal(events.filter((e) => e.type === 'token_error').at(-1).error.cause, platform);
  client.close();
});

test('a resource request that gets no response fails with the platform\'s own error', async () => {
  const caspio = fakeCaspio();
  const platform = new TypeError('fetch failed');
  const client = await createClient({
    ...OPTIONS, fetch: (url, init) => (String(url).endsWith('/oauth/token') ? caspio.fetch(url, init) : Promise.reject(platform)),
  });
  assert.equal(await client.fetch('tables').catch((e) => e), platform, 'cold: through the machine');
  assert.equal(await client.fetch('tables').catch((e) => e), platform, 'warm: the hot path');
  client.close();
});

test('importing the package leaves no globalThis.Go, nor stub fs or path objects', async () => {
  await import('caspio-auth');
  await createClient({ ...OPTIONS, fetch: fakeCaspio().fetch });
  assert.equal(globalThis.Go, undefined);
  assert.equal(globalThis.fs, undefined);
  assert.equal(globalThis.path, undefined);
  assert.equal(typeof globalThis.process?.versions?.node, 'string', 'Node\'s own process is kept');
});
