// One token file shared by a Node script and a Go program: the stored state is the same
// JSON in every runtime, so either reuses what the other stored instead of logging in.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createClient, fileStorage } from '../../js/node.js';
import { startSandbox, CLIENT_SECRET } from './helpers/sandbox.js';

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
