// @ts-check
// The client logic shared by every runtime. node.js, browser.js and workerd.js differ only
// in how they get the compiled WebAssembly.Module and a few platform facts; each calls
// createRuntime with those and re-exports what it returns.
//
// The WebAssembly core decides (sans I/O: it is handed `now` and the responses); this file
// performs: it fetches, waits, reads and writes the storage, and shares one token
// acquisition among concurrent callers. Every call into the core is synchronous and costs
// about 50 us, so the hot path (a request with a valid token) makes none: the client keeps
// the lease the core handed out (the Authorization value and how long it may be sent) and
// a small cache of resolved URLs in JS.
import { startCore, call } from './core.js';
import {
  CaspioError, CaspioConfigError, CaspioStateError, CaspioURLError, withResponse,
} from './errors.js';
import { memoryStorage, checkStorage } from './storage.js';

/** The options createClient accepts; any other key is a TypeError naming it. */
const OPTION_TYPES = {
  account: 'string',
  integrationUrl: 'string',
  tokenUrl: 'string',
  resourceUrl: 'string',
  apiVersion: 'string',
  clientId: 'string',
  clientSecret: 'string',
  credentials: 'string',
  storage: 'object',
  fetch: 'function',
  refreshMargin: 'number',
  tokenTimeout: 'number',
  onEvent: 'function',
};

/** The core's config field names (in its error messages) to this package's option names. */
const OPTION_OF_FIELD = {
  Account: 'account',
  IntegrationURL: 'integrationUrl',
  TokenURL: 'tokenUrl',
  ResourceURL: 'resourceUrl',
  APIVersion: 'apiVersion',
  ClientID: 'clientId',
  ClientSecret: 'clientSecret',
  Credentials: 'credentials',
  RefreshMargin: 'refreshMargin',
};

const DEFAULT_TOKEN_TIMEOUT_MS = 30_000;

/**
 * Bounds the token requests of one acquisition. The core bounds transient retries (three);
 * a refused refresh token adds a login; the rest is headroom against a misbehaving server.
 */
const MAX_ITERATIONS = 8;

/** Bounds what is read of a token response: a token response is a few hundred bytes. */
const MAX_TOKEN_BODY = 1 << 20;

/**
 * How many resolved URLs a client remembers. Resolving a path is a call into the core
 * (about 50 us), which the hot path must not make; a program uses a handful of paths over
 * and over, so a small cache catches nearly all of them, while the bound keeps a program
 * that builds a new URL per request (a q.where per record, say) from growing without end.
 * Eviction is first-in first-out: cheap, and good enough for a working set this small.
 */
const RESOLVE_CACHE_SIZE = 1000;

/** Redirects a resource request follows, as curl's and browsers' limits go, but lower. */
const MAX_REDIRECTS = 5;

/** A 401 may revoke a few tokens in a row (old requests still in flight); remember them. */
const MAX_REVOKED = 4;

/**
 * A token response as the core's handleTokenResponse takes it: the status (0 when none
 * arrived, with error), a few headers, and the body decoded as JSON (notJSON when it was not).
 * @typedef {{status: number, contentType?: string, body?: unknown, notJSON?: boolean,
 *   retryAfter?: string, location?: string, error?: string}} TokenAnswer
 */

/**
 * Makes the API of one runtime.
 * @param {object} platform
 * @param {(options: {wasmURL?: string | URL, wasmModule?: WebAssembly.Module}) => Promise<WebAssembly.Module>} platform.loadModule
 *   gets the compiled core, from the options of initialize() (empty when it was not called)
 * @param {boolean} platform.manualRedirects whether fetch(..., {redirect: 'manual'}) shows
 *   the redirect (Node, Workers) rather than an opaque response (browsers, where the platform
 *   itself drops the Authorization header on a cross-origin redirect)
 */
export function createRuntime({ loadModule, manualRedirects }) {
  /** @type {Promise<any> | undefined} */
  let core;
  let initOptions = {};

  function getCore() {
    core ??= startCore(() => loadModule(initOptions)).catch((err) => {
      core = undefined; // a failed start may be tried again
      throw err;
    });
    return core;
  }

  /**
   * Starts the core with an explicit .wasm location or module. Optional: createClient
   * starts it with the default location. Call it once, before the first client.
   * @param {{wasmURL?: string | URL, wasmModule?: WebAssembly.Module}} [options]
   */
  async function initialize(options = {}) {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError('caspio-auth: initialize(options) takes an object such as {wasmURL} or {wasmModule}');
    }
    const unknown = Object.keys(options).filter((k) => k !== 'wasmURL' && k !== 'wasmModule');
    if (unknown.length > 0) {
      throw new TypeError(`caspio-auth: unknown initialize option${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; the options are wasmURL and wasmModule`);
    }
    if (options.wasmModule !== undefined && !(options.wasmModule instanceof WebAssembly.Module)) {
      throw new TypeError('caspio-auth: initialize option wasmModule must be a WebAssembly.Module');
    }
    if (options.wasmURL !== undefined && typeof options.wasmURL !== 'string' && !(options.wasmURL instanceof URL)) {
      throw new TypeError('caspio-auth: initialize option wasmURL must be a string or a URL');
    }
    if (core) {
      throw new Error('caspio-auth: initialize() was called after the core started (by an earlier initialize() or createClient()); call it once, before creating any client');
    }
    initOptions = options;
    await getCore();
  }

  /**
   * @param {import('./index.js').ClientOptions} options
   * @returns {Promise<import('./index.js').CaspioClient>}
   */
  async function createClient(options) {
    const opts = checkOptions(options);
    const exports = await getCore();
    let handle;
    try {
      handle = call(exports.open, {
        account: opts.account,
        integrationUrl: opts.integrationUrl,
        tokenUrl: opts.tokenUrl,
        resourceUrl: opts.resourceUrl,
        apiVersion: opts.apiVersion,
        clientId: opts.clientId,
        clientSecret: opts.clientSecret,
        credentials: opts.credentials,
        refreshMarginMs: opts.refreshMargin === undefined ? 0 : Math.max(1, Math.round(opts.refreshMargin * 1000)),
      });
    } catch (err) {
      throw err instanceof CaspioConfigError ? renameConfigError(err) : err;
    }
    return new CaspioClient(exports, handle, opts, manualRedirects);
  }

  /**
   * Makes the CaspioAPIError of a failed resource response: reads its body as Caspio's
   * error JSON if it is one, takes the X-Caspio-Request-ID header, and attaches the
   * response (not enumerable).
   * @param {Response} response
   */
  async function apiErrorFromResponse(response) {
    if (typeof response !== 'object' || response === null || typeof response.status !== 'number' || typeof response.text !== 'function') {
      throw new TypeError('caspio-auth: apiErrorFromResponse(response) takes a Response, such as client.fetch returns');
    }
    const exports = await getCore();
    let body;
    try {
      const text = response.bodyUsed ? '' : await response.text();
      if (text.length <= MAX_TOKEN_BODY && text.trim() !== '') body = JSON.parse(text);
    } catch {
      body = undefined; // not JSON: the error describes the status
    }
    const requestId = response.headers?.get?.('x-caspio-request-id') ?? '';
    return withResponse(exports.apiError(response.status, requestId, body), response);
  }

  return { createClient, apiErrorFromResponse, initialize };
}

/**
 * Checks the option keys and types in JS, where the message can name the option as the
 * caller spelled it; the core checks the values.
 * @param {unknown} options
 */
function checkOptions(options) {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError('caspio-auth: createClient(options) takes an object, e.g. {account, clientId, clientSecret}');
  }
  const o = /** @type {Record<string, unknown>} */ (options);
  const unknown = Object.keys(o).filter((k) => !Object.hasOwn(OPTION_TYPES, k));
  if (unknown.length > 0) {
    const hints = unknown.map((k) => {
      const near = Object.keys(OPTION_TYPES).find((known) => squash(known) === squash(k));
      return near ? `${k} (did you mean ${near}?)` : k;
    });
    throw new TypeError(`caspio-auth: unknown option${unknown.length > 1 ? 's' : ''} ${hints.join(', ')}; the options are ${Object.keys(OPTION_TYPES).join(', ')}`);
  }
  for (const [key, type] of Object.entries(OPTION_TYPES)) {
    const value = o[key];
    if (value === undefined) continue;
    if (typeof value !== type || value === null) {
      throw new TypeError(`caspio-auth: option ${key} must be ${describeType(key, type)}, not ${kindOf(value)}`);
    }
  }
  for (const key of ['refreshMargin', 'tokenTimeout']) {
    const n = /** @type {number | undefined} */ (o[key]);
    if (n !== undefined && (!Number.isFinite(n) || n <= 0)) {
      throw new TypeError(`caspio-auth: option ${key} must be a positive finite number (${key === 'refreshMargin' ? 'seconds, at most 43200' : 'milliseconds'}); leave it out for the default`);
    }
  }
  if (o.storage !== undefined) checkStorage(o.storage);
  return /** @type {import('./index.js').ClientOptions} */ (/** @type {unknown} */ (o));
}

function describeType(key, type) {
  switch (key) {
    case 'storage': return 'an object with get, set and delete methods, such as memoryStorage() or fileStorage(path)';
    case 'fetch': return 'a function with the signature of the standard fetch';
    case 'onEvent': return 'a function that takes an event object';
    case 'refreshMargin': return 'a number of seconds';
    case 'tokenTimeout': return 'a number of milliseconds';
    case 'apiVersion': return 'the string "v2" or "v3"';
    case 'credentials': return 'the string "body" or "basic"';
    default: return `a ${type}`;
  }
}

/** Names the type of a value without showing it: the value may be a secret. */
function kindOf(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  const t = typeof value;
  return t === 'object' ? 'an object' : `a ${t}`;
}

function squash(s) { return s.toLowerCase().replace(/[_-]/g, ''); }

/** Rewrites the core's "config ClientSecret:" into this package's "option clientSecret:". */
function renameConfigError(err) {
  const option = OPTION_OF_FIELD[err.field];
  if (!option) return err;
  const message = err.message.replace(/^caspio: config \w+:/, `caspio-auth: option ${option}:`);
  return new CaspioConfigError(message, { field: option });
}

/** The client, made by createClient. Its secrets live in private fields only. */
class CaspioClient {
  /** the core's exports */
  #core;
  /** this client's handle in the core */
  #h;
  /** what the core made of the options: endpoints, client ID (no secret) */
  #desc;
  #storage;
  /** @type {(input: any, init?: any) => Promise<Response>} */
  #fetch;
  #tokenTimeout;
  #manualRedirects;
  /** @type {Set<(event: import('./index.js').ClientEvent) => void>} */
  #listeners = new Set();
  #closed = false;
  /** @type {(() => void) | null} stops the storage's change notices (Storage.subscribe) */
  #unsubscribe = null;

  /**
   * The hot path's token: {authorization, validUntil, expiresAt, refreshTokenExpiresAt,
   * logins, refreshes}, or null. Sent until validUntil or until a 401 revokes it.
   * @type {null | {authorization: string, validUntil: number, expiresAt: number, refreshTokenExpiresAt: number | null, logins: number, refreshes: number}}
   */
  #lease = null;
  /** Authorization values refused with a 401, dropped again from any state read back. */
  #revoked = [];
  /** The state's counters, as of the last call into the core. */
  #counters = { client_credentials_requests: 0, refresh_token_requests: 0, logins: 0, refreshes: 0 };
  #unauthorizedRetries = 0;

  /** @type {Map<string, Promise<any>>} in-flight acquisitions by mode */
  #flights = new Map();
  /** acquisitions of this client run one at a time; the storage's lock serialises processes */
  #queue = Promise.resolve();
  /** @type {Map<string, string>} */
  #resolved = new Map();

  constructor(core, handle, options, manualRedirects) {
    this.#core = core;
    this.#h = handle;
    this.#desc = core.describe(handle);
    this.#storage = options.storage ?? memoryStorage();
    const fetchFn = options.fetch;
    // Called as a plain function: a browser's fetch throws "Illegal invocation" when called
    // as a method of another object. The global is read per call, not when the package loads.
    this.#fetch = fetchFn ? (input, init) => fetchFn(input, init) : (input, init) => globalThis.fetch(input, init);
    this.#tokenTimeout = options.tokenTimeout ?? DEFAULT_TOKEN_TIMEOUT_MS;
    this.#manualRedirects = manualRedirects;
    if (options.onEvent) this.#listeners.add(options.onEvent);
    // A storage that others write (browser tabs sharing webStorage) says when it changed:
    // the lease is dropped, so the next request reads the new state instead of sending a
    // token that was replaced (no token request: the state has one).
    if (typeof this.#storage.subscribe === 'function') {
      const stop = this.#storage.subscribe(() => { this.#lease = null; });
      this.#unsubscribe = typeof stop === 'function' ? stop : null;
    }
  }

  // ---- public API ----

  /** Logs in with the client ID and secret now (a client_credentials grant). */
  async authenticate() {
    this.#checkOpen();
    return tokenOf(await this.#acquire('authenticate'));
  }

  /** Refreshes now; logs in instead when the refresh token is refused or absent. */
  async refresh() {
    this.#checkOpen();
    return tokenOf(await this.#acquire('refresh'));
  }

  /** Returns a valid token, getting one if needed. */
  async token() {
    this.#checkOpen();
    return tokenOf(await this.#currentLease());
  }

  stats() {
    const c = this.#counters;
    return {
      tokenRequests: { client_credentials: c.client_credentials_requests, refresh_token: c.refresh_token_requests },
      logins: c.logins,
      refreshes: c.refreshes,
      unauthorizedRetries: this.#unauthorizedRetries,
    };
  }

  /** @param {(event: import('./index.js').ClientEvent) => void} listener */
  on(listener) {
    if (typeof listener !== 'function') throw new TypeError('caspio-auth: on(listener) takes a function');
    this.#listeners.add(listener);
    return () => { this.#listeners.delete(listener); };
  }

  close() {
    if (this.#closed) return;
    this.#closed = true;
    this.#lease = null;
    this.#revoked = [];
    this.#resolved.clear();
    this.#listeners.clear();
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    this.#core.close(this.#h);
  }

  /**
   * fetch with the Bearer token, for a path on the resource endpoint (or a full URL on it).
   * @param {RequestInfo | URL} input
   * @param {RequestInit} [init]
   */
  async fetch(input, init) {
    this.#checkOpen();
    const req = await prepare(input, init);
    let url = this.#resolve(req.url);
    let onResource = true;
    for (let hop = 0; ; hop++) {
      const res = onResource ? await this.#sendAuthorized(url, req) : await this.#send(url, req, null);
      if (!this.#manualRedirects || !isRedirect(res.status) || req.redirect === 'manual') return res;
      const location = res.headers.get('location');
      if (location === null) return res;
      if (req.redirect === 'error') {
        await discard(res);
        throw new TypeError(`caspio-auth: the resource endpoint redirected (${res.status}) and the request's redirect mode is "error"`);
      }
      if (hop >= MAX_REDIRECTS) {
        await discard(res);
        throw new TypeError(`caspio-auth: stopped after ${MAX_REDIRECTS} redirects`);
      }
      let next;
      try {
        next = redirectTarget(location, url);
      } catch (err) {
        await discard(res);
        throw err;
      }
      if (!followRedirect(req, res.status)) return res; // a body that cannot be sent again
      await discard(res);
      next.hash = '';
      url = next.href;
      // The token goes only to URLs that resolve on the REST base; anywhere else the request
      // is followed without any Authorization header.
      const resolved = this.#tryResolve(url);
      onResource = resolved !== null;
      if (resolved !== null) url = resolved;
    }
  }

  toJSON() {
    const d = this.#desc;
    return { tokenUrl: d.tokenUrl, resourceBase: d.resourceBase, apiVersion: d.apiVersion, clientId: d.clientId, credentials: d.credentials };
  }

  get [Symbol.toStringTag]() { return 'CaspioClient'; }

  [Symbol.for('nodejs.util.inspect.custom')](depth, options, inspect) {
    const shown = { ...this.toJSON(), clientSecret: '[redacted]', closed: this.#closed };
    return typeof inspect === 'function' ? `CaspioClient ${inspect(shown, options)}` : `CaspioClient ${JSON.stringify(shown)}`;
  }

  // ---- token acquisition ----

  #checkOpen() {
    if (this.#closed) {
      throw new CaspioConfigError('caspio-auth: the client is closed; create a new client with createClient', { field: 'client' });
    }
  }

  /** The lease while it is valid (no call into the core), else a new one. */
  #currentLease() {
    const l = this.#lease;
    if (l !== null && Date.now() < l.validUntil) return Promise.resolve(l);
    return this.#acquire('token');
  }

  /**
   * The lease for a resource request. A caller whose signal aborts stops waiting for a token
   * without cancelling the acquisition that other callers share.
   * @param {AbortSignal | undefined} signal
   */
  #leaseFor(signal) {
    const l = this.#lease;
    if (l !== null && Date.now() < l.validUntil) return Promise.resolve(l);
    const acquiring = this.#acquire('token');
    if (!signal) return acquiring;
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      acquiring.then(
        (lease) => { signal.removeEventListener('abort', onAbort); resolve(lease); },
        (err) => { signal.removeEventListener('abort', onAbort); reject(err); },
      );
    });
  }

  /**
   * Joins the acquisition in flight for mode, or starts one: 1,000 concurrent callers make
   * one token request. Acquisitions of different modes run one after the other.
   * @param {'token' | 'authenticate' | 'refresh'} mode
   */
  #acquire(mode) {
    let flight = this.#flights.get(mode);
    if (flight === undefined) {
      flight = this.#exclusive(() => this.#drive(mode));
      this.#flights.set(mode, flight);
      const forget = () => { if (this.#flights.get(mode) === flight) this.#flights.delete(mode); };
      flight.then(forget, forget);
    }
    return flight;
  }

  /** Runs fn after every acquisition started before it. */
  #exclusive(fn) {
    const run = this.#queue.then(fn);
    this.#queue = run.then(() => {}, () => {});
    return run;
  }

  /**
   * One acquisition: take the storage's lock, adopt the stored state (another process may
   * have refreshed), then do what the core decides until there is a token or a final error.
   */
  async #drive(mode) {
    this.#checkOpen();
    if (mode === 'token' && this.#lease !== null && Date.now() < this.#lease.validUntil) {
      return this.#lease; // an acquisition that finished while this one waited left a token
    }
    const release = await this.#lockStorage();
    try {
      await this.#load();
      let transient = 0; // failed attempts the core may retry, as handleTokenResponse counts them
      let lastError;
      for (let i = 1; ; i++) {
        const decision = this.#publish(Date.now());
        let action = 'authenticate';
        if (mode === 'token') {
          if (this.#lease !== null) return this.#lease;
          action = decision.action;
        } else if (mode === 'refresh') {
          action = 'refresh'; // the core asks for a login when there is no refresh token
        }
        if (i > MAX_ITERATIONS) {
          throw lastError ?? new CaspioError('TOKEN_GAVE_UP', `caspio-auth: gave up after ${MAX_ITERATIONS} token requests`);
        }
        this.#checkOpen();
        const request = this.#core.tokenRequest(this.#h, action);
        const grant = request.grant;
        this.#emit({ type: 'token_request', grant, attempt: i });
        const { answer, response } = await this.#perform(request);
        this.#checkOpen();
        const result = this.#core.handleTokenResponse(this.#h, action, answer, Date.now(), transient, Math.random());
        this.#publish(Date.now());
        const lease = this.#lease; // kept: a 401 during the save below may drop this.#lease
        await this.#save(result.state);

        if (!result.error) {
          this.#emit({ type: grant === 'refresh_token' ? 'refresh' : 'login', grant, attempt: i, status: answer.status, expiresAt: new Date(result.state.expires_at) });
          if (lease === null) {
            throw new CaspioError('TOKEN_NOT_USABLE', 'caspio-auth: the new access token gives no lease (is the clock going backwards?)');
          }
          return lease;
        }
        const error = response ? withResponse(result.error, response) : result.error;
        this.#emit({ type: 'token_error', grant, attempt: i, status: answer.status, error });
        lastError = error;
        if (!result.retry) throw error;
        if (answer.status === 0 || answer.status === 429 || answer.status >= 500) transient++;
        this.#emit({ type: 'retry', grant, attempt: i, status: answer.status, waitMs: result.waitMs, error });
        if (result.waitMs > 0) await sleep(result.waitMs);
      }
    } finally {
      if (release) {
        try {
          await release();
        } catch (error) {
          this.#emit({ type: 'storage_error', error });
        }
      }
    }
  }

  /** Takes the storage's lock, if it has one. A failure costs at most an extra login. */
  async #lockStorage() {
    if (typeof this.#storage.lock !== 'function') return null;
    try {
      const release = await this.#storage.lock();
      return typeof release === 'function' ? release : null;
    } catch (error) {
      this.#emit({ type: 'storage_error', error });
      return null;
    }
  }

  /**
   * Adopts the stored state when it is this client's and not older than the one in memory
   * (a failed save leaves memory newer). A state that cannot be read is discarded, never
   * fatal: the next save replaces it.
   */
  async #load() {
    let stored;
    try {
      stored = await this.#storage.get();
    } catch (error) {
      this.#emit({ type: error instanceof CaspioStateError ? 'state_discarded' : 'storage_error', error });
      return;
    }
    if (stored === null || stored === undefined) return;
    this.#checkOpen();
    const memory = this.#core.state(this.#h);
    let adopted;
    try {
      adopted = call(this.#core.restore, this.#h, stored);
    } catch (error) {
      if (!(error instanceof CaspioStateError)) throw error;
      this.#emit({ type: 'state_discarded', error });
      return;
    }
    if (adopted && requestsOf(stored) < requestsOf(memory)) {
      call(this.#core.restore, this.#h, memory);
    }
  }

  /** Stores the state; a failure is an event, and the token stays in memory. */
  async #save(state) {
    try {
      await this.#storage.set(state);
    } catch (error) {
      this.#emit({ type: 'storage_error', error });
    }
  }

  /**
   * Drops the tokens a 401 refused from the core's state, asks the core what to do at now
   * and publishes the lease it gives, if any. Slow path only: three calls into the core.
   */
  #publish(now) {
    for (const sent of this.#revoked) this.#core.unauthorized(this.#h, sent);
    const decision = call(this.#core.decide, this.#h, now);
    const state = this.#core.state(this.#h);
    this.#counters = { ...this.#counters, ...state.counters };
    if (decision.action !== 'lease') {
      this.#lease = null;
      return decision;
    }
    this.#lease = {
      authorization: decision.authorization,
      validUntil: decision.validUntil,
      expiresAt: state.expires_at,
      refreshTokenExpiresAt: decision.refreshTokenExpiresAt,
      logins: state.counters.logins,
      refreshes: state.counters.refreshes,
    };
    return decision;
  }

  /**
   * Performs a token request without following redirects (the credentials are for the
   * token endpoint alone), and decodes the answer for the core.
   * @returns {Promise<{answer: TokenAnswer, response?: Response}>}
   */
  async #perform(request) {
    const signal = AbortSignal.timeout(this.#tokenTimeout);
    let res;
    try {
      res = await this.#fetch(request.url, {
        method: request.method, headers: request.headers, body: request.body, redirect: 'manual', signal,
      });
    } catch (err) {
      return { answer: { status: 0, error: this.#transportMessage(err) } };
    }
    if (res.type === 'opaqueredirect') {
      // A browser hides the redirect's status and Location; it was a redirect all the same.
      return { answer: { status: 302, contentType: '', notJSON: true, retryAfter: '', location: '' }, response: res };
    }
    let text;
    try {
      text = await res.text();
    } catch (err) {
      return { answer: { status: 0, error: this.#transportMessage(err) } };
    }
    let body;
    let notJSON = false;
    if (text.length > MAX_TOKEN_BODY || text.trim() === '') {
      notJSON = true;
    } else {
      try {
        body = JSON.parse(text);
      } catch {
        notJSON = true;
      }
    }
    const header = (name) => res.headers.get(name) ?? '';
    return {
      answer: {
        status: res.status, contentType: header('content-type'), body, notJSON,
        retryAfter: header('retry-after'), location: header('location'),
      },
      response: copyResponse(res, text),
    };
  }

  #transportMessage(err) {
    if (err?.name === 'TimeoutError') return `no answer within the tokenTimeout of ${this.#tokenTimeout} ms`;
    const message = err instanceof Error ? err.message : String(err);
    const cause = err?.cause instanceof Error ? err.cause.message : '';
    return cause && cause !== message ? `${message}: ${cause}` : message;
  }

  #emit(event) {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A listener's failure must not break the token flow that it observes.
      }
    }
  }

  // ---- resource requests ----

  /** The URL for a path or URL, through the bounded cache (see RESOLVE_CACHE_SIZE). */
  #resolve(ref) {
    const hit = this.#resolved.get(ref);
    if (hit !== undefined) return hit;
    const url = call(this.#core.resolve, this.#h, ref);
    if (this.#resolved.size >= RESOLVE_CACHE_SIZE) this.#resolved.delete(this.#resolved.keys().next().value);
    this.#resolved.set(ref, url);
    return url;
  }

  #tryResolve(ref) {
    try {
      return this.#resolve(ref);
    } catch (err) {
      if (err instanceof CaspioURLError) return null;
      throw err;
    }
  }

  /**
   * Sends the request with the lease; after a 401, drops that token and, when the body can
   * be sent again, sends it once more with a fresh token.
   */
  async #sendAuthorized(url, req) {
    const signal = /** @type {AbortSignal | undefined} */ (req.extra.signal ?? undefined);
    const lease = await this.#leaseFor(signal);
    const res = await this.#send(url, req, lease.authorization);
    if (res.status !== 401) return res;
    this.#unauthorized(lease.authorization);
    if (!req.replayable) {
      this.#persistRevocation();
      return res; // the body is spent: the 401 as is
    }
    const fresh = await this.#leaseFor(signal);
    await discard(res);
    this.#unauthorizedRetries++;
    const again = await this.#send(url, req, fresh.authorization);
    if (again.status === 401) {
      this.#unauthorized(fresh.authorization);
      this.#persistRevocation();
    }
    return again;
  }

  /** A 401 answered a request that carried sent: the core drops the token if it is current. */
  #unauthorized(sent) {
    if (this.#closed) return;
    if (!this.#core.unauthorized(this.#h, sent)) return;
    if (this.#lease !== null && this.#lease.authorization === sent) this.#lease = null;
    if (!this.#revoked.includes(sent)) {
      if (this.#revoked.length >= MAX_REVOKED) this.#revoked.shift();
      this.#revoked.push(sent);
    }
    this.#emit({ type: 'revoked' });
  }

  /**
   * Stores the state without the refused token, under the storage's lock, so that a
   * restarted client does not try it again. (When the request is retried, the acquisition
   * that gets the fresh token stores the state instead.)
   */
  #persistRevocation() {
    this.#exclusive(async () => {
      if (this.#closed) return;
      const release = await this.#lockStorage();
      try {
        await this.#load();
        this.#publish(Date.now());
        await this.#save(this.#core.state(this.#h));
      } finally {
        if (release) await Promise.resolve().then(release).catch((error) => this.#emit({ type: 'storage_error', error }));
      }
    }).catch((error) => this.#emit({ type: 'storage_error', error }));
  }

  /** One fetch of url with req's parts; authorization null sends no Authorization header. */
  #send(url, req, authorization) {
    const headers = new Headers(req.headers);
    if (authorization === null) headers.delete('authorization');
    else headers.set('authorization', authorization);
    const init = { ...req.extra, method: req.method, headers, redirect: this.#manualRedirects ? 'manual' : req.redirect };
    if (req.body !== null && req.body !== undefined) {
      init.body = req.body;
      if (isStream(req.body)) init.duplex = 'half';
    }
    return this.#fetch(url, init);
  }
}

/**
 * Splits fetch's (input, init) into the parts a request is sent again from. A Request's
 * body is read into memory (from a clone, so the caller's Request stays unread), which
 * makes it replayable after a 401 or a 307; a ReadableStream in init.body is not.
 */
async function prepare(input, init) {
  if (init !== undefined && (typeof init !== 'object' || init === null)) {
    throw new TypeError('caspio-auth: fetch(input, init): init must be an object');
  }
  if (typeof Request !== 'undefined' && input instanceof Request) {
    const r = init === undefined ? input : new Request(input, init);
    const body = r.body === null ? null : await r.clone().arrayBuffer();
    /** @type {Record<string, unknown>} */
    const extra = { signal: r.signal };
    return { url: r.url, method: r.method, headers: new Headers(r.headers), body, redirect: r.redirect, extra, replayable: true };
  }
  let url;
  if (typeof input === 'string') url = input;
  else if (input instanceof URL) url = input.href;
  else throw new TypeError('caspio-auth: fetch(input) takes a path such as "tables", a URL on the resource endpoint, or a Request');
  const { method, headers, body, redirect, ...extra } = init ?? {};
  if (redirect !== undefined && redirect !== 'follow' && redirect !== 'manual' && redirect !== 'error') {
    throw new TypeError('caspio-auth: fetch init.redirect must be "follow", "manual" or "error"');
  }
  return {
    url,
    method: method ?? 'GET',
    headers: new Headers(headers),
    body: body ?? null,
    redirect: redirect ?? 'follow',
    extra,
    replayable: isReplayable(body),
  };
}

/** Whether a body can be sent twice: fetch reads it afresh from these types each time. */
function isReplayable(body) {
  return body === null || body === undefined || typeof body === 'string' ||
    body instanceof ArrayBuffer || ArrayBuffer.isView(body) ||
    (typeof Blob !== 'undefined' && body instanceof Blob) ||
    (typeof URLSearchParams !== 'undefined' && body instanceof URLSearchParams) ||
    (typeof FormData !== 'undefined' && body instanceof FormData);
}

function isStream(body) {
  return typeof ReadableStream !== 'undefined' && body instanceof ReadableStream;
}

/**
 * Where a redirect leads. As fetch does, and as the Go client does, a Location with user
 * info, or not an http(s) URL, or not a URL at all, is not followed: a CaspioURLError (fetch
 * itself would throw a TypeError quoting the Location, credentials and all).
 * @param {string} location
 * @param {string} base the URL that answered the redirect
 */
function redirectTarget(location, base) {
  const refused = refusedLocation(location);
  if (refused !== null) throw refused;
  try {
    return new URL(location, base);
  } catch {
    throw new CaspioURLError("caspio-auth: resource URL: a redirect's Location is not a valid URL; it is not followed", { ref: '' });
  }
}

/**
 * The CaspioURLError for a redirect's Location that is not to be followed at all, or null:
 * the rule of the core's CheckLocation (resolve.go), mirrored here as the WebAssembly core
 * does not export it (tests/js/redirect.test.js and client/transport_test.go play the same
 * Locations in both runtimes). A Location that may carry user info (user:password@host, even
 * with a "/" in the password) is refused, and one that is not an http(s) URL; the error
 * shows the Location as the core's errors show references.
 * @param {string} location
 */
function refusedLocation(location) {
  const l = location.replace(/[\t\n\r]/g, '').replace(/^[ \t\n\v\f\r]+|[ \t\n\v\f\r]+$/g, '');
  const refuse = (problem) => new CaspioURLError(`caspio-auth: resource URL ${JSON.stringify(shownRef(l))}: ${problem}`, { ref: shownRef(l) });
  if (mayHoldUserInfo(l)) {
    return refuse('is a redirect to a URL with user info (a name or password before "@"); it is not followed, as credentials never go in a URL');
  }
  const n = schemeEnd(l);
  if (n > 0) {
    const scheme = l.slice(0, n - 1).toLowerCase();
    if (scheme !== 'http' && scheme !== 'https') return refuse('is a redirect to a URL that is not http(s); it is not followed');
    if (!l.startsWith('//', n)) return refuse('is a redirect to an http(s) URL without "//"; it is not followed');
  }
  return null;
}

/** The length of ref's scheme with its colon, or 0 when it has none. */
function schemeEnd(ref) {
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:/.exec(ref);
  return m === null ? 0 : m[0].length;
}

/** Where ref's authority would begin, and whether it has one (not a path). */
function authorityStart(ref) {
  const n = schemeEnd(ref);
  let start = n;
  while (start < ref.length && (ref[start] === '/' || ref[start] === '\\')) start++;
  return { start, ok: n > 0 || start >= 2 };
}

function beforeQuery(ref) {
  const i = ref.search(/[?#]/);
  return i < 0 ? ref : ref.slice(0, i);
}

function mayHoldUserInfo(ref) {
  const pre = beforeQuery(ref);
  return authorityStart(pre).ok && pre.includes('@');
}

/** A reference as errors show it: no query or fragment, no user info, a scheme alone when it is not hierarchical. */
function shownRef(ref) {
  ref = beforeQuery(ref);
  const n = schemeEnd(ref);
  if (n > 0 && !ref.startsWith('//', n)) return ref.slice(0, n);
  const { start, ok } = authorityStart(ref);
  const at = ref.lastIndexOf('@');
  return ok && at >= start ? `${ref.slice(0, start)}[redacted]${ref.slice(at)}` : ref;
}

function isRedirect(status) {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

/** Applies the Fetch standard's method rewrite; false when the body cannot be sent again. */
function followRedirect(req, status) {
  const toGet = status === 303 ? req.method !== 'HEAD' : (status === 301 || status === 302) && req.method === 'POST';
  if (toGet) {
    req.method = 'GET';
    req.body = null;
    req.replayable = true;
    for (const name of ['content-encoding', 'content-language', 'content-location', 'content-type', 'content-length']) req.headers.delete(name);
    return true;
  }
  return req.replayable;
}

/** A copy of a response whose text was read, for an error to carry (not enumerable). */
function copyResponse(res, text) {
  try {
    const nullBody = res.status === 204 || res.status === 205 || res.status === 304;
    return new Response(nullBody ? null : text, { status: res.status, statusText: res.statusText, headers: res.headers });
  } catch {
    return res;
  }
}

async function discard(res) {
  try {
    await res.body?.cancel();
  } catch {
    // nothing to do: the connection is released either way
  }
}

function requestsOf(state) {
  const c = state?.counters;
  return (Number(c?.client_credentials_requests) || 0) + (Number(c?.refresh_token_requests) || 0);
}

/**
 * The public token object of a lease.
 * @returns {import('./index.js').Token}
 */
function tokenOf(lease) {
  return {
    accessToken: lease.authorization.slice('Bearer '.length),
    tokenType: 'bearer',
    expiresAt: new Date(lease.expiresAt),
    validUntil: new Date(lease.validUntil),
    refreshTokenExpiresAt: lease.refreshTokenExpiresAt === null ? null : new Date(lease.refreshTokenExpiresAt),
    logins: lease.logins,
    refreshes: lease.refreshes,
  };
}

function sleep(ms) {
  return new Promise((resolve) => { setTimeout(resolve, ms); });
}
