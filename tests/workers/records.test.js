// Records in workerd against the sandbox, through the package as a Worker bundles it: every
// read its own request to the Worker, the client shared by the isolate as README.md's Workers
// example shares it. All 2,500 Orders in key order on v2 and v3, a 429 mid-read recovered, a
// 401 mid-read refreshed once, and a break that fetches no further page.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Miniflare } from 'miniflare';
import { CLIENT_ID, CLIENT_SECRET, startLoggedSandbox } from './helpers.js';
import { bundleWorker, root } from './js-proxy-helpers.js';

const WORKER = `
import { createClient } from 'caspio-auth';

const clients = {};

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const version = url.searchParams.get('v') ?? 'v2';
    clients[version] ??= createClient({ integrationUrl: env.CASPIO_INTEGRATION_URL, clientId: env.CASPIO_CLIENT_ID, clientSecret: env.CASPIO_CLIENT_SECRET, apiVersion: version });
    const caspio = await clients[version];
    if (url.pathname === '/all') {
      const keys = [];
      for await (const row of caspio.records('Orders')) keys.push(row.PK_ID);
      return Response.json(keys);
    }
    if (url.pathname === '/shipped') return Response.json((await caspio.records('Orders', { where: "Status = 'Shipped'" }).toArray()).length);
    if (url.pathname === '/break') {
      let i = 0;
      for await (const row of caspio.records('Orders', { pageSize: 100 })) if (row && ++i === 150) break;
      return Response.json(i);
    }
    return new Response('not found', { status: 404 });
  },
};
`;

let sandbox;
let work;
let mf;
before(async () => {
  sandbox = await startLoggedSandbox();
  await mkdir(join(root, 'tests', 'artifacts'), { recursive: true });
  work = await mkdtemp(join(root, 'tests', 'artifacts', 'records-'));
  await writeFile(join(work, 'worker.js'), WORKER);
  const dir = await bundleWorker(join(work, 'worker.js'), join(work, 'bundle'));
  mf = new Miniflare({
    modulesRoot: dir,
    scriptPath: join(dir, 'index.js'),
    modules: true,
    modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }, { type: 'ESModule', include: ['**/*.js'] }],
    compatibilityDate: '2026-04-01',
    bindings: { CASPIO_INTEGRATION_URL: sandbox.url, CASPIO_CLIENT_ID: CLIENT_ID, CASPIO_CLIENT_SECRET: CLIENT_SECRET },
  });
  await mf.ready;
});
after(async () => {
  await mf?.dispose();
  await sandbox?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

const get = async (path) => {
  const res = await mf.dispatchFetch(`http://worker.test${path}`);
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return JSON.parse(text);
};

for (const version of ['v2', 'v3']) {
  test(`records in workerd, ${version}: all 2,500 Orders, every PK_ID once, in order, in 3 requests`, async () => {
    const before = (await sandbox.stats()).resource_requests;
    const keys = await get(`/all?v=${version}`);
    assert.equal(keys.length, 2500);
    assert.ok(keys.every((k, i) => k === i + 1), 'every PK_ID once, in order');
    assert.equal((await sandbox.stats()).resource_requests - before, 3);
  });
}

test('records in workerd: a 429 mid-read is sent again after its Retry-After; a 401 mid-read refreshes once', async () => {
  await sandbox.fault({ route: '/rest/v2/tables/Orders/records', status: 429, retry_after: '0' });
  assert.ok(await get('/shipped') > 0);
  const before = (await sandbox.stats()).token_requests;
  await sandbox.advance('25h'); // the access token expires at Caspio: the next page gets a 401
  assert.ok(await get('/shipped') > 0);
  const after = (await sandbox.stats()).token_requests;
  assert.equal((after.refresh_token ?? 0) - (before.refresh_token ?? 0), 1, 'one refresh');
  assert.equal(after.client_credentials ?? 0, before.client_credentials ?? 0, 'no login');
});

test('records in workerd: a break after 150 rows fetches no further page', async () => {
  const start = (await sandbox.stats()).resource_requests;
  assert.equal(await get('/break'), 150);
  assert.equal((await sandbox.stats()).resource_requests - start, 2);
});
