// @ts-check
// caspio-auth for browsers, and the default entry for runtimes with fetch but no other
// condition: loads caspio.wasm next to this file (through the bundler's handling of
// new URL(..., import.meta.url)), or the URL or compiled module given to initialize().
// Tokens are kept in sessionStorage by default (webStorage), shared with the origin's other
// tabs. The API is in index.d.ts; fileStorage needs Node and throws here.
import { createRuntime } from './runtime.js';
import { forClient } from './web-storage.js';

/** @param {{wasmURL?: string | URL, wasmModule?: WebAssembly.Module}} options */
async function loadModule({ wasmURL, wasmModule }) {
  if (wasmModule) return wasmModule;
  const url = wasmURL === undefined ? new URL('./caspio.wasm', import.meta.url) : new URL(wasmURL, import.meta.url);
  const res = await fetch(url);
  if (!res.ok) throw new Error(`caspio-auth: fetching ${url.href} for caspio.wasm answered ${res.status}; serve it, or pass its URL to initialize({wasmURL})`);
  // Streaming compilation needs the application/wasm type; a server that sends another one
  // still works, through the bytes.
  const type = res.headers.get('content-type') ?? '';
  if (typeof WebAssembly.compileStreaming === 'function' && type.split(';')[0].trim().toLowerCase() === 'application/wasm') {
    return WebAssembly.compileStreaming(res);
  }
  return WebAssembly.compile(await res.arrayBuffer());
}

const runtime = createRuntime({
  loadModule,
  // Browsers answer redirect: 'manual' with an opaque response, so redirects are left to
  // the browser, which drops the Authorization header on a cross-origin redirect.
  manualRedirects: false,
});

export const { apiErrorFromResponse, initialize, proxyRules } = runtime;

/**
 * createClient, with webStorage(sessionStorage) as the default storage (memoryStorage()
 * where there is no sessionStorage). A webStorage made without a key gets the client's
 * own, from its token URL and client ID, which only the client knows once it is made.
 * @param {import('./index.js').ClientOptions} options
 * @returns {Promise<import('./index.js').CaspioClient>}
 */
export async function createClient(options) {
  const scoped = typeof options === 'object' && options !== null && !Array.isArray(options) ? forClient(options.storage) : null;
  if (scoped === null) return runtime.createClient(options);
  const client = await runtime.createClient({ ...options, storage: scoped.storage });
  scoped.bind(client.toJSON()); // a new client has not used its storage yet
  return client;
}

export { memoryStorage, webStorageKey } from './storage.js';
export { webStorage } from './web-storage.js';
export { fileStorage } from './no-file-storage.js';
export { kvStorage, brokerStorage, TokenBroker } from './no-workers.js';
export * from './shared.js';
