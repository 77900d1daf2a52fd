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
/** The core's exports once it has started in this realm, else null (see startedCore). */
let ready = null;

/**
 * The core's exports if it has started in this realm (a client exists, or initialize()
 * ran), else null: for the synchronous calls of a storage (webStorage compares the states
 * tabs hear by the core's rule), which has no core of its own to start.
 */
export function startedCore() {
  return ready;
}

/**
 * The core's exports, started on first use; a failed start is forgotten, to be tried again.
 * With synchronous, the module is instantiated at once (new WebAssembly.Instance), so that
 * the start takes no turn of the event loop: in workerd, a client made at a request's start
 * is then ready before any other request runs, and no request awaits another's start.
 * @param {() => Promise<WebAssembly.Module>} getModule @param {{synchronous?: boolean}} [options]
 */
export function startCore(getModule, { synchronous = false } = {}) {
  started ??= boot(getModule, synchronous).catch((err) => {
    started = undefined;
    throw err;
  });
  return started;
}

/**
 * The core's exports, started now, in this turn of the event loop, from the module that
 * getModule compiles synchronously: for a client that answered its first requests before
 * its core started (a lease stored with the state, see client.js) and is then asked for
 * something only the core knows at once (status(), resolve()). A start under way
 * asynchronously is overtaken: it ends with this one's exports.
 * @param {() => WebAssembly.Module} getModule
 */
export function startCoreSync(getModule) {
  if (ready) return ready;
  const exports = run(getModule(), new Go(), null);
  started = Promise.resolve(exports);
  return exports;
}

/** @param {() => Promise<WebAssembly.Module>} getModule @param {boolean} synchronous */
async function boot(getModule, synchronous) {
  const module = await getModule();
  if (ready) return ready; // started synchronously meanwhile (startCoreSync)
  if (!(module instanceof WebAssembly.Module)) throw new TypeError('caspio-auth: expected a WebAssembly.Module for caspio.wasm');
  const go = new Go();
  const instance = synchronous ? null : await WebAssembly.instantiate(module, goImports(go));
  return ready ?? run(module, go, instance);
}

/** The imports of a Go instance, with the environment the core runs with. @param {any} go */
function goImports(go) {
  go.env = { GOGC: '25' }; // keeps the instance near 9 MiB under load instead of 18 MiB
  return go.importObject;
}

/**
 * Runs Go's main in instance (made now, synchronously, when null) and returns the exports
 * it hands over. @param {WebAssembly.Module} module @param {any} go @param {WebAssembly.Instance | null} instance
 */
function run(module, go, instance) {
  if (!(module instanceof WebAssembly.Module)) throw new TypeError('caspio-auth: expected a WebAssembly.Module for caspio.wasm');
  instance ??= new WebAssembly.Instance(module, goImports(go));
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
  ready = exports;
  return exports;
}

/** Calls a core function and throws the error it returns (Go cannot throw into JS). @param {Function} fn @param {...any} args */
export function call(fn, ...args) {
  const result = fn(...args);
  if (result instanceof Error) throw result;
  return result;
}
