// Storage: memoryStorage, fileStorage (format, modes, atomic writes, the cross-process
// lock), restarts that reuse the stored token, two processes that log in once, and stored
// state that cannot be read.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createClient, memoryStorage, fileStorage, CaspioStateError } from 'caspio-auth';
import { startSandbox, CLIENT_SECRET } from './helpers/sandbox.js';
import { eventLog } from './helpers/recorder.js';

let sandbox;
let dir;
before(async () => {
  sandbox = await startSandbox();
  dir = await mkdtemp(join(tmpdir(), 'caspio-storage-'));
});
after(async () => {
  await sandbox?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});
beforeEach(async () => { await sandbox.reset(); });

let n = 0;
const freshPath = () => join(dir, `case-${++n}`, 'token.json');

test('memoryStorage keeps a copy', async () => {
  const s = memoryStorage();
  assert.equal(await s.get(), null);
  const state = { version: 1, counters: { logins: 1 } };
  await s.set(state);
  state.counters.logins = 99;
  const read = await s.get();
  assert.equal(read.counters.logins, 1);
  read.version = 7;
  assert.equal((await s.get()).version, 1);
  await s.delete();
  assert.equal(await s.get(), null);
});

test('fileStorage writes the state as JSON, mode 0600 in a 0700 folder, atomically', async () => {
  const path = freshPath();
  const storage = fileStorage(path);
  assert.equal(await storage.get(), null, 'no file yet');
  const client = await createClient(sandbox.options({ storage }));
  const token = await client.token();
  const text = await readFile(path, 'utf8');
  const state = JSON.parse(text);
  assert.equal(state.version, 1);
  assert.equal(state.client_id, 'sandbox-client');
  assert.equal(state.token_url, `${sandbox.url}/oauth/token`);
  assert.equal(state.access_token, token.accessToken);
  assert.equal(state.counters.logins, 1);
  assert.ok(!text.includes(CLIENT_SECRET), 'the secret is never stored');
  // Keys in sorted order, as Go's encoding/json writes the map the Go FileStore stores.
  assert.deepEqual(Object.keys(state), Object.keys(state).sort());
  if (process.platform !== 'win32') {
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.equal((await stat(join(path, '..'))).mode & 0o777, 0o700);
  }
  // No temporary files or lock left behind.
  assert.deepEqual(await readdir(join(path, '..')), ['token.json']);
  await storage.delete();
  assert.equal(await storage.get(), null);
  await storage.delete(); // deleting nothing is fine
  client.close();
});

test('a restarted client reuses the stored token: no login', async () => {
  const path = freshPath();
  const first = await createClient(sandbox.options({ storage: fileStorage(path) }));
  const t1 = await first.token();
  first.close();
  const log = eventLog();
  const second = await createClient(sandbox.options({ storage: fileStorage(path), onEvent: log.onEvent }));
  const t2 = await second.token();
  assert.equal(t2.accessToken, t1.accessToken);
  assert.equal((await second.fetch('tables')).status, 200);
  assert.deepEqual(log.types(), [], 'no token request');
  assert.deepEqual((await sandbox.stats()).token_requests, { client_credentials: 1 });
  assert.equal(second.stats().logins, 1, 'counters come from the stored state');
  second.close();
});

test('a stored token that expired is refreshed, not replaced by a login', async () => {
  const path = freshPath();
  const first = await createClient(sandbox.options({ storage: fileStorage(path) }));
  await first.token();
  first.close();
  // Make the stored access token expired, as after a day's pause.
  const state = JSON.parse(await readFile(path, 'utf8'));
  state.expires_at = Date.now() - 1000;
  await writeFile(path, JSON.stringify(state));
  const second = await createClient(sandbox.options({ storage: fileStorage(path) }));
  await second.token();
  assert.deepEqual((await sandbox.stats()).token_requests, { client_credentials: 1, refresh_token: 1 });
  second.close();
});

test('state another client stored is ignored and replaced', async () => {
  const path = freshPath();
  const other = await createClient(sandbox.options({ storage: fileStorage(path), apiVersion: 'v3' }));
  await other.token();
  other.close();
  const state = JSON.parse(await readFile(path, 'utf8'));
  state.client_id = 'another-client';
  await writeFile(path, JSON.stringify(state));
  const client = await createClient(sandbox.options({ storage: fileStorage(path) }));
  await client.token();
  assert.equal(JSON.parse(await readFile(path, 'utf8')).client_id, 'sandbox-client');
  assert.equal((await sandbox.stats()).token_requests.client_credentials, 2);
  client.close();
});

test('stored state that cannot be read is discarded with an event, never fatal', async () => {
  const cases = [
    ['{"version": 1, "client_id": "sandbox-cl', /not valid JSON/],
    ['{"version": 99, "client_id": "x", "token_url": "y"}', /newer than this version/],
    ['{"version": 1, "client_id": "sandbox-client", "token_url": 7}', /token_url/],
    ['"a string"', /expected a JSON object/],
  ];
  for (const [text, message] of cases) {
    const path = freshPath();
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, text);
    const log = eventLog();
    const client = await createClient(sandbox.options({ storage: fileStorage(path), onEvent: log.onEvent }));
    assert.equal((await client.fetch('tables')).status, 200, text);
    const discarded = log.events.find((e) => e.type === 'state_discarded');
    assert.ok(discarded, `${text}: ${log.types()}`);
    assert.ok(discarded.error instanceof CaspioStateError);
    assert.match(discarded.error.message, message);
    assert.equal(JSON.parse(await readFile(path, 'utf8')).version, 1, 'replaced by the next save');
    client.close();
  }
});

test('a storage that fails is reported, and the token is kept in memory', async () => {
  const log = eventLog();
  const broken = {
    get: async () => { throw new Error('disk on fire'); },
    set: async () => { throw new Error('disk on fire'); },
    delete: async () => {},
    lock: async () => { throw new Error('lock on fire'); },
  };
  const client = await createClient(sandbox.options({ storage: broken, onEvent: log.onEvent }));
  assert.equal((await client.fetch('tables')).status, 200);
  assert.equal((await client.fetch('tables')).status, 200);
  assert.deepEqual(log.types(), ['storage_error', 'storage_error', 'token_request', 'storage_error', 'login']);
  assert.equal((await sandbox.stats()).token_requests.client_credentials, 1);
  client.close();
});

test('a custom storage lock is held from reading the state to storing the new one', async () => {
  const calls = [];
  const inner = memoryStorage();
  const storage = {
    get: async () => { calls.push('get'); return inner.get(); },
    set: async (s) => { calls.push('set'); return inner.set(s); },
    delete: () => inner.delete(),
    lock: async () => { calls.push('lock'); return async () => { calls.push('unlock'); }; },
  };
  const client = await createClient(sandbox.options({ storage }));
  await client.token();
  assert.deepEqual(calls, ['lock', 'get', 'set', 'unlock']);
  client.close();
});

test('fileStorage lock: exclusive, bounded wait, and a dead holder\'s lock is taken over', async () => {
  const path = freshPath();
  const a = fileStorage(path);
  const b = fileStorage(path, { lockTimeout: 150 });
  const release = await a.lock();
  const started = Date.now();
  await assert.rejects(b.lock(), /waited 150 ms for the token file lock/);
  assert.ok(Date.now() - started >= 140);
  await release();
  const releaseB = await b.lock();
  await releaseB();

  // A lock left by a process that died is taken over at once.
  const child = spawn(process.execPath, ['-e', '0']);
  await once(child, 'exit');
  await writeFile(path + '.jslock', JSON.stringify({ pid: child.pid, host: hostname(), at: Date.now(), id: 'dead' }));
  const t0 = Date.now();
  const releaseC = await fileStorage(path, { lockTimeout: 2000 }).lock();
  assert.ok(Date.now() - t0 < 1000);
  await releaseC();

  // An old lock of a live process is taken over after staleLockTimeout.
  await writeFile(path + '.jslock', JSON.stringify({ pid: process.pid, host: 'elsewhere', at: Date.now() - 60_000, id: 'old' }));
  const releaseD = await fileStorage(path, { staleLockTimeout: 30_000, lockTimeout: 2000 }).lock();
  await releaseD();
  assert.deepEqual((await readdir(join(path, '..'))).filter((f) => f.includes('lock')), []);
});

test('two Node processes sharing one token file log in once', async () => {
  const path = freshPath();
  const script = fileURLToPath(new URL('./helpers/token-child.js', import.meta.url));
  const children = [0, 1, 2].map(() => spawn(process.execPath, [script, sandbox.url, path], { stdio: ['pipe', 'pipe', 'inherit'] }));
  const outputs = children.map((child) => createInterface({ input: child.stdout })[Symbol.asyncIterator]());
  try {
    for (const out of outputs) assert.equal((await out.next()).value, 'ready');
    for (const child of children) child.stdin.write('go\n'); // all at once
    const results = [];
    for (const out of outputs) results.push(JSON.parse((await out.next()).value));
    assert.equal(new Set(results.map((r) => r.accessToken)).size, 1, 'one token for all');
    assert.deepEqual((await sandbox.stats()).token_requests, { client_credentials: 1 });
    assert.deepEqual(results.map((r) => r.stats.tokenRequests.client_credentials).sort(), [1, 1, 1]);
  } finally {
    for (const child of children) {
      child.stdin.end();
      if (child.exitCode === null) await once(child, 'exit');
    }
  }
});
