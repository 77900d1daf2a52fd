// Shared by the JS Worker suites (js-proxy.test.js, package.test.js): bundling a Worker as
// wrangler does, and starting the JS proxy in Miniflare as several isolates sharing a KV
// namespace or a TokenBroker.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { Miniflare } from 'miniflare';
import { newWorkerdPid, workerdPids } from './helpers.js';

export const root = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Bundles a Worker the way wrangler does: esbuild with the conditions workerd, worker and
 * browser, cloudflare:* left to the runtime, and .wasm imports kept as module imports of a
 * copied file (which Miniflare's CompiledWasm rule, like wrangler's, loads as a
 * WebAssembly.Module). Returns the folder holding index.js and the .wasm.
 * @param {string} entry
 * @param {string} outdir
 */
export async function bundleWorker(entry, outdir) {
  await build({
    entryPoints: { index: entry },
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    conditions: ['workerd', 'worker', 'browser'],
    external: ['cloudflare:*'],
    loader: { '.wasm': 'copy' },
    outdir,
    logLevel: 'error',
  });
  return outdir;
}

/** Reads a broker's state from outside, as the conformance suite's leak check needs. */
export const BROKER_PROBE = `export default { async fetch(request, env) {
  const name = new URL(request.url).searchParams.get('name');
  return Response.json(await env.CASPIO_BROKER.get(env.CASPIO_BROKER.idFromName(name)).getState());
} };`;

/**
 * Starts the bundled proxy in Miniflare as `isolates` Workers (each its own isolate) that
 * share one token store: the KV namespace CASPIO_TOKENS (store 'kv') or the TokenBroker
 * bound as CASPIO_BROKER, defined by the first Worker (store 'broker'), persisted in
 * kvPersist so that a restart finds it. Output of every Worker is captured.
 * @param {{dir: string, bindings: Record<string, string>, kvPersist: string, store?: 'kv' | 'broker', isolates?: number}} options
 *   dir: the bundle, as bundleWorker made it
 */
export async function startJsProxy({ dir, bindings, kvPersist, store = 'kv', isolates = 1 }) {
  let output = '';
  const broker = { className: 'TokenBroker', scriptName: 'proxy-0' };
  const worker = (i) => ({
    name: `proxy-${i}`,
    modulesRoot: dir,
    scriptPath: join(dir, 'index.js'),
    modules: true,
    modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }, { type: 'ESModule', include: ['**/*.js'] }],
    compatibilityDate: '2026-04-01',
    bindings,
    ...(store === 'kv' ? { kvNamespaces: { CASPIO_TOKENS: 'caspio-tokens' } } : { durableObjects: { CASPIO_BROKER: broker } }),
  });
  const workers = Array.from({ length: isolates }, (_, i) => worker(i));
  if (store === 'broker') {
    workers.push({ name: 'broker-probe', modules: true, script: BROKER_PROBE, compatibilityDate: '2026-04-01', durableObjects: { CASPIO_BROKER: broker } });
  }
  const before = await workerdPids();
  const mf = new Miniflare({
    workers,
    kvPersist: join(kvPersist, 'kv'),
    durableObjectsPersist: join(kvPersist, 'do'),
    handleRuntimeStdio(stdout, stderr) {
      stdout.setEncoding('utf8').on('data', (d) => { output += d; });
      stderr.setEncoding('utf8').on('data', (d) => { output += d; });
    },
  });
  const url = await mf.ready;
  const fetchers = await Promise.all(Array.from({ length: isolates }, (_, i) => mf.getWorker(`proxy-${i}`)));
  const stateKey = `caspio-token:${bindings.CASPIO_CLIENT_ID}`;
  const brokerState = async () => {
    const probe = await mf.getWorker('broker-probe');
    return (await probe.fetch(`http://probe/?name=${encodeURIComponent(stateKey)}`)).text();
  };
  return {
    url,
    mf,
    /** The workerd process, for its memory. */
    pid: await newWorkerdPid(before),
    dispatchFetch: (input, init) => mf.dispatchFetch(input, init),
    /** A request to the proxy's isolate i. */
    fetchIsolate: (i, input, init) => fetchers[i].fetch(input, init),
    kv: async () => {
      if (store === 'kv') return mf.getKVNamespace('CASPIO_TOKENS', 'proxy-0');
      return {
        list: async () => ({ keys: (await brokerState()) === 'null' ? [] : [{ name: stateKey }] }),
        get: async () => { const text = await brokerState(); return text === 'null' ? null : text; },
      };
    },
    logs: () => output,
    dispose: () => mf.dispose(),
  };
}

export /** Rejects when promise takes longer than ms: a request that hangs fails the test instead. */
function within(ms, promise, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} hung: no answer within ${ms} ms`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

/** JSON with // comments (wrangler.jsonc), parsed: comments outside strings are dropped. */
export function parseJSONC(text) {
  let out = '';
  for (let i = 0, inString = false; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      out += c;
      if (c === '\\') out += text[++i];
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else {
      out += c;
    }
  }
  return JSON.parse(out);
}
