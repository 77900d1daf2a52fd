// Storage: memoryStorage, fileStorage (format, modes, atomic writes, the cross-process
// lock of docs/token-file.md, the temporary files of writers that died), restarts that reuse the stored token, two processes that log in once, and stored
// state that cannot be read.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createClient, memoryStorage, fileStorage, CaspioStateError } from 'caspio-auth';
import { startSandbox, CLIENT_SECRET } from './helpers/sandbox.js';
import { eventLog } from './helpers/recorder.js';
import { lockPolicy } from './helpers/lock-policy.js';

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
  assert.deepEqual(log.types(), ['storage_error', 'storage_error', 'token_request', 'login', 'storage_error'], 'the failed lock, the failed read, the login, then its failed write');
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
  // A read before the lock (one started with the client) may only be a first look: the
  // state is read again under the lock, and stored before the lock is released.
  const locked = calls.indexOf('lock');
  assert.deepEqual(calls.slice(0, locked).filter((c) => c !== 'get'), [], calls.join(' '));
  assert.deepEqual(calls.slice(locked), ['lock', 'get', 'set', 'unlock']);
  client.close();
});

test('fileStorage lock: exclusive, bounded wait, path + ".lock" holding its owner', async () => {
  const path = freshPath();
  const a = fileStorage(path);
  const b = fileStorage(path);
  const release = await a.lock({ policy: lockPolicy() });
  const owner = JSON.parse(await readFile(path + '.lock', 'utf8'));
  assert.equal(owner.host, hostname());
  assert.equal(owner.pid, process.pid);
  assert.match(owner.nonce, /^[0-9a-f]{32}$/);
  if (process.platform !== 'win32') assert.equal((await stat(path + '.lock')).mode & 0o777, 0o600);
  // The error names the wait the lock step allowed: what the storage decided, not a stopwatch.
  await assert.rejects(b.lock({ policy: lockPolicy(150) }), /waited 150 ms for the token file lock .*token\.json\.lock \(held by process \d+ on /);
  await release();
  const releaseB = await b.lock({ policy: lockPolicy() });
  await releaseB();
  assert.deepEqual(await readdir(join(path, '..')), [], 'no lock or temporary file is left');
});

/** The ID of a process that has exited (and been reaped). */
async function deadPid() {
  const child = spawn(process.execPath, ['-e', '0']);
  await once(child, 'exit');
  return child.pid;
}

const record = (o) => JSON.stringify({ host: hostname(), pid: process.pid, nonce: 'n' + Math.random(), at: Date.now(), ...o });

test('fileStorage lock: which locks are taken over, and when', async () => {
  const dead = await deadPid();
  const cases = [
    // [name, lock file content, its age in ms, taken over at once]
    ['a process on this host that died', record({ pid: dead }), 0, true],
    ['a live process elsewhere, refreshed lately', record({ host: 'elsewhere' }), 0, false],
    ['a live process elsewhere, not refreshed for longer than the core\'s lock TTL (10 s)', record({ host: 'elsewhere' }), 11_000, true],
    ['a live process elsewhere, refreshed within the core\'s lock TTL', record({ host: 'elsewhere' }), 9_000, false],
    ['this process, through another fileStorage', record({}), 0, false],
    ['empty: a holder without hard links that has not written its owner yet', '', 0, false],
    ['empty, older than 2 s: that holder died', '', 2500, true],
    ['not an owner record, older than 2 s (an older release\'s lock)', 'x', 3000, true],
    ['an owner record with a pid that is not one', record({ pid: 0 }), 2500, true],
  ];
  for (const [name, content, age, takenOver] of cases) {
    const path = freshPath();
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path + '.lock', content);
    const at = new Date(Date.now() - age);
    await utimes(path + '.lock', at, at);
    // lock() looks at its deadline only while it honours a lock: one the rules take over at
    // once is taken whatever the machine's load, and one they honour (for the 2 s or 10 s of
    // the rules) makes it throw at 300 ms. That decides, not a stopwatch.
    const attempt = fileStorage(path).lock({ policy: lockPolicy(300) });
    if (!takenOver) {
      await assert.rejects(attempt, /waited 300 ms/, name);
      continue;
    }
    const release = await attempt;
    assert.notEqual(await readFile(path + '.lock', 'utf8'), content, name);
    await release();
    assert.deepEqual(await readdir(join(path, '..')), [], `${name}: nothing is left`);
  }
});

test('fileStorage lock: the holder refreshes it, so a long hold is never taken over', async () => {
  const path = freshPath();
  const policy = lockPolicy(undefined, { lock_ttl_ms: 1000, lock_extend_ms: 333, lock_stale_ms: { held: 1000, holder_gone: -1, unreadable: 1000 } }); // refreshed every 333 ms
  const release = await fileStorage(path).lock({ policy });
  await assert.rejects(fileStorage(path).lock({ policy: { ...policy, timeout_ms: 2000 } }), /waited 2000 ms/);
  await release(); // still its own: no error

  // A holder that lost its lock says so when it releases.
  const lost = await fileStorage(path).lock({ policy });
  await writeFile(path + '.lock', record({ host: 'elsewhere' }));
  await assert.rejects(lost(), /another process took the lock over/);
});

test('fileStorage lock: waiters racing for a dead holder\'s lock take it one at a time', async () => {
  const path = freshPath();
  await mkdir(join(path, '..'), { recursive: true });
  const dead = await deadPid();
  let holders = 0;
  let most = 0;
  for (let round = 0; round < 20; round++) {
    await writeFile(path + '.lock', record({ pid: dead }));
    await Promise.all(Array.from({ length: 8 }, async (_, i) => {
      await new Promise((resolve) => { setTimeout(resolve, i % 4); }); // staggered, so that some find the next holder's lock
      const release = await fileStorage(path).lock({ policy: lockPolicy(5000) });
      most = Math.max(most, ++holders);
      await new Promise((resolve) => { setTimeout(resolve, 2); });
      holders--;
      await release();
    }));
  }
  assert.equal(most, 1);
  assert.deepEqual(await readdir(join(path, '..')), []);
});

test('fileStorage removes the temporary files of writers that died, and only theirs', async () => {
  const path = freshPath();
  const folder = join(path, '..');
  await mkdir(folder, { recursive: true });
  const tag = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);
  const dead = await deadPid();
  const old = new Date(Date.now() - 120_000);
  const files = {
    [`.token.json.tmp-${tag}-${dead}-a1b2`]: { gone: true }, // its writer died
    [`.token.json.tmp-${tag}-${process.ppid}-a1b2`]: { gone: false }, // a live writer's
    [`.token.json.tmp-${tag}-${process.ppid}-c3d4`]: { gone: true, mtime: old }, // no write takes 2 minutes
    [`.token.json.tmp-00000000-${dead}-a1b2`]: { gone: false }, // another host's, lately
    ['.token.json.tmp-123456789']: { gone: false }, // an older release's name, lately
    ['.token.json.tmp-5f0c3a7e-1b2c-4d5e-8f90-123456789abc']: { gone: true, mtime: old },
    [`.other.json.tmp-${tag}-${dead}-a1b2`]: { gone: false }, // another token file's
  };
  const storage = fileStorage(path);
  for (const op of ['get', 'set']) {
    for (const [name, { mtime }] of Object.entries(files)) {
      await writeFile(join(folder, name), '{"access_token":"live"}');
      if (mtime) await utimes(join(folder, name), mtime, mtime);
    }
    if (op === 'get') assert.equal(await storage.get(), null);
    else await storage.set({ version: 1 });
    const left = new Set(await readdir(folder));
    for (const [name, { gone }] of Object.entries(files)) assert.equal(!left.has(name), gone, `${op}: ${name}`);
  }
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

test('a wait for a held token-file lock stops when the client gives up, not after the lock step\'s timeout', async () => {
  const storage = fileStorage(join(dir, `held-${++n}`, 'token.json'));
  const release = await storage.lock({ policy: lockPolicy() });
  try {
    const started = Date.now();
    await assert.rejects(storage.lock({ signal: AbortSignal.timeout(150), policy: lockPolicy(60_000) }), (err) => {
      assert.equal(err.name, 'TimeoutError', `${err}`);
      return true;
    });
    // The error is the signal's, not the timeout's: the abort ended the wait. The bound
    // below is only a backstop, wide on purpose (5 s of a 60 s timeout), so that a busy
    // machine cannot reach it.
    const waited = Date.now() - started;
    assert.ok(waited < 5_000, `the abandoned wait went on for ${waited} ms`);
  } finally {
    await release();
  }
});

test('a storage that does not answer fails its step within the token timeout, naming the storage and the limit', async () => {
  const log = eventLog();
  const never = new Promise(() => {});
  const silent = {
    get: () => never,
    set: () => never,
    delete: async () => {},
    lock: async () => async () => never,
    toJSON: () => ({ storage: 'stuck', path: '/mnt/gone/token.json' }),
  };
  const errors = [];
  const client = await createClient(sandbox.options({ storage: silent, tokenTimeout: 300, onEvent: (e) => { log.onEvent(e); if (e.type === 'storage_error') errors.push(e.error.message); } }));
  try {
    assert.equal((await client.fetch('tables')).status, 200);
    // Read before the lock (whose failure the read under the lock reports), read under it,
    // write, unlock: each ends at 300 ms, as the messages say (a step that never ended would
    // leave the fetch above unanswered).
    assert.equal(errors.length, 3, errors.join('\n'));
    for (const m of errors) assert.match(m, /the stuck storage \/mnt\/gone\/token\.json did not .* within 300 ms/);
    assert.match(errors.join('\n'), /read the token state/);
    assert.match(errors.join('\n'), /store the token state/);
    assert.match(errors.join('\n'), /release its lock/);
  } finally {
    client.close();
  }
});

test('fileStorage on a path that cannot be made fails at once, naming it, and leaves nothing running', async () => {
  if (process.platform !== 'linux') return;
  // /proc takes no new directories: Node 20's recursive mkdir spun there at full CPU forever.
  const s = fileStorage('/proc/caspio-none/token.json');
  const cpu = process.cpuUsage();
  assert.equal(await s.get(), null);
  await assert.rejects(s.set({ version: 1 }), /create the directory of token state file \/proc\/caspio-none\/token\.json: cannot create the directory \/proc\/caspio-none: \/proc takes no new directories/);
  await assert.rejects(s.lock({ policy: lockPolicy() }), /\/proc\/caspio-none: \/proc takes no new directories/);
  await new Promise((resolve) => { setTimeout(resolve, 300); });
  const used = process.cpuUsage(cpu);
  assert.ok((used.user + used.system) / 1000 < 250, `nothing spins behind it: ${(used.user + used.system) / 1000} ms of CPU in 300 ms`);

  // Through a client: the steps fail, the token stays in memory.
  const log = eventLog();
  const client = await createClient(sandbox.options({ storage: fileStorage('/proc/caspio-none/token.json'), onEvent: log.onEvent }));
  try {
    assert.equal((await client.fetch('tables')).status, 200);
    assert.ok(log.types().includes('storage_error'));
  } finally {
    client.close();
  }
});

test('fileStorage takes no timing options: the lock follows the core, the same for every process', () => {
  assert.throws(() => fileStorage('t.json', { lockTimeout: 1000 }), /unknown fileStorage option lockTimeout; fileStorage takes none: how long the lock is waited for follows the client's tokenTimeout/);
  assert.throws(() => fileStorage('t.json', { staleLockTimeout: 1000 }), /the same for every process on the file/);
});

test('the lock step hands the storage the core\'s lock policy: its pauses and stale ages as values to look up', async () => {
  let got;
  const inner = memoryStorage();
  const storage = { get: () => inner.get(), set: (s) => inner.set(s), delete: () => inner.delete(), lock: async ({ policy }) => { got = policy; return () => {}; } };
  const client = await createClient(sandbox.options({ storage }));
  try {
    await client.token();
  } finally {
    client.close();
  }
  assert.deepEqual({ ...got }, lockPolicy());
  assert.deepEqual(got.lock_pauses_ms[0], [2, 5], 'the first pause: from half of PollMin to PollMin');
});

test('fileStorage lock() without the lock step\'s policy refuses, naming what is missing: it holds no policy of its own', async () => {
  const path = freshPath();
  await assert.rejects(fileStorage(path).lock(), { name: 'TypeError', message: /fileStorage's lock\(\) was called without timeout_ms, lock_ttl_ms, lock_extend_ms, lock_pauses_ms, lock_stale_ms: its lock follows the core's lock policy/ });
  await assert.rejects(fileStorage(path).lock({ policy: { timeout_ms: 300 } }), { name: 'TypeError', message: /without lock_ttl_ms, lock_extend_ms, lock_pauses_ms, lock_stale_ms:/ });
  await assert.rejects(stat(path + '.lock'), { code: 'ENOENT' }, 'no lock was taken');
});

test('fileStorage lock: when a lock is stale is the lock step\'s lock_stale_ms, not a rule of its own', async () => {
  const path = freshPath();
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path + '.lock', record({ host: 'elsewhere' }));
  const at = new Date(Date.now() - 5_000);
  await utimes(path + '.lock', at, at);
  // 5 s old: honoured by the core's TTL (10 s); stale where the step says a held lock is
  // honoured 4 s.
  await assert.rejects(fileStorage(path).lock({ policy: lockPolicy(300) }), /waited 300 ms/);
  const release = await fileStorage(path).lock({ policy: lockPolicy(300, { lock_stale_ms: { held: 4_000, holder_gone: -1, unreadable: 2_000 } }) });
  await release();
});
