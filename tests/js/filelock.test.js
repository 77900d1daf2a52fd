// One token file shared by Go and Node processes, under stress: cold starts racing for the
// first login, lock holders and writers killed with SIGKILL at random moments. The protocol
// both runtimes implement is described in docs/token-file.md.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createClient, fileStorage } from 'caspio-auth';
import { startSandbox, CLIENT_SECRET } from './helpers/sandbox.js';
import { lockPolicy } from './helpers/lock-policy.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tokenChild = fileURLToPath(new URL('./helpers/token-child.js', import.meta.url));
const churnChild = fileURLToPath(new URL('./helpers/file-churn.js', import.meta.url));
const goEnv = { ...process.env, CASPIO_CLIENT_SECRET: CLIENT_SECRET };
let dir;
let gotoken;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'caspio-filelock-'));
  gotoken = join(dir, 'gotoken');
  await promisify(execFile)('go', ['build', '-o', gotoken, './tests/interop/gotoken'], { cwd: root });
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

let n = 0;
async function freshDir() {
  const d = join(dir, `case-${++n}`);
  await mkdir(d, { recursive: true, mode: 0o700 });
  return d;
}

/**
 * Spawns a child and returns it with its next stdout line, its exit, and stop(), which
 * ends its stdin and kills it if it is still running.
 */
function start(command, args, env) {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'], env });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const exited = new Promise((resolve) => { child.on('exit', (code, signal) => resolve([code, signal])); });
  const stop = async () => {
    child.stdin.end();
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  return { child, exited, stop, next: async () => (await lines.next()).value };
}

const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

/** Starts a writer (or, with mode 'lock', a lock taker) and kills it with SIGKILL after it ran 0 to 20 ms. */
async function killMidway(runtime, path, mode) {
  const p = runtime === 'go'
    ? start(gotoken, ['-file', path, '-churn', '10s', `-churn-save=${mode === 'write'}`], goEnv)
    : start(process.execPath, [churnChild, path, mode, '10000']);
  try {
    assert.equal(await p.next(), 'churning');
    await sleep(Math.random() * 20);
    p.child.kill('SIGKILL');
    const [code, signal] = await p.exited;
    assert.equal(signal, 'SIGKILL', `the ${runtime} ${mode} process ended before it was killed (exit code ${code})`);
  } finally {
    await p.stop();
  }
}

const leftovers = async (d) => (await readdir(d)).filter((name) => name !== 'token.json');

test('a Go and a Node process starting cold on one file log in once: 50 rounds, 200 ms token endpoint', async (t) => {
  const lanes = 5;
  const roundsPerLane = 10;
  const started = Date.now();
  const settled = await Promise.allSettled(Array.from({ length: lanes }, async () => {
    const sandbox = await startSandbox();
    try {
      await sandbox.fault([{ route: '/oauth/token', delay_ms: 200, count: 1000 }]);
      const logins = [];
      for (let r = 0; r < roundsPerLane; r++) {
        const path = join(await freshDir(), 'token.json');
        const before = (await sandbox.stats()).token_requests.client_credentials ?? 0;
        const go = start(gotoken, ['-url', sandbox.url, '-file', path, '-ready'], goEnv);
        const node = start(process.execPath, [tokenChild, sandbox.url, path]);
        try {
          assert.equal(await go.next(), 'ready');
          assert.equal(await node.next(), 'ready');
          go.child.stdin.write('go\n'); // both at once
          node.child.stdin.write('go\n');
          const [goOut, nodeOut] = await Promise.all([go.next(), node.next()]);
          node.child.stdin.end();
          const [[goCode], [nodeCode]] = await Promise.all([go.exited, node.exited]);
          assert.equal(goCode, 0, 'the Go process got a token');
          assert.equal(nodeCode, 0, 'the Node process got a token');
          assert.equal(JSON.parse(goOut).Logins, 1);
          assert.equal(JSON.parse(nodeOut).logins, 1);
        } finally {
          await Promise.all([go.stop(), node.stop()]);
        }
        logins.push(((await sandbox.stats()).token_requests.client_credentials ?? 0) - before);
      }
      return logins;
    } finally {
      await sandbox.stop();
    }
  }));
  for (const lane of settled) if (lane.status === 'rejected') throw lane.reason;
  const logins = settled.flatMap((lane) => lane.value);
  t.diagnostic(`${logins.length} rounds in ${Date.now() - started} ms; logins per round: ${JSON.stringify(logins)}`);
  assert.equal(logins.length, 50);
  const notOne = logins.filter((l) => l !== 1).length;
  assert.equal(notOne, 0, `${notOne} of 50 rounds did not log in exactly once; logins per round: ${logins.join(' ')}`);
});

/**
 * Takes the lock of path after its holder was killed, and returns what the holder had left:
 * 'none' (no lock) or 'dead' (the whole owner record of a process that is gone), the two
 * things docs/token-file.md takes over at once. Anything else fails the test. lock() looks at
 * its deadline only while it honours a lock, so a lock taken over at once is taken whatever
 * the machine's load, and one the rules honoured instead (2 s for an unreadable record, 10 s
 * for a live holder's) makes it throw at the lock's timeout: that decides, not a stopwatch.
 */
async function takeOverAtOnce(path) {
  let text = null;
  try {
    text = await readFile(path + '.lock', 'utf8');
  } catch (err) {
    if (err.code !== 'ENOENT') throw err;
  }
  let left = 'none';
  if (text !== null) {
    const owner = JSON.parse(text); // a half-written record would not parse
    assert.equal(owner.host, hostname());
    assert.ok(typeof owner.nonce === 'string' && owner.nonce !== '', 'the record has its nonce');
    assert.ok(Number.isInteger(owner.pid) && owner.pid > 0, `the record has a pid: ${owner.pid}`);
    assert.ok(!alive(owner.pid), `the lock names process ${owner.pid}, which should be gone`);
    left = 'dead';
  }
  await (await fileStorage(path).lock({ policy: lockPolicy(3000) }))();
  return left;
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

test('a lock holder killed at any moment costs the next client no wait', async (t) => {
  // One file per runtime, one holder at a time on each: the next lock() meets only what the
  // killed holder left, never a live holder (whose lock it would rightly wait for).
  const kills = 40;
  const left = { node: [], go: [] };
  await Promise.all(['node', 'go'].map(async (runtime) => {
    const path = join(await freshDir(), 'token.json');
    for (let k = 0; k < kills; k++) {
      await killMidway(runtime, path, 'lock');
      left[runtime].push(await takeOverAtOnce(path));
    }
    assert.deepEqual(await leftovers(join(path, '..')), []);
  }));
  const count = (a, what) => a.filter((l) => l === what).length;
  t.diagnostic(`killed holders left, node: ${count(left.node, 'dead')} locks of a dead process, ${count(left.node, 'none')} none; `
    + `go: ${count(left.go, 'dead')} and ${count(left.go, 'none')}; each was taken over at once`);
  for (const runtime of ['node', 'go']) assert.equal(left[runtime].length, kills);
});

test('kill -9 of writers, 200 of Go and 200 of Node: every token file valid, no extra login, no temp file left', async (t) => {
  const sandbox = await startSandbox();
  try {
    const lanes = 4;
    const killsPerRuntime = 200;
    const paths = await Promise.all(Array.from({ length: lanes }, async () => join(await freshDir(), 'token.json')));
    const tokens = [];
    for (const path of paths) {
      const client = await createClient(sandbox.options({ storage: fileStorage(path) }));
      tokens.push((await client.token()).accessToken);
      client.close();
    }
    const started = Date.now();
    const temps = new Set(); // temporary files left by killed writers, for the next ones to remove
    // Each lane alternates Node and Go writers on its own file.
    await Promise.all(paths.map(async (path) => {
      for (let k = 0; k < (2 * killsPerRuntime) / lanes; k++) {
        await killMidway(k % 2 === 0 ? 'node' : 'go', path, 'write');
        for (const name of await leftovers(join(path, '..'))) if (name.includes('.tmp-')) temps.add(name);
      }
    }));
    const killed = Date.now() - started;

    for (const [i, path] of paths.entries()) {
      const state = JSON.parse(await readFile(path, 'utf8'));
      assert.equal(state.access_token, tokens[i], 'the file still holds its token');
      // A Go reader, then a Node client, reuse it.
      const { stdout } = await promisify(execFile)(gotoken, ['-url', sandbox.url, '-file', path], { env: goEnv });
      assert.equal(JSON.parse(stdout).Logins, 1);
      const client = await createClient(sandbox.options({ storage: fileStorage(path) }));
      assert.equal((await client.token()).accessToken, tokens[i]);
      client.close();
      const left = await leftovers(join(path, '..'));
      assert.deepEqual(left.filter((name) => name.includes('.tmp-')), [], 'no temporary file is left');
      // A reader that needs no lock leaves the last killed writer's lock; the next process
      // that needs it takes it over at once.
      await takeOverAtOnce(path);
      assert.deepEqual(await leftovers(join(path, '..')), [], 'nothing is left');
    }
    assert.deepEqual((await sandbox.stats()).token_requests, { client_credentials: lanes }, 'no login beyond the first of each file');
    t.diagnostic(`${2 * killsPerRuntime} writers killed in ${killed} ms; temporary files they left: ${temps.size}, each removed by a later writer or reader`);
  } finally {
    await sandbox.stop();
  }
});

test('kill -9 of a Node process mid-refresh: the token file stays whole, and the next process refreshes without a login', async (t) => {
  const sandbox = await startSandbox();
  try {
    const path = join(await freshDir(), 'token.json');
    const first = await createClient(sandbox.options({ storage: fileStorage(path) }));
    await first.token();
    first.close();
    const delay = 300; // the token endpoint's answer to each refresh comes this late
    const rounds = 12;
    let inFlight = 0; // kills that landed before the sandbox answered the refresh
    let afterAnswer = 0; // kills that landed once it had answered: during the write, or after
    for (let r = 0; r < rounds; r++) {
      // An expired access token in the file: the child's token() refreshes it.
      const stored = JSON.parse(await readFile(path, 'utf8'));
      await writeFile(path, JSON.stringify({ ...stored, expires_at: Date.now() - 1000 }));
      const before = await sandbox.stats();
      await sandbox.fault([{ route: '/oauth/token', delay_ms: delay }]);
      const child = start(process.execPath, [tokenChild, sandbox.url, path]);
      try {
        assert.equal(await child.next(), 'ready');
        child.child.stdin.write('go\n');
        // Until the refresh request has reached the sandbox (counted as it arrives).
        for (let i = 0; ((await sandbox.stats()).token_requests.refresh_token ?? 0) === (before.token_requests.refresh_token ?? 0); i++) {
          assert.ok(i < 1000, 'the child never sent its refresh');
          await sleep(5);
        }
        // Even rounds kill while the request waits for its answer, odd ones about when the
        // answer arrives and the file is written.
        await sleep(r % 2 === 0 ? Math.random() * (delay / 2) : delay - 10 + Math.random() * 40);
        child.child.kill('SIGKILL');
        await child.exited;
      } finally {
        await child.stop();
      }
      const after = await sandbox.stats();
      if (after.access_tokens_minted === before.access_tokens_minted) inFlight++;
      else afterAnswer++;
      await sandbox.control('DELETE', 'faults'); // nothing left queued for the next process
      // The file is whole: the state before the refresh, or the one it got.
      const state = JSON.parse(await readFile(path, 'utf8'));
      assert.equal(typeof state.access_token, 'string');
      assert.equal(typeof state.refresh_token, 'string');
      // The next process takes over the dead child's lock at once and refreshes (or reuses
      // the refreshed token): no login.
      const next = await createClient(sandbox.options({ storage: fileStorage(path) }));
      try {
        assert.ok((await next.token()).accessToken);
      } finally {
        next.close();
      }
      assert.deepEqual((await sandbox.stats()).token_requests.client_credentials, 1, `round ${r}: no login after the kill`);
      assert.deepEqual((await leftovers(join(path, '..'))).filter((name) => name.includes('.tmp-')), [], `round ${r}: no temporary file is left`);
    }
    t.diagnostic(`${rounds} Node processes killed mid-refresh: ${inFlight} before the token endpoint answered, ${afterAnswer} after`);
    assert.ok(inFlight >= 1, 'at least one kill landed while the refresh request was in flight');
    assert.equal(inFlight + afterAnswer, rounds);
  } finally {
    await sandbox.stop();
  }
});
