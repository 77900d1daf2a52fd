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
export const { createClient, apiErrorFromResponse, initialize, proxyRules } = createRuntime({ loadModule, manualRedirects: true, requestContexts: true });
export { memoryStorage, webStorageKey } from './storage.js';
export { fileStorage } from './no-file-storage.js';
export { webStorage } from './no-web-storage.js';
export { kvStorage } from './kv-storage.js';
export { TokenBroker, brokerStorage } from './broker.js';
export * from './shared.js';
