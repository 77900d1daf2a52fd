// @ts-check
// The API of one runtime (index.d.ts): createRuntime starts the core once, from the
// runtime's way of loading it (node.js, browser.js, workerd.js), and makes initialize,
// createClient and apiErrorFromResponse.
import { startCore, startCoreSync, startedCore, call } from './core.js';
import { withResponse } from './errors.js';
import { checkOptions, coreConfig, renameConfigError } from './options.js';
import { memoryStorage } from './storage.js';
import { CaspioClient, startLease } from './client.js';
import { VERSION } from './version.js';

/**
 * @param {{loadModule: (options: {wasmURL?: string | URL, wasmModule?: WebAssembly.Module}) => Promise<WebAssembly.Module>,
 *   loadModuleSync?: (options: {wasmURL?: string | URL, wasmModule?: WebAssembly.Module}) => WebAssembly.Module,
 *   manualRedirects: boolean, requestContexts?: boolean}} platform loadModule gets the compiled core (from initialize()'s options);
 *   manualRedirects: fetch shows redirects (Node, Workers) and the core follows them; a browser follows them itself;
 *   requestContexts: every request runs in an I/O context of its own, which may end mid-await
 *   (workerd): the core starts synchronously (see startCore), and the driver marks the flights
 *   it runs alive (drive.js);
 *   loadModuleSync (Node): compiles the core synchronously. Its presence makes clients start
 *   fast: a client whose storage can be read synchronously (peek) has its core write the lease
 *   with the state, and a client made later that finds a lease for its configuration
 *   (leaseKey) is handed out before its core starts, and sends with it (client.js)
 */
export function createRuntime({ loadModule, loadModuleSync, manualRedirects, requestContexts = false }) {
  /** @type {Promise<any> | undefined} */
  let core;
  let initOptions = {};
  const getCore = () => (core ??= startCore(() => loadModule(initOptions), { synchronous: requestContexts }).catch((err) => {
    core = undefined; // a failed start may be tried again
    throw err;
  }));

  /** @param {{wasmURL?: string | URL, wasmModule?: WebAssembly.Module}} [options] */
  async function initialize(options = {}) {
    if (typeof options !== 'object' || options === null) throw new TypeError('caspio-auth: initialize(options) takes an object such as {wasmURL} or {wasmModule}');
    const unknown = Object.keys(options).filter((k) => k !== 'wasmURL' && k !== 'wasmModule');
    if (unknown.length > 0) throw new TypeError(`caspio-auth: unknown initialize option${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; the options are wasmURL and wasmModule`);
    if (options.wasmModule !== undefined && !(options.wasmModule instanceof WebAssembly.Module)) throw new TypeError('caspio-auth: initialize option wasmModule must be a WebAssembly.Module');
    if (options.wasmURL !== undefined && typeof options.wasmURL !== 'string' && !(options.wasmURL instanceof URL)) throw new TypeError('caspio-auth: initialize option wasmURL must be a string or a URL');
    if (core) throw new Error('caspio-auth: initialize() was called after the core started (by an earlier initialize() or createClient()); call it once, before creating any client');
    initOptions = options;
    await getCore();
  }

  /** The client's core and its handle (open), or the config error. @param {any} exports @param {any} opts @param {any} storage */
  const open = (exports, opts, storage) => {
    /** @type {Record<string, unknown>} */
    const config = coreConfig(opts, typeof storage.lock === 'function');
    if (loadModuleSync && typeof storage.peek === 'function') config.leaseKey = leaseKey(opts);
    try {
      return { core: exports, opened: call(exports.open, config) };
    } catch (err) {
      throw renameConfigError(err);
    }
  };

  /** @param {import('./index.js').ClientOptions} options */
  async function createClient(options) {
    const platform = { manualRedirects, requestContexts };
    const early = loadModuleSync && startedCore() === null ? startLease(options, leaseKey) : null;
    if (early !== null) {
      // The core starts when the client first needs it: at a call the lease cannot serve,
      // or an answer other than a success. Its config errors surface then (docs/design.md).
      const { opts, storage } = early;
      const connect = async () => open(await getCore(), opts, storage);
      const connectSync = () => open(startCoreSync(() => loadModuleSync(initOptions)), opts, storage);
      return new CaspioClient({ connect, connectSync, start: early.lease }, null, opts, storage, platform);
    }
    const exports = await getCore();
    const opts = checkOptions(options, exports);
    const storage = opts.storage ?? memoryStorage();
    return new CaspioClient(null, open(exports, opts, storage), opts, storage, platform);
  }

  /** @param {Response} response */
  async function apiErrorFromResponse(response) {
    if (typeof response !== 'object' || response === null || typeof response.status !== 'number' || typeof response.text !== 'function') {
      throw new TypeError('caspio-auth: apiErrorFromResponse(response) takes a Response, such as client.fetch returns');
    }
    if (response.status >= 200 && response.status < 300) {
      // A success is no error: refused, with its body left unread for the caller.
      throw new TypeError(`caspio-auth: apiErrorFromResponse: the response's status is ${response.status}, a success, not an error; call it only when response.ok is false`);
    }
    const exports = await getCore();
    let body;
    try {
      const text = response.bodyUsed ? '' : await response.text();
      if (text.length <= 1 << 20) body = JSON.parse(text);
    } catch {
      body = undefined; // not JSON: the error describes the status
    }
    return withResponse(exports.apiError(response.status, response.headers?.get?.('x-caspio-request-id') ?? '', body), response);
  }

  /**
   * The core's rules for a proxy in front of the REST API (caspio.ParseResourcePath,
   * ResourceRef, BadResourceChar, ProxyTokenFailure), once the core has started: every call
   * after that is synchronous.
   * @returns {Promise<import('./index.js').ProxyRules>}
   */
  async function proxyRules() {
    const exports = await getCore();
    return Object.freeze({
      /** @param {string} path */
      parsePath(path) {
        if (typeof path !== 'string') throw new TypeError('caspio-auth: proxyRules().parsePath(path) takes the path as it arrived, e.g. "/tables/Orders/records"');
        const out = exports.resourcePath(path);
        if (!out.startsWith('/')) return { problem: out };
        const [ref, ...segments] = out.split('\n');
        return { ref, segments };
      },
      /** @param {string} name */
      badChar(name) {
        if (typeof name !== 'string') throw new TypeError('caspio-auth: proxyRules().badChar(name) takes a decoded path segment, e.g. "Orders"');
        const out = exports.badResourceChar(name);
        if (out === '') return null;
        const nl = out.indexOf('\n');
        return { at: Number(out.slice(0, nl)), what: out.slice(nl + 1) };
      },
      /** @param {number} status @param {boolean} refused @param {string} [errorCode] */
      tokenFailure(status, refused, errorCode = '') {
        const [answer, code, ...message] = exports.tokenFailure(Number(status) || 0, Boolean(refused), String(errorCode ?? '')).split('\n');
        return { status: Number(answer), code, message: message.join('\n') };
      },
    });
  }

  return { createClient, apiErrorFromResponse, initialize, proxyRules };
}

/**
 * The key a client's core writes its lease under and a client made later compares, for
 * equality only: everything of the configuration that decides the lease (whose token, when it
 * stops being valid) and the URLs its references resolve to, and the version, whose core
 * decided them. No secret: the key is stored in clear.
 * @param {import('./index.js').ClientOptions} o
 */
function leaseKey(o) {
  const fields = [o.account, o.integrationUrl, o.tokenUrl, o.resourceUrl, o.apiVersion, o.clientId, o.credentials, o.refreshMargin, o.tokenTimeout, o.hold];
  return JSON.stringify(['caspio-auth', VERSION, ...fields.map((v) => v ?? null)]);
}
