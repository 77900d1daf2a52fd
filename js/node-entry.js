// caspio-auth for Node (20 and later): reads caspio.wasm from the package folder, and adds
// fileStorage, which keeps tokens in a file that Go programs using the client package's
// FileStore can share. The API is in index.d.ts.
//
// build.sh bundles this file with the modules it imports into node.js, the package's Node
// entry, so that Node loads a few modules at start-up instead of twenty (about 8 ms). core.js
// and errors.js stay apart (the module that starts the core once per realm, and the error
// classes, one of each for every importer), and with them the toolchain's wasm_exec.js.
import { readFile } from 'node:fs/promises';
import { createRuntime } from './runtime.js';

/** @param {{wasmURL?: string | URL, wasmModule?: WebAssembly.Module}} options */
async function loadModule({ wasmURL, wasmModule }) {
  if (wasmModule) return wasmModule;
  const url = new URL(wasmURL ?? './caspio.wasm', import.meta.url);
  if (url.protocol === 'file:') return WebAssembly.compile(await readFile(url));
  const res = await fetch(url);
  if (!res.ok) throw new Error(`caspio-auth: fetching ${url.href} for caspio.wasm answered ${res.status}`);
  return WebAssembly.compile(await res.arrayBuffer());
}

/**
 * The module compiled synchronously, for a client that started from a stored lease and is
 * asked at once for what only the core knows (status(), resolve()).
 * @param {{wasmURL?: string | URL, wasmModule?: WebAssembly.Module}} options
 */
function loadModuleSync({ wasmURL, wasmModule }) {
  if (wasmModule) return wasmModule;
  const url = new URL(wasmURL ?? './caspio.wasm', import.meta.url);
  if (url.protocol !== 'file:') throw new Error(`caspio-auth: caspio.wasm at ${url.href} cannot be read synchronously; call initialize() and await it before using the client`);
  // node:fs as fileStorage's peek gets it (only a client made from a stored lease calls this).
  return new WebAssembly.Module(/** @type {any} */ (process).getBuiltinModule('node:fs').readFileSync(url));
}

export const { createClient, apiErrorFromResponse, initialize, proxyRules } = createRuntime({ loadModule, loadModuleSync, manualRedirects: true });
export { memoryStorage, webStorageKey } from './storage.js';
export { fileStorage } from './file-storage.js';
export { webStorage } from './no-web-storage.js';
export { kvStorage, brokerStorage, TokenBroker } from './no-workers.js';
export * from './shared.js';
