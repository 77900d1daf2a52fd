// The core started at a Worker's global scope, in workerd through Miniflare: with
// `await initialize()` at the top of the module, and with createClient there (env from
// "cloudflare:workers"). workerd refuses random values at the global scope, which Go's runtime
// asks for as it starts (js/workerd.js). Each Worker reports whether the core had started
// before its first request and whether crypto is the platform's again, then fetches with the
// client.
//
//   node --test tests/workers/global-scope.test.js   (after ./build.sh build)
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Miniflare } from 'miniflare';
import { CLIENT_ID, CLIENT_SECRET, startLoggedSandbox } from './helpers.js';
import { bundleWorker, root } from './js-proxy-helpers.js';

// What the Worker reports besides the answer: at its first request, whether the core had
// started (a client made since makes no new start), and that crypto is the platform's again.
const REPORT = `
function report(startedBefore) {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return { startedBefore, randomUUID: typeof crypto.randomUUID === 'function', random: bytes.some((b) => b !== 0) };
}`;

const WORKERS = {
  initialize: `
import { createClient, initialize, proxyRules } from 'caspio-auth';
await initialize();
let startedAtLoad = false;
proxyRules().then(() => { startedAtLoad = true; }); // settles at once only if the core has started
${REPORT}
let caspio;
export default {
  async fetch(request, env) {
    const seen = report(startedAtLoad);
    caspio ??= createClient({ integrationUrl: env.URL, clientId: env.ID, clientSecret: env.SECRET });
    const res = await (await caspio).fetch('tables');
    return Response.json({ ...seen, status: res.status, tables: (await res.json()).Result });
  },
};`,
  createClient: `
import { env } from 'cloudflare:workers';
import { createClient } from 'caspio-auth';
let made = false;
const caspio = createClient({ integrationUrl: env.URL, clientId: env.ID, clientSecret: env.SECRET });
caspio.then(() => { made = true; });
${REPORT}
export default {
  async fetch() {
    const seen = report(made);
    const res = await (await caspio).fetch('tables');
    return Response.json({ ...seen, status: res.status, tables: (await res.json()).Result });
  },
};`,
};

let sandbox;
let work;
const workers = {};
before(async () => {
  sandbox = await startLoggedSandbox();
  await mkdir(join(root, 'tests', 'artifacts'), { recursive: true });
  work = await mkdtemp(join(root, 'tests', 'artifacts', 'global-scope-'));
  for (const [name, source] of Object.entries(WORKERS)) {
    await writeFile(join(work, `${name}.js`), source);
    const dir = await bundleWorker(join(work, `${name}.js`), join(work, name));
    workers[name] = new Miniflare({
      modulesRoot: dir,
      scriptPath: join(dir, 'index.js'),
      modules: true,
      modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }, { type: 'ESModule', include: ['**/*.js'] }],
      compatibilityDate: '2026-04-01',
      bindings: { URL: sandbox.url, ID: CLIENT_ID, SECRET: CLIENT_SECRET },
    });
    await workers[name].ready;
  }
});
after(async () => {
  for (const mf of Object.values(workers)) await mf.dispose();
  await sandbox?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

for (const [name, what] of [['initialize', '`await initialize()`'], ['createClient', 'createClient']]) {
  test(`${what} at a Worker's global scope starts the core before the first request, and crypto is the platform's after`, async () => {
    for (let i = 0; i < 2; i++) {
      const res = await workers[name].dispatchFetch(`http://worker.test/?n=${i}`);
      const text = await res.text();
      assert.equal(res.status, 200, text);
      assert.deepEqual(JSON.parse(text), { startedBefore: true, randomUUID: true, random: true, status: 200, tables: ['Customers', 'Orders', 'Products'] });
    }
  });
}
