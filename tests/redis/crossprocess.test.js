// 20 Go processes (redisstore) and 20 Node processes (redisStorage) on one key, starting
// cold at the same moment against the sandbox with a 200 ms token endpoint, make exactly one
// login between them; after the token's lease lapses, the next wave makes exactly one
// refresh; with Redis restarted empty between waves, at most one more login, and never a
// corrupt state.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startSandbox } from '../js/helpers/sandbox.js';
import { startRedis } from './helpers/redis-server.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const nodeChild = fileURLToPath(new URL('./helpers/token-child.js', import.meta.url));
const PER_RUNTIME = 20;
// The sandbox's tokens live 20 s, so the client's lease on one ends after 10 s (half the
// lifetime, for a token shorter than twice the refresh margin): the second wave refreshes.
const TOKEN_TTL_S = 20;

let dir;
let goWorker;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'caspio-redis-'));
  goWorker = join(dir, 'tokenworker');
  await promisify(execFile)('go', ['build', '-o', goWorker, './internal/tokenworker'], { cwd: join(root, 'redisstore') });
});
after(async () => { if (dir) await rm(dir, { recursive: true, force: true }); });

/** Starts a worker; next() gives its next stdout line. */
function start(cmd, args) {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const exited = new Promise((resolve) => { child.on('exit', (code) => resolve(code)); });
  return {
    child, exited,
    stderr: () => stderr,
    next: async () => (await lines.next()).value,
    stop: async () => {
      child.stdin.end();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Runs one wave: 20 Go and 20 Node workers, all ready, then told to go at once. */
async function wave(sandbox, redis, key, startAt = 0, log = () => {}) {
  const t0 = Date.now();
  const workers = [];
  for (let i = 0; i < PER_RUNTIME; i++) {
    workers.push(start(goWorker, ['-url', sandbox.url, '-redis', `127.0.0.1:${redis.port}`, '-key', key]));
    // Without V8's background tier-up of caspio.wasm, which 20 processes living a few
    // seconds would run on both cores at once for nothing: the start of a wave, not what it
    // tests, took 25 s with it.
    workers.push(start(process.execPath, ['--no-wasm-tier-up', nodeChild, sandbox.url, redis.url, key]));
  }
  try {
    for (const w of workers) assert.equal(await w.next(), 'ready', `a worker did not start: ${w.stderr()}`);
    const ready = Date.now();
    if (startAt > Date.now()) await new Promise((resolve) => { setTimeout(resolve, startAt - Date.now()); });
    for (const w of workers) w.child.stdin.write('go\n');
    const outs = await Promise.all(workers.map(async (w) => {
      const line = await w.next();
      assert.ok(line, `a worker gave no token: ${w.stderr()}`);
      return JSON.parse(line);
    }));
    const answered = Date.now();
    const codes = await Promise.all(workers.map((w) => w.exited));
    log(`started in ${ready - t0} ms, all answered ${answered - Math.max(ready, startAt)} ms after go, exited ${Date.now() - answered} ms later`);
    assert.deepEqual(codes.filter((c) => c !== 0), [], 'every worker exits cleanly');
    return outs;
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
}

test('40 cold processes, Go and Node, on one key: one login; the next wave one refresh; Redis restarted empty: at most one more login', async (t) => {
  const sandbox = await startSandbox(['-token-ttl', `${TOKEN_TTL_S}s`]);
  const redis = await startRedis();
  const admin = await redis.client();
  try {
    await sandbox.fault([{ route: '/oauth/token', delay_ms: 200, count: 1000 }]);
    const requests = async () => (await sandbox.stats()).token_requests;
    const checkState = async (what) => {
      const text = await admin.get('{shared}:state');
      assert.ok(text, `${what}: a state is stored`);
      const s = JSON.parse(text); // never corrupt
      assert.equal(s.version, 1);
      assert.equal(s.client_id, 'sandbox-client');
      assert.equal(typeof s.access_token, 'string');
      assert.equal(s.revision, s.counters.client_credentials_requests + s.counters.refresh_token_requests, `${what}: the revision counts the token requests`);
      assert.ok(!text.includes('sandbox-secret'), 'the client secret is never stored');
      return s;
    };

    // Wave 1: cold.
    const first = await wave(sandbox, redis, 'shared', 0, (m) => t.diagnostic(`wave 1: ${m}`));
    const t1 = Date.now(); // every token of wave 1 was obtained before
    const afterFirst = await requests();
    t.diagnostic(`wave 1: ${JSON.stringify(afterFirst)}`);
    assert.equal(afterFirst.client_credentials, 1, 'one login for 40 cold processes');
    assert.equal(afterFirst.refresh_token ?? 0, 0);
    assert.equal(new Set(first.map((o) => o.token)).size, 1, 'every process got the same token');
    const s1 = await checkState('after wave 1');

    // Wave 2: after the lease lapsed (half the token's lifetime), one refresh.
    const second = await wave(sandbox, redis, 'shared', t1 + (TOKEN_TTL_S / 2) * 1000 + 1500, (m) => t.diagnostic(`wave 2: ${m}`));
    const afterSecond = await requests();
    t.diagnostic(`wave 2: ${JSON.stringify(afterSecond)}`);
    assert.equal(afterSecond.client_credentials, 1, 'no login in the second wave');
    assert.equal(afterSecond.refresh_token, 1, 'one refresh for 40 processes');
    assert.equal(new Set(second.map((o) => o.token)).size, 1);
    assert.notEqual(second[0].token, first[0].token);
    const s2 = await checkState('after wave 2');
    assert.ok(s2.revision > s1.revision);

    // Wave 3: Redis restarted empty.
    await redis.stop();
    await redis.start();
    for (let i = 0; i < 100 && !admin.isReady; i++) await new Promise((resolve) => { setTimeout(resolve, 50); });
    const third = await wave(sandbox, redis, 'shared', 0, (m) => t.diagnostic(`wave 3: ${m}`));
    const afterThird = await requests();
    t.diagnostic(`wave 3 (Redis restarted empty): ${JSON.stringify(afterThird)}`);
    assert.ok(afterThird.client_credentials - afterSecond.client_credentials <= 1, 'at most one more login');
    assert.equal(afterThird.refresh_token, afterSecond.refresh_token);
    assert.equal(new Set(third.map((o) => o.token)).size, 1);
    await checkState('after wave 3');
    for (const o of [...first, ...second, ...third]) assert.equal(o.state_discarded, 0, 'no state was ever discarded');
  } finally {
    await admin.destroy?.();
    await redis.stop();
    await sandbox.stop();
  }
});
