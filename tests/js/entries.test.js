// The package's entry points: each exports what index.d.ts declares, the browser and
// Workers entries import no node: module, and the browser entry's loader works (here in
// Node, fetching caspio.wasm from a local server as a browser would).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { readFile, readdir, stat } from 'node:fs/promises';
import { startSandbox } from './helpers/sandbox.js';
import { startRecorder } from './helpers/recorder.js';

const js = new URL('../../js/', import.meta.url);

/** The names index.d.ts exports as values. */
async function declaredValues() {
  const dts = await readFile(new URL('index.d.ts', js), 'utf8');
  return [...dts.matchAll(/^export declare (?:const|function|class) (\w+)/gm)].map((m) => m[1]).sort();
}

/** The module specifiers an entry loads, following relative imports. */
async function importGraph(entry, seen = new Set()) {
  const url = new URL(entry, js);
  if (seen.has(url.href)) return seen;
  seen.add(url.href);
  if (!url.pathname.endsWith('.js')) return seen; // caspio.wasm
  const source = await readFile(url, 'utf8');
  // import ... from '...', export ... from '...', and import '...' (possibly over several lines)
  for (const [, spec] of source.matchAll(/^(?:import|export)\b[^;]*?'([^']+)';/gm)) {
    if (spec.startsWith('.')) await importGraph(new URL(spec, url).href.slice(js.href.length), seen);
    else seen.add(spec);
  }
  return seen;
}

test('node.js and browser.js export exactly what index.d.ts declares', async () => {
  const declared = await declaredValues();
  for (const entry of ['node.js', 'browser.js']) {
    const exported = Object.keys(await import(new URL(entry, js))).sort();
    assert.deepEqual(exported, declared, entry);
  }
  const workerd = await readFile(new URL('workerd.js', js), 'utf8');
  for (const name of declared) {
    assert.ok(workerd.includes(name) || ['CaspioError', 'CaspioConfigError', 'CaspioOAuthError', 'CaspioAPIError', 'CaspioResponseError', 'CaspioStateError', 'CaspioURLError', 'CaspioTokenError', 'CaspioRedirectError', 'VERSION'].includes(name), `workerd.js lacks ${name}`);
  }
  assert.match(workerd, /export \* from '\.\/shared\.js'/);
});

test('the browser and Workers entries import no node: module; package.json maps them', async () => {
  for (const entry of ['browser.js', 'workerd.js']) {
    const graph = [...await importGraph(entry)];
    assert.deepEqual(graph.filter((s) => s.startsWith('node:')), [], entry);
  }
  const graph = [...await importGraph('workerd.js')];
  assert.ok(graph.some((s) => s.endsWith('/caspio.wasm')), 'workerd.js imports the .wasm as a module');

  const pkg = JSON.parse(await readFile(new URL('package.json', js), 'utf8'));
  const root = pkg.exports['.'];
  assert.equal(Object.keys(root)[0], 'types');
  assert.deepEqual(root, { types: './index.d.ts', workerd: './workerd.js', node: './node.js', browser: './browser.js', default: './browser.js' });
  const version = (await import(new URL('version.js', js))).VERSION;
  assert.equal(pkg.version, version);
  for (const file of pkg.files) await stat(new URL(file, js)).catch(() => assert.fail(`package.json lists ${file}, which is missing`));
});

test('caspio-auth/broker: the TokenBroker and brokerStorage without the core, for a Worker that only defines the broker', async () => {
  const pkg = JSON.parse(await readFile(new URL('package.json', js), 'utf8'));
  assert.deepEqual(pkg.exports['./broker'], { types: './broker.d.ts', workerd: './broker.js', default: './no-workers.js' });
  const graph = [...await importGraph('broker.js')];
  assert.deepEqual(graph.filter((s) => s.endsWith('/caspio.wasm') || s.endsWith('/core.js') || s.startsWith('node:')), [], 'no core, no node: module');
  assert.ok(graph.some((s) => s.endsWith('/broker-http.js')) && graph.some((s) => s.endsWith('/broker-storage.js')));
  const elsewhere = await import(new URL('no-workers.js', js));
  assert.throws(() => new elsewhere.TokenBroker(), /TokenBroker is a Durable Object class/);
});

test('fileStorage throws with the fix outside Node', async () => {
  const browser = await import(new URL('browser.js', js));
  assert.throws(() => browser.fileStorage('/tmp/x.json'), /fileStorage needs Node/);
});

let sandbox;
let wasmServer;
let wasmRequests = 0;
before(async () => {
  sandbox = await startSandbox();
  const wasm = await readFile(new URL('caspio.wasm', js));
  wasmServer = createServer((req, res) => {
    wasmRequests++;
    res.writeHead(200, { 'Content-Type': 'application/wasm' });
    res.end(wasm);
  }).listen(0, '127.0.0.1');
  await once(wasmServer, 'listening');
});
after(async () => {
  await sandbox?.stop();
  wasmServer?.close();
});

test('the browser entry loads caspio.wasm from a URL (streaming) and works', async () => {
  const browser = await import(new URL('browser.js', js));
  await assert.rejects(browser.initialize({ wasmUrl: 'x' }), /unknown initialize option wasmUrl/);
  await browser.initialize({ wasmURL: `http://127.0.0.1:${wasmServer.address().port}/caspio.wasm` });
  assert.equal(wasmRequests, 1);
  await assert.rejects(browser.initialize(), /initialize\(\) was called after the core started/);

  const client = await browser.createClient(sandbox.options());
  const res = await client.fetch('tables');
  assert.equal(res.status, 200);
  assert.equal((await client.token()).logins, 1);

  // The browser entry leaves redirects to the platform, which drops the token across origins.
  const elsewhere = await startRecorder();
  try {
    await sandbox.fault({ route: '/rest/v2/tables', status: 302, location: `${elsewhere.url}/landing` });
    assert.equal((await client.fetch('tables')).status, 200);
    assert.equal(elsewhere.requests[0].headers.authorization, undefined);
  } finally {
    await elsewhere.close();
  }
  client.close();
});

test('js/node.js, the bundled Node entry, is newer than every module it may hold', async () => {
  // The Node suites import the bundle: after an edit of a module, a stale bundle would run
  // the old code. ./build.sh build (which ./build.sh test runs first) makes it again.
  const built = (await stat(new URL('node.js', js))).mtimeMs;
  for (const name of await readdir(js)) {
    if (!name.endsWith('.js') || name === 'node.js') continue;
    const changed = (await stat(new URL(name, js))).mtimeMs;
    assert.ok(changed <= built, `js/${name} changed after js/node.js was bundled: run ./build.sh build`);
  }
});
