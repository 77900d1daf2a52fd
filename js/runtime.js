// @ts-check
// The API of one runtime (index.d.ts): createRuntime starts the core once, from the
// runtime's way of loading it (node.js, browser.js, workerd.js), and makes initialize,
// createClient and apiErrorFromResponse.
import { startCore, call } from './core.js';
import { withResponse } from './errors.js';
import { checkOptions, coreConfig, renameConfigError } from './options.js';
import { memoryStorage } from './storage.js';
import { CaspioClient } from './client.js';

/**
 * @param {{loadModule: (options: {wasmURL?: string | URL, wasmModule?: WebAssembly.Module}) => Promise<WebAssembly.Module>,
 *   manualRedirects: boolean, requestContexts?: boolean}} platform loadModule gets the compiled core (from initialize()'s options);
 *   manualRedirects: fetch shows redirects (Node, Workers) and the core follows them; a browser follows them itself;
 *   requestContexts: every request runs in an I/O context of its own, which may end mid-await
 *   (workerd): the core starts synchronously (see startCore), and the driver marks the flights
 *   it runs alive (drive.js)
 */
export function createRuntime({ loadModule, manualRedirects, requestContexts = false }) {
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

  /** @param {import('./index.js').ClientOptions} options */
  async function createClient(options) {
    const exports = await getCore();
    const opts = checkOptions(options, exports);
    const storage = opts.storage ?? memoryStorage();
    let opened;
    try {
      opened = call(exports.open, coreConfig(opts, typeof storage.lock === 'function'));
    } catch (err) {
      throw renameConfigError(err);
    }
    return new CaspioClient(exports, opened, opts, storage, { manualRedirects, requestContexts });
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
