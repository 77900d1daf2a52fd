// @ts-check
// Starts the WebAssembly core once per JS realm and hands out its exports (wasm/main.go).
import { saved } from './globals.js'; // first: what wasm_exec.js is about to change
import './wasm_exec.js'; // the Go toolchain's loader, copied by build.sh
import { CaspioError, fromCore } from './errors.js';
import { VERSION } from './version.js';

/** @type {any} */
const Go = globalThis.Go;
for (const [name, before] of Object.entries(saved)) {
  if (before) Object.defineProperty(globalThis, name, before);
  else delete globalThis[name];
}

/** @type {Promise<any> | undefined} */
let started;

/**
 * The core's exports, started on first use; a failed start is forgotten, to be tried again.
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
  if (!(module instanceof WebAssembly.Module)) throw new TypeError('caspio-auth: expected a WebAssembly.Module for caspio.wasm');
  const go = new Go();
  go.env = { GOGC: '25' }; // keeps the instance near 9 MiB under load instead of 18 MiB
  const instance = await WebAssembly.instantiate(module, go.importObject);
  let exports;
  // The handshake: Go's main calls ready(exports) before its first block, that is before
  // run() returns; makeError turns the errors it returns into this package's classes.
  globalThis.__caspio_auth_init__ = { makeError: fromCore, ready: (e) => { exports = e; } };
  try {
    go.run(instance).catch(() => {});
  } finally {
    delete globalThis.__caspio_auth_init__;
  }
  if (!exports) throw new CaspioError('WASM_START_FAILED', 'caspio-auth: the WebAssembly core did not start');
  if (exports.version !== VERSION) {
    throw new CaspioError('WASM_VERSION_MISMATCH', `caspio-auth: caspio.wasm is version ${exports.version}, but this package is ${VERSION}; reinstall caspio-auth or run build.sh again`);
  }
  return exports;
}

/** Calls a core function and throws the error it returns (Go cannot throw into JS). @param {Function} fn @param {...any} args */
export function call(fn, ...args) {
  const result = fn(...args);
  if (result instanceof Error) throw result;
  return result;
}
