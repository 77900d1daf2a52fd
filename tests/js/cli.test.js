// The caspio-auth command line against the sandbox, run as a user runs it: a child process
// with its configuration in the environment.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSandbox, CLIENT_ID, CLIENT_SECRET } from './helpers/sandbox.js';

const cli = fileURLToPath(new URL('../../js/cli.js', import.meta.url));

let sandbox;
let home;
let env;

before(async () => {
  sandbox = await startSandbox();
  home = await mkdtemp(join(tmpdir(), 'caspio-cli-'));
  env = {
    PATH: process.env.PATH,
    HOME: home,
    XDG_CONFIG_HOME: join(home, 'config'),
    CASPIO_INTEGRATION_URL: sandbox.url,
    CASPIO_CLIENT_ID: CLIENT_ID,
    CASPIO_CLIENT_SECRET: CLIENT_SECRET,
  };
});
after(async () => {
  await sandbox?.stop();
  if (home) await rm(home, { recursive: true, force: true });
});

/** Runs the CLI; resolves with {code, stdout, stderr} whatever the exit status. */
function run(args, extraEnv = {}, options = {}) {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [cli, ...args], { env: { ...env, ...extraEnv }, maxBuffer: 64 << 20, ...options }, (err, stdout, stderr) => {
      assert.ok(!stderr.includes(CLIENT_SECRET), 'the secret is on stderr');
      resolve({ code: err ? err.code : 0, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

test('token prints a token, caches it in a 0600 file, and a second run does not log in', async () => {
  await sandbox.reset();
  const first = await run(['token']);
  assert.equal(first.code, 0, first.stderr);
  const token = first.stdout.trim();
  assert.match(token, /^\S{20,}$/);

  const second = await run(['token', '--json']);
  assert.equal(second.code, 0, second.stderr);
  const info = JSON.parse(second.stdout);
  assert.equal(info.accessToken, token, 'the cached token');
  assert.equal(info.tokenType, 'bearer');
  assert.equal(info.logins, 1);
  assert.ok(Date.parse(info.expiresAt) > Date.now());
  assert.deepEqual((await sandbox.stats()).token_requests, { client_credentials: 1 });

  const folder = join(env.XDG_CONFIG_HOME, 'caspio-auth', 'tokens');
  const files = await readdir(folder);
  assert.equal(files.length, 1);
  assert.match(files[0], /^[0-9a-f]{32}\.json$/);
  assert.equal((await stat(join(folder, files[0]))).mode & 0o777, 0o600);

  // Another client ID gets a file of its own (and here fails to log in: exit 3).
  const other = await run(['token', '--client-id', 'someone-else']);
  assert.equal(other.code, 3);
  assert.match(other.stderr, /invalid_client/);
  assert.equal((await readdir(folder)).length, 2);
});

test('fetch prints the response; an API error exits 4 with Code, Message and RequestId', async () => {
  const ok = await run(['fetch', 'tables']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(JSON.parse(ok.stdout), { Result: ['Customers', 'Orders', 'Products'] });

  const missing = await run(['fetch', 'tables/NoSuchTable/records']);
  assert.equal(missing.code, 4);
  assert.equal(missing.stdout, '');
  assert.match(missing.stderr, /API answered 404 ObjectNotFound/);
  assert.match(missing.stderr, /^ {2}Code: ObjectNotFound$/m);
  assert.match(missing.stderr, /^ {2}Message: .+$/m);
  assert.match(missing.stderr, /^ {2}RequestId: \S+$/m);
});

test('fetch -X -d -H sends a body, from the argument, a file or stdin', async () => {
  const record = (product) => JSON.stringify({ CustomerID: 7, Product: product, Quantity: 1, Total: 3, Status: 'Pending' });
  const posted = await run(['fetch', '-X', 'POST', '-d', record('CLI Arg Mug'), '-H', 'Accept: application/json', 'tables/Orders/records']);
  assert.equal(posted.code, 0, posted.stderr);
  const file = join(home, 'record.json');
  await writeFile(file, record('CLI File Mug'));
  assert.equal((await run(['fetch', '-d', `@${file}`, 'tables/Orders/records'])).code, 0, 'POST is implied by -d');
  assert.equal((await run(['fetch', '-d', '@-', 'tables/Orders/records'], {}, { input: record('CLI Stdin Mug') })).code, 0);
  const found = await run(['fetch', `tables/Orders/records?q.where=CustomerID = 7 AND Product LIKE 'CLI%'`]);
  assert.deepEqual(JSON.parse(found.stdout).Result.map((r) => r.Product).sort(), ['CLI Arg Mug', 'CLI File Mug', 'CLI Stdin Mug']);

  const bad = await run(['fetch', '-X', 'POST', '-d', '{"NoSuchField": 1}', 'tables/Orders/records']);
  assert.equal(bad.code, 4);
  assert.match(bad.stderr, /Code: \w+/);
});

test('records --all pages through every record, with progress on stderr', async () => {
  await sandbox.reset(); // the seeded 2,500 orders (the cached token is refused now: a new login)
  const jsonl = await run(['records', 'Orders', '--all']);
  assert.equal(jsonl.code, 0, jsonl.stderr);
  const lines = jsonl.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 2500);
  assert.equal(new Set(lines.map((l) => JSON.parse(l).PK_ID)).size, 2500);
  assert.match(jsonl.stderr, /page 2, 2000 records so far/);
  assert.match(jsonl.stderr, /2500 records in 3 pages/);

  const json = await run(['records', 'Orders', '--all', '--format', 'json', '--select', 'PK_ID,Status', '--order-by', 'PK_ID DESC']);
  assert.equal(json.code, 0, json.stderr);
  const records = JSON.parse(json.stdout);
  assert.ok(Array.isArray(records));
  assert.equal(records.length, 2500);
  assert.deepEqual(Object.keys(records[0]).sort(), ['PK_ID', 'Status']);
  assert.equal(records[0].PK_ID, 2500);
});

test('records --where and --limit; one page prints no progress', async () => {
  const some = await run(['records', 'Orders', '--where', "Status = 'Pending'", '--limit', '7']);
  assert.equal(some.code, 0, some.stderr);
  const rows = some.stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
  assert.equal(rows.length, 7);
  assert.ok(rows.every((r) => r.Status === 'Pending'));
  assert.equal(some.stderr, '');

  const capped = await run(['records', 'Orders', '--all', '--limit', '1500']);
  assert.equal(capped.stdout.trimEnd().split('\n').length, 1500);

  const none = await run(['records', 'Orders', '--where', "Status = 'NoSuchStatus'", '--format', 'json']);
  assert.deepEqual(JSON.parse(none.stdout), []);
});

test('usage errors exit 2, quoting what was typed where it cannot be a credential', async () => {
  const cases = [
    [[], /Usage:/],
    [['frobnicate'], /unknown command "frobnicate"; the commands are token, fetch and records/],
    [['recrods', 'Orders'], /unknown command "recrods" \(did you mean records\?\)/],
    [['records'], /records takes one TABLE/],
    [['records', 'Orders', '--wher', 'x'], /records: unknown option "--wher" \(did you mean --where\?\) \(see caspio-auth records --help\)/],
    [['records', 'Orders', '--format', 'xml'], /--format: use jsonl or json, not "xml"/],
    [['records', 'Orders', '--limit', 'ten'], /--limit: expected a whole number of 1 or more, got "ten"/],
    [['records', 'Orders', '--limit', '5000'], /add --all/],
    [['fetch'], /fetch takes one PATH/],
    [['fetch', '-X', 'G/T', 'tables'], /-X: expected a method such as GET, POST, PUT or DELETE, got "G\/T"/],
    [['fetch', '-H', 'no-colon', 'tables'], /expected 'Name: value'/],
    [['token', '--bogus'], /token: unknown option "--bogus"/],
    [['token', '--jsn'], /token: unknown option "--jsn" \(did you mean --json\?\)/],
    [['token', '--client-ib', 'x'], /unknown option "--client-ib" \(did you mean --client-id\?\)/],
    [['fetch', 'https://elsewhere.example/rest/v2/tables'], /not on the resource endpoint/],
  ];
  for (const [args, message] of cases) {
    const r = await run(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stdout + r.stderr, message, args.join(' '));
  }
});

test('configuration errors quote enumerated values and name the options', async () => {
  const r = await run(['token', '--api-version', 'v4']);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /option apiVersion: is not a Caspio REST API version \("v4"\); use "v2" or "v3"/);
  const none = await run(['token'], { CASPIO_INTEGRATION_URL: '' });
  assert.equal(none.code, 3, none.stderr);
  assert.match(none.stderr, /option account: no endpoint is configured; set account \(e\.g\. "c1abc123"\), integrationUrl, or tokenUrl and resourceUrl/);
});

test('usage and configuration errors never show a value that may be a credential', async () => {
  const token = 'Zq8vKx1mN0pQ';
  const long = `${token}${token}${token}/+a`; // longer than any name, as Caspio's secrets are
  const usage = [
    [['fetch', '-H', `Authorization Bearer ${token}`, 'tables'], /-H \(header 1\): expected 'Name: value', but it has no ":" \(33 characters: letters, digits and spaces\)/],
    [['fetch', '-H', `Authorization Bearer ${token}: x`, 'tables'], /-H \(header 1\): the name has a space at character 14 of 33/],
    [['fetch', '-H', 'Accept: application/json', '-H', `${token}`, 'tables'], /-H \(header 2\)/],
    [['fetch', '-X', `GET ${token}=`, 'tables'], /-X: expected a method/],
    [['token', token], /token takes no arguments, but was given one \(12 characters: letters and digits\)/],
    [[long], /unknown command \(39 characters: letters, digits and punctuation\)/],
    [['token', `--json=${token}`], /--json/],
    [['token', `--client-secrt=${token}`], /unknown option "--client-secrt"/],
    [['records', 'Orders', '--format', long], /--format: use jsonl or json, not 39 characters/],
    [['records', 'Orders', '--limit', `${token}+`], /--limit: expected a whole number of 1 or more, got 13 characters/],
    [['records', 'Orders', '--where', `${token}'`, 'x'], /records takes one TABLE/],
    [['fetch', '-d', `@/nonexistent/${token}`, 'tables'], /-d @FILE: no such file/],
  ];
  for (const [args, message] of usage) {
    const r = await run(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
    assert.ok(!r.stderr.includes(token) && !r.stderr.includes(token.slice(0, 6)), `${args.join(' ')} shows the argument: ${r.stderr}`);
  }
  const config = [
    [['token', '--account', `${token}-1`], /option account: is not a Caspio account ID/],
    [['token', '--api-version', long], /option apiVersion: is not a Caspio REST API version \(39 characters: letters, digits and punctuation\)/],
    [['token', '--credentials', long], /option credentials:/],
    [['token', '--client-id', `${token} x`], /option clientId: has a space at character 13 of 14/],
    [['token', '--integration-url', `https://id-1:${token.slice(0, 6)}/${token.slice(6)}@c1abc123.caspio.com`], /option integrationUrl: has "@" at character/],
    [['token', '--token-url', token, '--resource-url', 'https://c1abc123.caspio.com/rest/v2'], /option tokenUrl: is not an absolute URL/],
  ];
  for (const [args, message] of config) {
    // The flag that names another endpoint stands alone (only one way may be configured).
    const endpointFlag = args.some((a) => ['--account', '--integration-url', '--token-url'].includes(a));
    const r = await run(args, endpointFlag ? { CASPIO_INTEGRATION_URL: '' } : {});
    assert.equal(r.code, 3, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
    assert.ok(!r.stderr.toLowerCase().includes(token.slice(0, 6).toLowerCase()), `${args.join(' ')} shows the value: ${r.stderr}`);
    assert.ok(!r.stderr.includes(token.slice(6)), `${args.join(' ')} shows the value: ${r.stderr}`);
  }
});

test('a closed standard output ends the command quietly', async () => {
  // 2,500 records are far more than a pipe holds: the reader closes after the first chunk,
  // and the next write fails with EPIPE while the command is still paging.
  const child = spawn(process.execPath, [cli, 'records', 'Orders', '--all'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  let first = '';
  await new Promise((resolve) => child.stdout.once('data', (d) => { first = String(d); resolve(); }));
  child.stdout.destroy();
  const code = await new Promise((resolve) => child.on('close', (c) => resolve(c)));
  assert.match(first, /^\{"PK_ID"/);
  assert.equal(code, 0, stderr);
  assert.doesNotMatch(stderr, /EPIPE|Error|at /, 'no crash and no error message');
});

test('the client secret is never taken from a flag', async () => {
  const r = await run(['token', '--client-secret=flag-secret-123']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /CASPIO_CLIENT_SECRET only/);
  assert.ok(!r.stderr.includes('flag-secret-123'));
});

test('authentication and configuration errors exit 3, without the secret', async () => {
  const wrong = await run(['token', '--token-file', join(home, 'wrong.json')], { CASPIO_CLIENT_SECRET: 'WRONG-SECRET-987' });
  assert.equal(wrong.code, 3);
  assert.match(wrong.stderr, /invalid_client/);
  assert.ok(!wrong.stderr.includes('WRONG-SECRET-987'));

  const unconfigured = await run(['token'], { CASPIO_INTEGRATION_URL: '', CASPIO_CLIENT_SECRET: '' });
  assert.equal(unconfigured.code, 3);
  assert.match(unconfigured.stderr, /no endpoint is configured/);

  const noSecret = await run(['token'], { CASPIO_CLIENT_SECRET: '' });
  assert.equal(noSecret.code, 3);
  assert.match(noSecret.stderr, /clientSecret: is empty/);

  const badVersion = await run(['fetch', '--api-version', 'v9', 'tables']);
  assert.equal(badVersion.code, 3);
  assert.match(badVersion.stderr, /apiVersion/);
});

test('--help for each command', async () => {
  for (const args of [['--help'], ['token', '--help'], ['fetch', '--help'], ['records', '-h']]) {
    const r = await run(args);
    assert.equal(r.code, 0, args.join(' '));
    assert.match(r.stdout, /Usage: caspio-auth|Usage:\n {2}caspio-auth/);
    assert.match(r.stdout, /CASPIO_CLIENT_SECRET/);
  }
  assert.match((await run(['records', '--help'])).stdout, /--where EXPR/);
  assert.match((await run(['fetch', '--help'])).stdout, /-X, --request METHOD/);
});

test('other failures exit 1', async () => {
  await sandbox.fault({ route: '/rest/v2/tables/Orders/records', status: 200, body: '{"Unexpected": true}' });
  const r = await run(['records', 'Orders']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /no Result array/);
});
