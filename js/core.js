// Starts the WebAssembly core once per JS realm and hands out its exports. The runtime
// entry points (node.js, browser.js, workerd.js) differ only in how they get the compiled
// WebAssembly.Module; everything else is shared.
import './wasm_exec.js'; // the Go toolchain's loader, copied by build.sh; defines globalThis.Go
import { CaspioError, makeError } from './errors.js';
import { VERSION } from './version.js';

const HANDSHAKE = '__caspio_auth_init__';

/** @type {Promise<any> | undefined} */
let started;

/**
 * Returns the core's exports, starting the core on first use. A failed start is not
 * remembered, so a later call can try again (after a network error fetching the .wasm, say).
 * @param {() => Promise<WebAssembly.Module>} getModule
 */
export function startCore(getModule) {
  started ??= boot(getModule).catch((err) => {
    started = undefined;
    throw err;
  });
  return started;
}

/** @param {() => Promise<WebAssembly.Module>} getModule */
async function boot(getModule) {
  const module = await getModule();
  if (!(module instanceof WebAssembly.Module)) {
    throw new TypeError('caspio-auth: expected a WebAssembly.Module for caspio.wasm');
  }
  const go = new globalThis.Go();
  // A lower GC target keeps the instance's memory near 9 MiB under load instead of 18 MiB.
  go.env = { GOGC: '25' };
  const instance = await WebAssembly.instantiate(module, go.importObject);
  let exports;
  globalThis[HANDSHAKE] = { makeError, ready: (e) => { exports = e; } };
  try {
    // run() executes Go's main synchronously up to its first block, which is after ready().
    go.run(instance).catch(() => {});
  } finally {
    delete globalThis[HANDSHAKE];
  }
  if (!exports) {
    throw new CaspioError('WASM_START_FAILED', 'caspio-auth: the WebAssembly core did not start');
  }
  if (exports.version !== VERSION) {
    throw new CaspioError('WASM_VERSION_MISMATCH',
      `caspio-auth: caspio.wasm is version ${exports.version}, but this package is ${VERSION}; reinstall caspio-auth or run build.sh again`);
  }
  return exports;
}

/**
 * Calls a core function and throws the error it returns, if any: the core returns errors
 * (it cannot throw across the boundary), as instances of the classes in errors.js.
 * @param {Function} fn
 * @param {...any} args
 */
export function call(fn, ...args) {
  const result = fn(...args);
  if (result instanceof Error) throw result;
  return result;
}
