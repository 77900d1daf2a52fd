// The test pages' script, loaded unbundled (through the import map of unbundled.html or
// octet.html) and bundled by esbuild (bundled.html loads /bundle/app.js). It starts the
// core as the query asks, creates a client of the sandbox and, unless told not to, fetches
// `tables`; globalThis.report resolves with what happened. The tests drive the page further
// through globalThis.caspio and globalThis.client.
//
// Query: sandbox (its URL), id, secret, storage (session: the default storage | local |
// memory), key (webStorage's key), wasm (initialize({wasmURL})), module (a URL compiled
// here for initialize({wasmModule})), margin (refreshMargin), fetch=0 (no request).
import * as caspio from 'caspio-auth';

const q = new URLSearchParams(location.search);
globalThis.caspio = caspio;
globalThis.events = [];

async function run() {
  if (q.has('wasm')) await caspio.initialize({ wasmURL: q.get('wasm') });
  if (q.has('module')) await caspio.initialize({ wasmModule: await WebAssembly.compileStreaming(fetch(q.get('module'))) });
  const storages = {
    session: () => undefined, // createClient's default: webStorage(sessionStorage)
    local: () => caspio.webStorage(localStorage, q.get('key') ?? undefined),
    memory: () => caspio.memoryStorage(),
  };
  const client = await caspio.createClient({
    integrationUrl: q.get('sandbox'),
    clientId: q.get('id'),
    clientSecret: q.get('secret'),
    storage: storages[q.get('storage') ?? 'session'](),
    refreshMargin: q.has('margin') ? Number(q.get('margin')) : undefined,
    onEvent: (e) => globalThis.events.push(e.type),
  });
  globalThis.client = client;
  if (q.get('fetch') === '0') return { ready: true };
  const res = await client.fetch('tables');
  const body = await res.json();
  return { status: res.status, tables: body.Result, token: (await client.token()).accessToken, stats: client.stats() };
}

globalThis.report = run().catch((err) => ({ error: `${err?.name}: ${err?.message}`, code: err?.code }));
