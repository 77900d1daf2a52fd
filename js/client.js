// @ts-check
// The client that createClient makes (CaspioClient in index.d.ts). It keeps only what lets
// the hot path (a valid token, a path seen before) make no call into the core: the lease
// the core handed out and the URLs it resolved. Anything else is a conversation with the
// core, which drive.js runs.
import { call } from './core.js';
import { CaspioConfigError } from './errors.js';
import { prepare, send } from './perform.js';
import { Driver } from './drive.js';
import { RecordsRead, insertRecords, updateRecords, deleteRecords } from './records.js';

/** Resolved URLs a client keeps, first in first out: a program's handful of paths, bounded for one that makes a URL per request. */
export const RESOLVE_CACHE_SIZE = 1000;

/** Its secrets live in the core and in private fields only. */
export class CaspioClient {
  #core; #h; #desc; #fetch; #now; #manualRedirects; #driver; #unsubscribe;
  /** @type {Set<(event: import('./index.js').ClientEvent) => void>} */
  #listeners = new Set();
  #closed = false;
  /** @type {any} the last done or fail step with a lease: its lease is sent until lease.valid_until, or until a 401 */
  #lease = null;
  /** @type {Map<string, string>} */
  #urls = new Map();

  /**
   * @param {any} core @param {{handle: number, description: any}} opened @param {any} options @param {any} storage
   * @param {{manualRedirects: boolean, requestContexts: boolean}} platform see createRuntime
   */
  constructor(core, { handle, description }, options, storage, { manualRedirects, requestContexts }) {
    this.#core = core;
    this.#h = handle;
    this.#desc = description;
    const fetchFn = options.fetch;
    // Called as a plain function (a browser's fetch throws "Illegal invocation" as another
    // object's method), and the global read per call, not when the package loads.
    this.#fetch = fetchFn ? (input, init) => fetchFn(input, init) : (input, init) => globalThis.fetch(input, init);
    this.#now = options.now ?? Date.now;
    this.#manualRedirects = manualRedirects;
    if (options.onEvent) this.#listeners.add(options.onEvent);
    this.#driver = new Driver(core, handle, {
      fetch: this.#fetch, storage, now: this.#now, manualRedirects, requestContexts, emit: (e) => this.#emit(e),
      onLease: (step) => { this.#lease = step?.lease ? step : null; },
    });
    // A storage that others write (tabs sharing webStorage) says when it changed: the lease
    // is dropped, and the core reads the store before it trusts its memory again.
    const stop = storage.subscribe?.(() => {
      this.#lease = null;
      if (!this.#closed) core.storeChanged(handle);
    });
    this.#unsubscribe = typeof stop === 'function' ? stop : undefined;
  }

  /** @param {RequestInfo | URL} input @param {RequestInit & {retry?: boolean}} [init] */
  async fetch(input, init) {
    this.#checkOpen();
    let noRetry = false;
    if (typeof init === 'object' && init !== null && 'retry' in init) {
      const { retry, ...rest } = init; // retry: false, this request's opt-out of sending again
      noRetry = retry === false;
      init = rest;
    }
    const req = await prepare(input, init);
    const signal = /** @type {AbortSignal | undefined} */ (req.extra.signal ?? undefined);
    const lease = this.#valid();
    let sent;
    let first;
    if (lease !== null) {
      const url = this.#resolve(req.ref);
      try {
        sent = await send(this.#fetch, url, req, { authorization: lease.lease.authorization, keepBody: true, method: req.method, manualRedirects: this.#manualRedirects });
      } catch (error) {
        if (signal?.aborted) throw error;
        // No answer: the core says whether to send it again (an idempotent request) or not.
        const start = call(this.#core.fetch, this.#h, fetchRequest(req, lease, noRetry), this.#now());
        first = call(this.#core.next, this.#h, start.conversation, { kind: 'send', now: this.#now(), jitter: Math.random(), response: { status: 0, error: error?.message || 'fetch failed' } });
        if (first.kind === 'fail') throw error;
      }
      // The hot path ends here, unless the core must see the answer (a 401, a redirect, a
      // 429, a 5xx): the core's rule (caspio.Final), as the table it exports once.
      if (sent !== undefined && this.#core.finalStatuses[sent.status] === '1') return sent;
    }
    const run = this.#driver.run(first ?? call(this.#core.fetch, this.#h, fetchRequest(req, lease, noRetry), this.#now()), { req, signal, sent });
    const { response, firstUrl } = await abortable(run, signal);
    if (lease === null && firstUrl !== undefined && !this.#urls.has(req.ref)) this.#remember(req.ref, firstUrl);
    return /** @type {Response} */ (response);
  }

  /** @param {string} table @param {import('./index.js').RecordsQuery} [query] */
  records(table, query) { return new RecordsRead(this.#records(), 'tables', table, query); }

  /** @param {string} view @param {import('./index.js').RecordsQuery} [query] */
  viewRecords(view, query) { return new RecordsRead(this.#records(), 'views', view, query); }

  /** @param {string} table @param {object[]} rows @param {{returnRows?: boolean}} [options] */
  insertRecords(table, rows, options) { return insertRecords(this.#records(), table, rows, options); }

  /** @param {string} table @param {string} where @param {object} values @param {{returnRows?: boolean}} [options] */
  updateRecords(table, where, values, options) { return updateRecords(this.#records(), table, where, values, options); }

  /** @param {string} table @param {string} where */
  deleteRecords(table, where) { return deleteRecords(this.#records(), table, where); }

  #records() {
    this.#checkOpen();
    return { core: this.#core, h: this.#h, fetch: (/** @type {string} */ url, /** @type {any} */ init) => this.fetch(url, init) };
  }

  /** @param {string | URL} ref */
  resolve(ref) {
    this.#checkOpen();
    if (typeof ref !== 'string' && !(ref instanceof URL)) {
      throw new TypeError('caspio-auth: resolve(ref) takes a path such as "tables" or a URL on the resource endpoint');
    }
    return this.#resolve(String(ref));
  }

  async token() {
    this.#checkOpen();
    return tokenOf(this.#valid() ?? await this.#acquire('token'));
  }

  async authenticate() {
    this.#checkOpen();
    return tokenOf(await this.#acquire('authenticate'));
  }

  async refresh() {
    this.#checkOpen();
    return tokenOf(await this.#acquire('refresh'));
  }

  /** @returns {import('./index.js').ClientStatus} */
  status() {
    this.#checkOpen();
    const s = this.#core.status(this.#h, this.#now());
    const c = s.counters;
    return {
      refreshMargin: s.refresh_margin_ms / 1000, accessTokenExpiresAt: date(s.access_token_expires_at), leaseValidUntil: date(s.lease_valid_until),
      leaseValid: this.#valid() !== null, refreshTokenExpiresAt: date(s.refresh_token_expires_at), next: s.next,
      tokenRequests: { client_credentials: c.client_credentials_requests, refresh_token: c.refresh_token_requests }, logins: c.logins, refreshes: c.refreshes,
      unauthorizedRetries: s.unauthorized_retries, revoked: s.revoked, acquiring: s.acquiring || null, hold: s.hold || null,
    };
  }

  stats() {
    const { tokenRequests, logins, refreshes, unauthorizedRetries } = this.status();
    return { tokenRequests, logins, refreshes, unauthorizedRetries };
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
    this.#urls.clear();
    this.#listeners.clear();
    this.#unsubscribe?.();
    this.#core.close(this.#h);
    this.#driver.close();
  }

  toJSON() {
    const { tokenUrl, resourceBase, apiVersion, clientId, credentials } = this.#desc;
    return { tokenUrl, resourceBase, apiVersion, clientId, credentials };
  }

  get [Symbol.toStringTag]() { return 'CaspioClient'; }

  [Symbol.for('nodejs.util.inspect.custom')](depth, options, inspect) {
    const shown = { ...this.toJSON(), clientSecret: '[redacted]', closed: this.#closed };
    return typeof inspect === 'function' ? `CaspioClient ${inspect(shown, options)}` : `CaspioClient ${JSON.stringify(shown)}`;
  }

  #checkOpen() {
    if (this.#closed) throw new CaspioConfigError('caspio-auth: the client is closed; create a new client with createClient', { field: 'client' });
  }

  /** The step whose lease may be sent now, else null. */
  #valid() {
    return this.#lease !== null && this.#now() < this.#lease.lease.valid_until ? this.#lease : null;
  }

  /** @param {'token' | 'authenticate' | 'refresh'} mode */
  async #acquire(mode) {
    return (await this.#driver.run(call(this.#core[mode], this.#h, this.#now()))).step;
  }

  /** The URL the core resolves ref to, from the cache when it was resolved before; throws the core's CaspioURLError. @param {string} ref */
  #resolve(ref) {
    return this.#urls.get(ref) ?? this.#remember(ref, call(this.#core.resolve, this.#h, ref));
  }

  #remember(ref, url) {
    if (this.#urls.size >= RESOLVE_CACHE_SIZE) this.#urls.delete(/** @type {string} */ (this.#urls.keys().next().value));
    this.#urls.set(ref, url);
    return url;
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
}

/** The core's fetch request for req: with the lease's Authorization when it was sent with it. @param {any} req @param {any} lease @param {boolean} noRetry */
function fetchRequest(req, lease, noRetry) {
  return { method: req.method, ref: req.ref, oneShot: req.oneShot, redirect: req.redirect, authorization: lease !== null ? lease.lease.authorization : '', noRetry };
}

/** The token object of a done step. @returns {import('./index.js').Token} */
function tokenOf({ lease, status: s }) {
  return {
    accessToken: lease.authorization.slice('Bearer '.length), tokenType: 'bearer', expiresAt: new Date(s.access_token_expires_at),
    validUntil: new Date(lease.valid_until), refreshTokenExpiresAt: date(s.refresh_token_expires_at), logins: s.counters.logins, refreshes: s.counters.refreshes,
  };
}

/** @param {number | null} t */
const date = (t) => (t === null ? null : new Date(t));

/**
 * The promise, or its caller's abort: the work goes on for others (a shared acquisition).
 * @template T @param {Promise<T>} promise @param {AbortSignal | undefined} signal @returns {Promise<T>}
 */
function abortable(promise, signal) {
  if (!signal) return promise;
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
