// caspio-auth for Cloudflare Workers: Workers may not compile WebAssembly from bytes at run
// time, so caspio.wasm is imported as a module (wrangler and miniflare do this for .wasm
// imports). The API is in index.d.ts; fileStorage needs Node and throws here. Tokens shared
// by a deployment's isolates: kvStorage (Workers KV) or brokerStorage (the TokenBroker
// Durable Object, exported here for the Worker to re-export and bind).
import wasmModule from './caspio.wasm';
import { createRuntime } from './runtime.js';

/** @param {{wasmModule?: WebAssembly.Module}} options */
async function loadModule(options) {
  if (options.wasmURL !== undefined) {
    throw new TypeError('caspio-auth: Workers cannot compile WebAssembly fetched at run time; pass initialize({wasmModule}) instead of wasmURL');
  }
  return options.wasmModule ?? wasmModule;
}

// Every request has an I/O context of its own: the core starts synchronously, so that a client
// made at an isolate's first request is ready before the next request runs, and the runner of
// a token request marks it alive, so that another request can take it over if the runner's
// request ends first (docs/design.md, "Concurrency in Workers").
const runtime = createRuntime({ loadModule, manualRedirects: true, requestContexts: true });

export const { apiErrorFromResponse, proxyRules } = runtime;

/**
 * initialize, which may also run at the Worker's global scope (`await initialize()` at the
 * top of the module): Go's runtime then starts while the isolate loads, which counts against
 * the start-up limit instead of the first request's CPU time.
 * @param {{wasmModule?: WebAssembly.Module}} [options]
 */
export function initialize(options) {
  return atStart(() => runtime.initialize(options));
}

/**
 * createClient, which may also run at the global scope (with env from "cloudflare:workers"):
 * the core starts and the options are checked while the isolate loads; storage is first read
 * at the first request.
 * @param {import('./index.js').ClientOptions} options
 */
export function createClient(options) {
  return atStart(() => runtime.createClient(options));
}

/**
 * Runs start. At an isolate's global scope workerd refuses random values (as it does timers
 * and I/O), and Go's runtime reads 32 random bytes as it starts: the seed of its map hashing
 * and scheduling, as nothing in the core draws random numbers. So there, while Go starts,
 * crypto.getRandomValues is one that draws on Math.random, which workerd allows. Go sets no
 * timer while it starts; were it to, workerd would refuse it and the start would fail (a
 * failed start may be tried again, in a request).
 * @template T @param {() => Promise<T>} start @returns {Promise<T>}
 */
async function atStart(start) {
  if (!atGlobalScope()) return start();
  const own = Object.getOwnPropertyDescriptor(globalThis, 'crypto');
  Object.defineProperty(globalThis, 'crypto', { configurable: true, writable: true, value: { getRandomValues: seedBytes } });
  try {
    return await start();
  } finally {
    if (own) Object.defineProperty(globalThis, 'crypto', own);
    else delete globalThis.crypto;
  }
}

/** Whether this runs at the global scope of a Workers isolate: getRandomValues throws there. */
function atGlobalScope() {
  try {
    crypto.getRandomValues(new Uint8Array(1));
    return false;
  } catch {
    return true;
  }
}

/** @param {Uint8Array} bytes */
function seedBytes(bytes) {
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  return bytes;
}

export { memoryStorage, webStorageKey } from './storage.js';
export { fileStorage } from './no-file-storage.js';
export { webStorage } from './no-web-storage.js';
export { kvStorage } from './kv-storage.js';
export { TokenBroker, brokerStorage } from './broker.js';
export * from './shared.js';
