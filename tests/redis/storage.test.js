// redisStorage ('caspio-auth/redis') against a real redis-server: the keys and format it
// shares with the Go module's redisstore, its lock, its conditional write, and the faults a
// client on it must survive (each with the event it gives). The Go side runs the same
// checks in redisstore/store_test.go.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { createClient as createRedis } from 'redis';
import { createClient as createRedis5 } from 'redis-5';
import { createClient } from 'caspio-auth';
import { redisStorage } from 'caspio-auth/redis';
import { startSandbox, CLIENT_SECRET } from '../js/helpers/sandbox.js';
import { lockPolicy } from '../js/helpers/lock-policy.js';
import { startRedis, freePort } from './helpers/redis-server.js';

let sandbox;
let server;
let rdb;
before(async () => {
  sandbox = await startSandbox();
  server = await startRedis();
  rdb = await server.client();
});
after(async () => {
  await rdb?.close().catch(() => {});
  await server?.stop();
  await sandbox?.stop();
});

const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

/** A state's JSON object for client id at token URL url, with n token requests. */
function state(id, url, n, { revision = true, token = 'at' } = {}) {
  return {
    version: 1, client_id: id, token_url: url,
    counters: { client_credentials_requests: n, refresh_token_requests: 0, logins: n, refreshes: 0 },
    access_token: token, obtained_at: 1, expires_at: 2, ...(revision ? { revision: n } : {}),
  };
}

/** A client of the sandbox on storage, recording its events. */
async function newClient(storage, extra = {}) {
  const events = [];
  const client = await createClient(sandbox.options({ storage, onEvent: (e) => events.push(e), ...extra }));
  return { client, events, kinds: () => events.map((e) => e.type) };
}

const logins = async () => (await sandbox.stats()).token_requests.client_credentials ?? 0;

/** Fails if an event's error, or a stored value, holds the client secret or the token. */
function assertNoSecret(events, ...secrets) {
  for (const e of events) {
    if (!e.error) continue;
    const text = `${e.error.message} ${e.error.stack} ${String(e.error.cause?.message ?? '')}`;
    for (const s of [CLIENT_SECRET, ...secrets]) assert.ok(!text.includes(s), `a secret in the ${e.type} event's error`);
  }
}

async function assertNoSecretStored() {
  for (const k of await rdb.keys('*')) {
    if (await rdb.type(k) !== 'string') continue;
    assert.ok(!String(await rdb.get(k)).includes(CLIENT_SECRET), `the client secret is stored under ${k}`);
  }
}

test('the Lua scripts the package runs are the Go module\'s', async () => {
  for (const name of ['save', 'extend', 'release']) {
    const lua = await readFile(new URL(`../../redisstore/scripts/${name}.lua`, import.meta.url), 'utf8');
    const shipped = await readFile(new URL(`../../js/redis-scripts/${name}.lua`, import.meta.url), 'utf8');
    assert.equal(shipped, lua, `js/redis-scripts/${name}.lua is not redisstore/scripts/${name}.lua: run ./build.sh build`);
  }
});

test('the browser, workerd and bundled Node entries do not include the Redis storage', async () => {
  for (const entry of ['browser.js', 'workerd.js', 'node.js', 'node-entry.js']) {
    const source = await readFile(new URL(`../../js/${entry}`, import.meta.url), 'utf8');
    assert.ok(!source.includes('redis'), `js/${entry} mentions redis`);
  }
  const pkg = JSON.parse(await readFile(new URL('../../js/package.json', import.meta.url), 'utf8'));
  assert.equal(pkg.exports['./redis'].default, './redis-storage.js');
  assert.equal(pkg.peerDependenciesMeta.redis.optional, true);
});

test('arguments: a client of the redis package and a key without braces', () => {
  assert.throws(() => redisStorage({}), TypeError);
  assert.throws(() => redisStorage(rdb, 'a{b}'), /without \{ or \}/);
  assert.throws(() => redisStorage(rdb, ''), TypeError);
  assert.throws(() => redisStorage(rdb, 'k', { timeout: -1 }), TypeError);
  assert.throws(() => redisStorage(rdb, 'k', { lockTtl: 5 }), /unknown redisStorage option lockTtl/);
  assert.equal(redisStorage(rdb).key, 'caspio-token');
  assert.deepEqual(JSON.parse(JSON.stringify(redisStorage(rdb, 'k'))), { storage: 'redis', key: 'k' });
});

test('the state JSON under {key}:state, with the TTL the client gives', async () => {
  const s = redisStorage(rdb, 'caspio:orders-app');
  assert.equal(await s.get(), null);
  await s.set(state('id', 'u', 1), { expiresAt: Date.now() + 3_600_000, ttl: 3600 });
  assert.deepEqual(JSON.parse(await rdb.get('{caspio:orders-app}:state')), state('id', 'u', 1));
  const ttl = await rdb.pTTL('{caspio:orders-app}:state');
  assert.ok(ttl > 3_500_000 && ttl <= 3_600_000, `TTL ${ttl}`);
  await s.set(state('id', 'u', 2));
  assert.equal(await rdb.pTTL('{caspio:orders-app}:state'), -1, 'set without a TTL keeps it');
  assert.deepEqual(await s.get(), state('id', 'u', 2));
  await s.delete();
  assert.equal(await s.get(), null);
});

test('the write keeps a newer state of the same client, and replaces anything else', async () => {
  const s = redisStorage(rdb, 'cw');
  const cases = [
    ['an older revision is replaced', state('id', 'u', 3), state('id', 'u', 4), false],
    ['an equal revision is replaced', state('id', 'u', 4, { token: 'old' }), state('id', 'u', 4), false],
    ['a newer revision is kept', state('id', 'u', 5), state('id', 'u', 4), true],
    ['a newer state without revision is kept', state('id', 'u', 5, { revision: false }), state('id', 'u', 4), true],
    ['another client\'s state is replaced', state('other', 'u', 9), state('id', 'u', 4), false],
    ['text that is not JSON is replaced', '{not json', state('id', 'u', 1), false],
  ];
  for (const [name, stored, next, kept] of cases) {
    await rdb.set('{cw}:state', typeof stored === 'string' ? stored : JSON.stringify(stored));
    await s.set(next);
    const got = await rdb.get('{cw}:state');
    assert.equal(got, typeof (kept ? stored : next) === 'string' ? stored : JSON.stringify(kept ? stored : next), name);
  }
});

test('the lock: exclusive, TTL from the core, extended while held, released by its holder only', async () => {
  // The policy the client passes to lock() is the core's (the lock step's).
  let policy;
  const probe = {
    get: async () => null, set: async () => {}, delete: async () => {},
    lock: async (options) => { policy = options.policy; return () => {}; },
  };
  const { client } = await newClient(probe);
  await client.authenticate();
  client.close();
  assert.equal(policy.lock_ttl_ms, 10_000);
  assert.ok(policy.lock_extend_ms > 0 && policy.lock_extend_ms < policy.lock_ttl_ms / 2);
  assert.deepEqual(policy, lockPolicy(policy.timeout_ms), 'the lock step\'s values, the pause schedule among them');
  assert.ok(policy.timeout_ms > policy.lock_ttl_ms);

  const s = redisStorage(rdb, 'lk');
  // Without the lock step's values lock() refuses: the storage has no policy of its own.
  await assert.rejects(s.lock(), { name: 'TypeError', message: /redisStorage's lock\(\) was called without timeout_ms, lock_ttl_ms, lock_extend_ms, lock_pauses_ms: its lock follows the core's lock policy/ });
  assert.equal(await rdb.exists('{lk}:lock'), 0, 'no lock was taken');
  const release = await s.lock({ policy });
  const ttl = await rdb.pTTL('{lk}:lock');
  assert.ok(ttl > 9_000 && ttl <= policy.lock_ttl_ms, `the lock step's TTL: ${ttl}`);
  const abort = new AbortController();
  setTimeout(() => abort.abort(new Error('gave up')), 300);
  await assert.rejects(redisStorage(rdb, 'lk').lock({ signal: abort.signal, policy }), /gave up/);
  await release();
  assert.equal(await rdb.exists('{lk}:lock'), 0);

  // Extended: with a TTL of 600 ms and an extension every 150, still held after a second.
  const short = { ...policy, lock_ttl_ms: 600, lock_extend_ms: 150 };
  const r2 = await s.lock({ policy: short });
  await sleep(1000);
  assert.equal(await rdb.exists('{lk}:lock'), 1, 'the lock lapsed while held');
  // Taken over by another as if it had lapsed: the release says so and leaves the new lock.
  await rdb.set('{lk}:lock', 'the-next-holder', { PX: 60_000 });
  await assert.rejects(r2(), /lapsed/);
  assert.equal(await rdb.get('{lk}:lock'), 'the-next-holder');
  await rdb.del('{lk}:lock');
});

test('a lock left by a dead holder is taken over after its TTL', async () => {
  await rdb.set('{dead}:lock', 'a-dead-holder', { PX: 800 });
  const t0 = performance.now();
  const release = await redisStorage(rdb, 'dead').lock({ policy: lockPolicy() });
  const waited = performance.now() - t0;
  assert.ok(waited > 600 && waited < 3000, `waited ${waited} ms`);
  await release();
});

test('faults: the client works alone, says so with an event, and shows no secret', async (t) => {
  const hole = createServer((socket) => { socket.on('error', () => {}); }); // accepts, never answers
  hole.listen(0, '127.0.0.1');
  await once(hole, 'listening');
  const primary = await startRedis();
  const replica = await startRedis(['--replicaof', '127.0.0.1', String(primary.port)]);
  const cases = [
    ['Redis down at start', 'storage_error', async () => {
      const c = createRedis({ url: `redis://127.0.0.1:${await freePort()}`, socket: { reconnectStrategy: () => 200 } });
      c.on('error', () => {});
      c.connect().catch(() => {});
      return { client: c, storage: redisStorage(c, 'f', { timeout: 300 }) };
    }],
    ['a corrupt value', 'state_discarded', async () => {
      await rdb.set('{corrupt}:state', '{"version":1,"client_id":');
      return { storage: redisStorage(rdb, 'corrupt') };
    }],
    ['a foreign value', 'state_discarded', async () => {
      await rdb.set('{foreign}:state', '{"session":"abc","user":42}');
      return { storage: redisStorage(rdb, 'foreign') };
    }],
    ['a list under the key', 'storage_error', async () => {
      await rdb.rPush('{list}:state', ['a', 'b']);
      return { storage: redisStorage(rdb, 'list') };
    }],
    ['a hash under the key', 'storage_error', async () => {
      await rdb.hSet('{hash}:state', 'a', 'b');
      return { storage: redisStorage(rdb, 'hash') };
    }],
    ['a read-only replica', 'storage_error', async () => {
      const c = await replica.client();
      return { client: c, storage: redisStorage(c, 'ro') };
    }],
    ['Redis answering slowly past the timeout', 'storage_error', async () => {
      const c = createRedis({ url: `redis://127.0.0.1:${hole.address().port}`, socket: { reconnectStrategy: () => 200 } });
      c.on('error', () => {});
      c.connect().catch(() => {});
      return { client: c, storage: redisStorage(c, 'slow', { timeout: 300 }) };
    }],
  ];
  try {
    for (const [name, want, make] of cases) {
      await t.test(name, async () => {
        const { client: own, storage } = await make();
        const before = await logins();
        const { client, events, kinds } = await newClient(storage);
        try {
          const t0 = performance.now();
          const token = await client.token();
          const took = performance.now() - t0;
          t.diagnostic(`${name}: ${took.toFixed(0)} ms, events ${kinds().join(' ')}`);
          assert.ok(took < 10_000, `token() took ${took} ms`);
          assert.equal(await logins() - before, 1);
          assert.ok(kinds().includes(want), `events ${kinds()}, want ${want}`);
          assertNoSecret(events, token.accessToken);
          await client.token();
          assert.equal(await logins() - before, 1, 'the token in memory serves the next call');
          if (want === 'storage_error' && name.includes('under the key')) {
            const err = events.find((e) => e.type === 'storage_error').error;
            assert.match(err.message, /left alone/, 'the message says what the key holds and the fix');
          }
        } finally {
          client.close();
          if (own) await own.destroy?.();
        }
      });
    }
    await assertNoSecretStored();
  } finally {
    hole.close();
    await replica.stop();
    await primary.stop();
  }
});

test('Redis lost mid-run and back', async () => {
  const srv = await startRedis();
  const c = await srv.client();
  try {
    const a = await newClient(redisStorage(c, 'lb', { timeout: 500 }));
    await a.client.token();
    await srv.stop();
    await a.client.token(); // the token in memory needs no Redis
    const b = await newClient(redisStorage(c, 'lb', { timeout: 500 }));
    await b.client.token();
    assert.ok(b.kinds().includes('storage_error'), `events ${b.kinds()}`);
    await srv.start(); // back, empty
    for (let i = 0; i < 100 && !c.isReady; i++) await sleep(50);
    assert.ok(c.isReady, 'the redis client reconnected');
    // A lock command queued while Redis was down and run when it came back is released, so
    // that it does not stall the next lock for its TTL (10 s): within 5 s the key is gone.
    let held = 1;
    for (let i = 0; i < 100 && held; i++) {
      held = await c.exists('{lb}:lock');
      if (held) await sleep(50);
    }
    assert.equal(held, 0, 'the lock that a command queued while Redis was down took is released');
    await a.client.refresh();
    const before = (await sandbox.stats()).token_requests;
    const d = await newClient(redisStorage(c, 'lb'));
    await d.client.token();
    assert.deepEqual((await sandbox.stats()).token_requests, before, 'a new client uses the token stored after Redis came back');
    for (const x of [a, b, d]) x.client.close();
  } finally {
    await c.destroy?.();
    await srv.stop();
  }
});

test('the warm path sends nothing to Redis while the token is valid', async () => {
  const { client } = await newClient(redisStorage(rdb, 'warm'));
  try {
    await client.token();
    await rdb.configResetStat();
    for (let i = 0; i < 1000; i++) await client.token();
    const stats = String(await rdb.info('commandstats')).split('\n').map((l) => l.trim())
      .filter((l) => l.startsWith('cmdstat_') && !l.startsWith('cmdstat_info') && !l.startsWith('cmdstat_config'));
    assert.deepEqual(stats, []);
  } finally {
    client.close();
  }
});

test("js/README.md's Redis example runs", async () => {
  const text = await readFile(new URL('../../js/README.md', import.meta.url), 'utf8');
  const block = text.split('```js\n').slice(1).map((part) => part.split('```')[0]).find((b) => b.includes("from 'caspio-auth/redis'"));
  assert.ok(block, 'js/README.md shows redisStorage in use');
  // Inside the repository, so that 'caspio-auth' and 'redis' resolve through node_modules.
  const dir = await mkdtemp(fileURLToPath(new URL('./_example-', import.meta.url)));
  try {
    const file = join(dir, 'example.mjs');
    await writeFile(file, block);
    const { stdout } = await promisify(execFile)(process.execPath, [file], {
      env: { PATH: process.env.PATH, REDIS_URL: server.url, CASPIO_INTEGRATION_URL: sandbox.url, CASPIO_CLIENT_ID: 'sandbox-client', CASPIO_CLIENT_SECRET: CLIENT_SECRET },
      timeout: 30_000,
    });
    assert.match(stdout, /^token valid until /);
    assert.ok(await rdb.exists('{caspio:orders-app}:state'), 'the example stored the state under its key');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('node-redis 5, the major before: the same keys, lock, conditional write and client', async () => {
  const c5 = createRedis5({ url: server.url });
  c5.on('error', () => {});
  await c5.connect();
  try {
    const s = redisStorage(c5, 'v5');
    await s.set(state('id', 'u', 2), { expiresAt: Date.now() + 120_000, ttl: 120 });
    assert.deepEqual(JSON.parse(await rdb.get('{v5}:state')), state('id', 'u', 2));
    assert.ok(await rdb.pTTL('{v5}:state') > 100_000);
    await s.set(state('id', 'u', 1));
    assert.deepEqual(await s.get(), state('id', 'u', 2), 'an older state does not replace a newer one');
    const release = await s.lock({ policy: lockPolicy() });
    assert.ok(await rdb.pTTL('{v5}:lock') > 9_000);
    await release();
    assert.equal(await rdb.exists('{v5}:lock'), 0);
    await s.delete();
    const before = await logins();
    const a = await newClient(redisStorage(c5, 'v5'));
    const b = await newClient(redisStorage(rdb, 'v5')); // node-redis 6 on the same key
    const [ta, tb] = [await a.client.token(), await b.client.token()];
    assert.equal(ta.accessToken, tb.accessToken);
    assert.equal(await logins() - before, 1);
    a.client.close();
    b.client.close();
  } finally {
    await c5.close();
  }
});
