// caspio-auth for Cloudflare Workers: Workers may not compile WebAssembly from bytes at run
// time, so caspio.wasm is imported as a module (wrangler and miniflare do this for .wasm
// imports). The API is in index.d.ts; fileStorage needs Node and throws here.
import wasmModule from './caspio.wasm';
import { createRuntime } from './client.js';

/** @param {{wasmModule?: WebAssembly.Module}} options */
async function loadModule(options) {
  if (options.wasmURL !== undefined) {
    throw new TypeError('caspio-auth: Workers cannot compile WebAssembly fetched at run time; pass initialize({wasmModule}) instead of wasmURL');
  }
  return options.wasmModule ?? wasmModule;
}

export const { createClient, apiErrorFromResponse, initialize } = createRuntime({ loadModule, manualRedirects: true });
export { memoryStorage } from './storage.js';
export { fileStorage } from './no-file-storage.js';
export * from './shared.js';
