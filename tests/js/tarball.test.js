// The package as users get it: `npm pack` of js/, installed into a fresh project, imported
// from an ES module and run through its CLI from node_modules/.bin, against the sandbox.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startSandbox, CLIENT_ID, CLIENT_SECRET } from './helpers/sandbox.js';

const run = promisify(execFile);
const packageDir = fileURLToPath(new URL('../../js/', import.meta.url));

let sandbox;
let project;
let env;

before(async () => {
  sandbox = await startSandbox();
  project = await mkdtemp(join(tmpdir(), 'caspio-tarball-'));
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', project], { cwd: packageDir });
  const [{ filename, files }] = JSON.parse(stdout);
  const packed = files.map((f) => f.path);
  for (const needed of ['caspio.wasm', 'wasm_exec.js', 'index.d.ts', 'package.json', 'node.js', 'cli.js', 'LICENSE']) {
    assert.ok(packed.includes(needed), `the tarball lacks ${needed}: ${packed.join(', ')}`);
  }
  for (const path of packed) {
    assert.ok(!/(^|\/)(test|tests|node_modules)\//.test(path) && !path.endsWith('.test.js'), `the tarball should not ship ${path}`);
  }
  await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'tarball-user', private: true, type: 'module' }));
  await run('npm', ['install', '--no-audit', '--no-fund', '--offline', join(project, filename)], { cwd: project });
  env = {
    ...process.env,
    CASPIO_INTEGRATION_URL: sandbox.url,
    CASPIO_CLIENT_ID: CLIENT_ID,
    CASPIO_CLIENT_SECRET: CLIENT_SECRET,
    XDG_CONFIG_HOME: join(project, 'config'),
  };
});

after(async () => {
  await sandbox?.stop();
  if (project) await rm(project, { recursive: true, force: true });
});

test('an ES module imports the installed package and reads records', async () => {
  await writeFile(join(project, 'app.mjs'), `
import { createClient, memoryStorage, CaspioError, CaspioAPIError } from 'caspio-auth';
const client = await createClient({ integrationUrl: process.env.CASPIO_INTEGRATION_URL, clientId: process.env.CASPIO_CLIENT_ID, clientSecret: process.env.CASPIO_CLIENT_SECRET, storage: memoryStorage() });
const tables = await (await client.fetch('tables')).json();
const page = await (await client.fetch('tables/Orders/records?q.pageSize=10&q.pageNumber=2')).json();
const missing = await client.fetch('tables/Nope/records');
console.log(JSON.stringify({ tables: tables.Result, records: page.Result.length, missing: missing.status,
  errorClass: CaspioAPIError.prototype instanceof CaspioError, stats: client.stats() }));
client.close();
`);
  const { stdout } = await run(process.execPath, ['app.mjs'], { cwd: project, env });
  const out = JSON.parse(stdout);
  assert.deepEqual(out.tables, ['Customers', 'Orders', 'Products']);
  assert.equal(out.records, 10);
  assert.equal(out.missing, 404);
  assert.equal(out.errorClass, true);
  assert.equal(out.stats.tokenRequests.client_credentials, 1);
});

test('the CLI runs from node_modules/.bin and caches its token', async () => {
  const before = await sandbox.stats();
  const cli = join(project, 'node_modules', '.bin', 'caspio-auth');
  const { stdout, stderr } = await run(cli, ['records', 'Orders', '--all', '--format', 'json'], { cwd: project, env });
  assert.equal(JSON.parse(stdout).length, 2500);
  assert.match(stderr, /page/i, 'a progress line for more than one page');
  await run(cli, ['fetch', 'tables'], { cwd: project, env });
  const after = await sandbox.stats();
  assert.equal((after.token_requests.client_credentials ?? 0) - (before.token_requests.client_credentials ?? 0), 1,
    'two runs of the CLI log in once');
  const cached = await readdir(join(project, 'config', 'caspio-auth'));
  assert.ok(cached.length >= 1, 'a token file in the config folder');
});
