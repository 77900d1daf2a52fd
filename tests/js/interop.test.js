// One token file shared by a Node script and a Go program: the stored state is the same
// JSON in every runtime, so either reuses what the other stored instead of logging in, and
// both take the same lock (docs/token-file.md), so each waits while the other holds it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createClient, fileStorage } from '../../js/node.js';
import { startSandbox, CLIENT_SECRET } from './helpers/sandbox.js';
import { lockPolicy } from './helpers/lock-policy.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
let sandbox;
let dir;
let gotoken;

before(async () => {
  sandbox = await startSandbox();
  dir = await mkdtemp(join(tmpdir(), 'caspio-interop-'));
  gotoken = join(dir, 'gotoken');
  await run('go', ['build', '-o', gotoken, './tests/interop/gotoken'], { cwd: root });
});

after(async () => {
  await sandbox?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function goToken(file) {
  const { stdout } = await run(gotoken, ['-url', sandbox.url, '-file', file], { env: { ...process.env, CASPIO_CLIENT_SECRET: CLIENT_SECRET } });
  return JSON.parse(stdout);
}

async function logins() {
  return (await sandbox.stats()).token_requests.client_credentials ?? 0;
}

test('Go reuses the token Node stored', async () => {
  const file = join(dir, 'node-first.json');
  const node = await createClient(sandbox.options({ storage: fileStorage(file) }));
  await node.token();
  node.close();
  const before = await logins();
  const stats = await goToken(file);
  assert.equal(await logins(), before, 'Go made no login');
  assert.equal(stats.Logins, 1, 'Go read the counters Node stored');
});

test('Node reuses the token Go stored', async () => {
  const file = join(dir, 'go-first.json');
  await goToken(file);
  const before = await logins();
  const node = await createClient(sandbox.options({ storage: fileStorage(file) }));
  const res = await node.fetch('tables');
  assert.equal(res.status, 200);
  assert.equal(await logins(), before, 'Node made no login');
  assert.equal(node.stats().logins, 1);
  node.close();
});

/** Starts gotoken holding the lock of file; resolves with its first line and a release(). */
async function goHold(file, lockWait) {
  const child = spawn(gotoken, ['-file', file, '-hold', '-lock-wait', lockWait], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const exited = new Promise((resolve) => { child.on('exit', (code) => resolve(code)); });
  const first = (await lines.next()).value;
  return {
    first,
    exited,
    async release() {
      child.stdin.end('\n');
      const code = await exited;
      return { code, last: (await lines.next()).value };
    },
  };
}

test('Node waits while Go holds the lock, and Go while Node holds it', async () => {
  const file = join(dir, 'shared-lock.json');
  const go = await goHold(file, '5s');
  try {
    assert.equal(go.first, 'locked');
    await assert.rejects(fileStorage(file).lock({ policy: lockPolicy(300) }), /waited 300 ms for the token file lock .*shared-lock\.json\.lock \(held by process \d+/);
  } finally {
    assert.deepEqual(await go.release(), { code: 0, last: 'unlocked' });
  }
  const release = await fileStorage(file).lock({ policy: lockPolicy(1000) });
  let released = false;
  try {
    const waiter = await goHold(file, '300ms');
    assert.equal(waiter.first, undefined, 'Go did not get the lock Node holds');
    assert.equal(await waiter.exited, 3, 'Go gave up waiting');
    await release();
    released = true;
    const after = await goHold(file, '1s');
    assert.equal(after.first, 'locked');
    assert.deepEqual(await after.release(), { code: 0, last: 'unlocked' });
  } finally {
    if (!released) await release();
  }
  assert.deepEqual((await readdir(dir)).filter((name) => name.startsWith('shared-lock') || name.startsWith('.shared-lock')), [], 'no lock or temporary file is left');
});
