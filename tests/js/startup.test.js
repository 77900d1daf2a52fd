// A Node client's start from a token file that holds the lease its core wrote: the first
// request is sent before the core has started, and anything but a success hands the request
// to the core. Each case is a fresh process (the core starts once per process), against a
// scripted resource and token endpoint on loopback.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const entry = new URL('../../js/node.js', import.meta.url).href;
const coreModule = new URL('../../js/core.js', import.meta.url).href;

let server;
let origin;
let dir;
/** Every request the endpoints got: {path, authorization, grant}. */
let seen = [];
/** The statuses the resource endpoint answers, in turn; 200 once they run out. */
let answers = [];
let tokens = 0;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'caspio-startup-'));
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      if (req.url === '/oauth/token') {
        tokens++;
        seen.push({ path: req.url, grant: new URLSearchParams(body).get('grant_type') });
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ access_token: `at-${tokens}`, token_type: 'bearer', expires_in: 86399, refresh_token: `rt-${tokens}` }));
        return;
      }
      seen.push({ path: req.url, authorization: req.headers.authorization });
      const status = answers.shift() ?? 200;
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(status === 200 ? '{"Result":[]}' : '{"Code":"Unauthorized","Message":"no"}');
    });
  });
  await new Promise((resolve) => { server.listen(0, '127.0.0.1', resolve); });
  origin = `http://127.0.0.1:${server.address().port}`;
});
after(async () => {
  server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  seen = [];
  answers = [];
});

/**
 * Runs body in a fresh Node process with createClient, fileStorage, the token file's path
 * (file), the endpoints' origin, and started() (whether this process's core has started) in
 * scope; resolves with what it printed, parsed.
 */
function child(body, file) {
  const code = `
import { createClient, fileStorage, initialize } from ${JSON.stringify(entry)};
import { startedCore } from ${JSON.stringify(coreModule)};
const origin = ${JSON.stringify(origin)};
const file = ${JSON.stringify(file)};
const started = () => startedCore() !== null;
const out = {};
try {
${body}
} catch (err) {
  out.error = { code: err.code, name: err.name, field: err.field, message: err.message };
}
process.stdout.write(JSON.stringify(out));
`;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', code], { timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`child failed: ${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout));
    });
  });
}

const options = 'integrationUrl: origin, clientId: "id-1", clientSecret: "SECRET-1", storage: fileStorage(file)';

/** A token file written by a client that logged in and fetched tables. */
async function loggedIn(name) {
  const file = join(dir, `${name}.json`);
  tokens = 0;
  const out = await child(`
const client = await createClient({ ${options} });
out.status = (await client.fetch('tables')).status;
client.close();`, file);
  assert.equal(out.status, 200);
  seen = [];
  return file;
}

test('the core writes its lease with the state: key, Authorization, valid-until, the URL it resolved', async () => {
  const file = await loggedIn('written');
  const state = JSON.parse(await readFile(file, 'utf8'));
  assert.equal(state.version, 1, 'no new state version');
  assert.equal(state.lease.authorization, `Bearer ${state.access_token}`);
  assert.equal(state.lease.valid_until, state.expires_at - 300_000, 'the refresh margin before expiry');
  assert.deepEqual(state.lease.urls, { tables: `${origin}/rest/v2/tables` });
  assert.equal(typeof state.lease.key, 'string');
  assert.ok(!state.lease.key.includes('SECRET'), 'no secret in the key');
});

test('a stored lease: the first request is sent and answered before the core starts', async () => {
  const file = await loggedIn('early');
  const out = await child(`
const client = await createClient({ ${options} });
out.afterCreate = started();
const res = await client.fetch('tables');
out.status = res.status;
out.afterFetch = started();
out.again = (await client.fetch('tables')).status;
out.afterSecond = started();
client.close();`, file);
  assert.deepEqual(out, { afterCreate: false, status: 200, afterFetch: false, again: 200, afterSecond: false });
  assert.deepEqual(seen, [
    { path: '/rest/v2/tables', authorization: 'Bearer at-1' },
    { path: '/rest/v2/tables', authorization: 'Bearer at-1' },
  ]);
});

test('a 401 to the request sent with the stored lease: the core takes it over, refreshes once and sends again', async () => {
  const file = await loggedIn('refused');
  answers = [401];
  const out = await child(`
const client = await createClient({ ${options} });
const events = [];
client.on((e) => events.push(e.type));
const res = await client.fetch('tables');
out.status = res.status;
out.started = started();
out.events = events;
out.stats = client.stats();
client.close();`, file);
  assert.equal(out.status, 200);
  assert.equal(out.started, true);
  assert.ok(out.events.includes('revoked') && out.events.includes('refresh'), out.events.join());
  assert.deepEqual(seen, [
    { path: '/rest/v2/tables', authorization: 'Bearer at-1' },
    { path: '/oauth/token', grant: 'refresh_token' },
    { path: '/rest/v2/tables', authorization: 'Bearer at-2' },
  ]);
  const state = JSON.parse(await readFile(file, 'utf8'));
  assert.equal(state.lease.authorization, 'Bearer at-2', 'the new state carries the new lease');
});

test('a lease for another configuration is not sent', async () => {
  const file = await loggedIn('other');
  const out = await child(`
const client = await createClient({ integrationUrl: origin, clientId: "id-2", clientSecret: "SECRET-2", storage: fileStorage(file) });
out.afterCreate = started();
out.status = (await client.fetch('tables')).status;
client.close();`, file);
  assert.deepEqual(out, { afterCreate: true, status: 200 });
  assert.deepEqual(seen.map((r) => r.authorization ?? r.grant), ['client_credentials', 'Bearer at-2'], 'logged in as id-2; the stored token was not sent');
});

test('a lease past its valid-until is not sent: the core decides', async () => {
  const file = await loggedIn('late');
  const state = JSON.parse(await readFile(file, 'utf8'));
  const out = await child(`
const client = await createClient({ ${options}, now: () => ${state.lease.valid_until} });
out.afterCreate = started();
out.status = (await client.fetch('tables')).status;
client.close();`, file);
  assert.deepEqual(out, { afterCreate: true, status: 200 });
  assert.deepEqual(seen.map((r) => r.authorization ?? r.grant), ['refresh_token', 'Bearer at-2']);
});

test('a path the lease does not know starts the core, which resolves it', async () => {
  const file = await loggedIn('path');
  const out = await child(`
const client = await createClient({ ${options} });
out.status = (await client.fetch('views')).status;
out.started = started();
client.close();`, file);
  assert.deepEqual(out, { status: 200, started: true });
  assert.deepEqual(seen, [{ path: '/rest/v2/views', authorization: 'Bearer at-1' }]);
});

test('a config error the core finds surfaces at the first call that needs the core, named as before', async () => {
  const file = await loggedIn('config');
  const out = await child(`
const client = await createClient({ integrationUrl: origin, clientId: "id-1", clientSecret: "", storage: fileStorage(file) });
out.status = (await client.fetch('tables')).status;
await client.token();`, file);
  assert.equal(out.status, 200);
  assert.equal(out.error?.code, 'CONFIG_INVALID');
  assert.equal(out.error?.field, 'clientSecret');
  assert.match(out.error.message, /^caspio-auth: option clientSecret:/);
});

test('synchronous methods start the core at once: status(), resolve(), toJSON()', async () => {
  const file = await loggedIn('sync');
  const out = await child(`
const client = await createClient({ ${options} });
out.before = started();
out.leaseValid = client.status().leaseValid;
out.url = client.resolve('tables/Orders');
out.clientId = client.toJSON().clientId;
out.status = (await client.fetch('tables')).status;
client.close();`, file);
  assert.deepEqual(out, { before: false, leaseValid: false, url: `${origin}/rest/v2/tables/Orders`, clientId: 'id-1', status: 200 });
  assert.deepEqual(seen, [{ path: '/rest/v2/tables', authorization: 'Bearer at-1' }]);
});

test('initialize() first: the client is made with its core, as before', async () => {
  const file = await loggedIn('initialized');
  const out = await child(`
await initialize();
const client = await createClient({ ${options} });
out.status = (await client.fetch('tables')).status;
client.close();`, file);
  assert.deepEqual(out, { status: 200 });
  assert.deepEqual(seen, [{ path: '/rest/v2/tables', authorization: 'Bearer at-1' }]);
});

test('a token file without a lease (an older version wrote it) is read by the core', async () => {
  const file = await loggedIn('older');
  const state = JSON.parse(await readFile(file, 'utf8'));
  delete state.lease;
  await writeFile(file, JSON.stringify(state), { mode: 0o600 });
  const out = await child(`
const client = await createClient({ ${options} });
out.afterCreate = started();
out.status = (await client.fetch('tables')).status;
client.close();`, file);
  assert.deepEqual(out, { afterCreate: true, status: 200 });
  assert.deepEqual(seen, [{ path: '/rest/v2/tables', authorization: 'Bearer at-1' }]);
});

test('the command line: a cached token answers the next command, its token file found by the name kept for its options', async () => {
  const home = join(dir, 'cli-home');
  const env = {
    PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: join(home, 'config'),
    CASPIO_INTEGRATION_URL: origin, CASPIO_CLIENT_ID: 'id-1', CASPIO_CLIENT_SECRET: 'SECRET-1',
  };
  const cli = new URL('../../js/cli.js', import.meta.url).pathname;
  const run = () => new Promise((resolve, reject) => {
    execFile(process.execPath, [cli, 'fetch', 'tables'], { env, timeout: 30_000 }, (err, stdout, stderr) => (err ? reject(new Error(stderr)) : resolve(stdout)));
  });
  tokens = 0;
  assert.deepEqual(JSON.parse(await run()), { Result: [] });
  assert.deepEqual(seen.map((r) => r.authorization ?? r.grant), ['client_credentials', 'Bearer at-1']);
  const names = await readdir(join(home, 'config', 'caspio-auth', 'names'));
  assert.equal(names.length, 1);
  const tokenFiles = await readdir(join(home, 'config', 'caspio-auth', 'tokens'));
  assert.deepEqual(tokenFiles, [`${await readFile(join(home, 'config', 'caspio-auth', 'names', names[0]), 'utf8')}.json`]);
  seen = [];
  assert.deepEqual(JSON.parse(await run()), { Result: [] });
  assert.deepEqual(seen, [{ path: '/rest/v2/tables', authorization: 'Bearer at-1' }], 'the stored token, no token request');
});
