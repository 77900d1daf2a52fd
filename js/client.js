// @ts-check
// The client that createClient makes (CaspioClient in index.d.ts). It keeps only what lets
// the hot path (a valid token, a path seen before) make no call into the core: the lease
// the core handed out and the URLs it resolved. Anything else is a conversation with the
// core, which drive.js runs.
import { call } from './core.js';
import { CaspioConfigError } from './errors.js';
import { checkOptions } from './options.js';
import { prepare, send } from './perform.js';
import { Driver } from './drive.js';
import { RecordsRead, insertRecords, updateRecords, deleteRecords } from './records.js';

/** Resolved URLs a client keeps, first in first out: a program's handful of paths, bounded for one that makes a URL per request. */
export const RESOLVE_CACHE_SIZE = 1000;

/**
 * Its secrets live in the core and in private fields only. A client made from a stored lease
 * (startLease) has no core until it needs one: its fetch sends with the lease the core wrote,
 * to the URLs it resolved, and any other call, or an answer other than a success, starts
 * the core and hands it the conversation.
 */
export class CaspioClient {
  /** @type {any} */ #core = null;
  #h = 0; #desc; #fetch; #now; #manualRedirects; #platform; #storage;
  /** @type {Driver | undefined} */ #driver;
  /** @type {(() => void) | undefined} */ #unsubscribe;
  /** @type {{connect: () => Promise<any>, connectSync: () => any} | null} how a client made from a stored lease gets its core */
  #lazy = null;
  /** @type {Promise<void> | undefined} */ #connecting;
  /** @type {{authorization: string, valid_until: number, urls: Map<string, string>} | null} the stored lease, until the core runs */
  #start = null;
  /** @type {Set<(event: import('./index.js').ClientEvent) => void>} */
  #listeners = new Set();
  #closed = false;
  /** @type {any} the last done or fail step with a lease: its lease is sent until lease.valid_until, or until a 401 */
  #lease = null;
  /** @type {Map<string, string>} */
  #urls = new Map();

  /**
   * @param {{connect: () => Promise<any>, connectSync: () => any, start: any} | null} lazy for a client made from a stored lease: how it gets its core
   * @param {{core: any, opened: {handle: number, description: any}} | null} connected the core and the client's handle in it, unless lazy
   * @param {any} options @param {any} storage
   * @param {{manualRedirects: boolean, requestContexts: boolean}} platform see createRuntime
   */
  constructor(lazy, connected, options, storage, platform) {
    this.#platform = platform;
    this.#storage = storage;
    const fetchFn = options.fetch;
    // Called as a plain function (a browser's fetch throws "Illegal invocation" as another
    // object's method), and the global read per call, not when the package loads.
    this.#fetch = fetchFn ? (input, init) => fetchFn(input, init) : (input, init) => globalThis.fetch(input, init);
    this.#now = options.now ?? Date.now;
    this.#manualRedirects = platform.manualRedirects;
    if (options.onEvent) this.#listeners.add(options.onEvent);
    if (connected !== null) this.#attach(connected);
    else if (lazy !== null) {
      this.#lazy = lazy;
      this.#start = lazy.start;
    }
  }

  /** Takes the client's core and handle. @param {{core: any, opened: {handle: number, description: any}}} connected */
  #attach({ core, opened: { handle, description } }) {
    if (this.#core !== null) return;
    this.#core = core;
    this.#h = handle;
    this.#desc = description;
    this.#start = null; // from now on the core decides
    if (this.#closed) {
      core.close(handle);
      return;
    }
    const storage = this.#storage;
    this.#driver = new Driver(core, handle, {
      fetch: this.#fetch, storage, now: this.#now, manualRedirects: this.#manualRedirects, requestContexts: this.#platform.requestContexts, emit: (e) => this.#emit(e),
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

  /** The client's core, started if it has not: its config errors are thrown here. */
  async #ready() {
    if (this.#core !== null) return;
    this.#connecting ??= /** @type {any} */ (this.#lazy).connect().then((c) => { this.#attach(c); }, (err) => {
      this.#connecting = undefined; // a failed start may be tried again
      throw err;
    });
    await this.#connecting;
    this.#checkOpen(); // closed while it started
  }

  /** The client's core now, started synchronously if it has not, for the synchronous methods. */
  #readyNow() {
    if (this.#core === null) this.#attach(/** @type {any} */ (this.#lazy).connectSync());
    return this.#core;
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
    if (this.#core === null) return this.#fetchFirst(req, signal, noRetry);
    return this.#fetchWith(req, signal, noRetry, this.#valid());
  }

  /**
   * A fetch before the core runs: sent with the stored lease when it is valid and the
   * reference is one its core resolved; a success is the answer, anything else (and a
   * reference the lease does not know) starts the core, which is handed the answer as the
   * hot path hands it one. @param {any} req @param {AbortSignal | undefined} signal @param {boolean} noRetry
   */
  async #fetchFirst(req, signal, noRetry) {
    const start = this.#start;
    const url = start !== null && this.#now() < start.valid_until ? start.urls.get(req.ref) : undefined;
    if (start === null || url === undefined) {
      await this.#ready();
      return this.#fetchWith(req, signal, noRetry, this.#valid());
    }
    const lease = { lease: { authorization: start.authorization, valid_until: start.valid_until } };
    let sent;
    try {
      sent = await send(this.#fetch, url, req, { authorization: start.authorization, keepBody: true, method: req.method, manualRedirects: this.#manualRedirects });
    } catch (error) {
      if (signal?.aborted) throw error;
      await this.#ready();
      return this.#fetchWith(req, signal, noRetry, lease, error);
    }
    if (sent.status >= 200 && sent.status < 300) return sent;
    this.#start = null; // the core decides what the answer means, and what is sent next
    await this.#ready();
    return this.#fetchWith(req, signal, noRetry, lease, undefined, sent);
  }

  /**
   * A fetch with the lease (or none), through the core when the hot path cannot end it.
   * failed: the error of a send made with it before; sent: the answer to one.
   * @param {any} req @param {AbortSignal | undefined} signal @param {boolean} noRetry @param {any} lease
   * @param {unknown} [failed] @param {Response} [sent]
   */
  async #fetchWith(req, signal, noRetry, lease, failed, sent) {
    let first;
    if (lease !== null && sent === undefined && failed === undefined) {
      const url = this.#resolve(req.ref);
      try {
        sent = await send(this.#fetch, url, req, { authorization: lease.lease.authorization, keepBody: true, method: req.method, manualRedirects: this.#manualRedirects });
      } catch (error) {
        if (signal?.aborted) throw error;
        failed = error;
      }
      // The hot path ends here, unless the core must see the answer (a 401, a redirect, a
      // 429, a 5xx): the core's rule (caspio.Final), as the table it exports once.
      if (sent !== undefined && this.#core.finalStatuses[sent.status] === '1') return sent;
    }
    if (failed !== undefined) {
      // No answer: the core says whether to send it again (an idempotent request) or not.
      const start = call(this.#core.fetch, this.#h, fetchRequest(req, lease, noRetry), this.#now());
      first = call(this.#core.next, this.#h, start.conversation, { kind: 'send', now: this.#now(), jitter: Math.random(), response: { status: 0, error: /** @type {any} */ (failed)?.message || 'fetch failed' } });
      if (first.kind === 'fail') throw failed;
    }
    const run = /** @type {Driver} */ (this.#driver).run(first ?? call(this.#core.fetch, this.#h, fetchRequest(req, lease, noRetry), this.#now()), { req, signal, sent });
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
    const core = this.#readyNow();
    return { core, h: this.#h, fetch: (/** @type {string} */ url, /** @type {any} */ init) => this.fetch(url, init) };
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
    await this.#ready();
    return tokenOf(this.#valid() ?? await this.#acquire('token'));
  }

  async authenticate() {
    this.#checkOpen();
    await this.#ready();
    return tokenOf(await this.#acquire('authenticate'));
  }

  async refresh() {
    this.#checkOpen();
    await this.#ready();
    return tokenOf(await this.#acquire('refresh'));
  }

  /** @returns {import('./index.js').ClientStatus} */
  status() {
    this.#checkOpen();
    const s = this.#readyNow().status(this.#h, this.#now());
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
    this.#start = null;
    this.#unsubscribe?.();
    if (this.#core === null) return; // never started, or starting: #attach closes its handle
    this.#core.close(this.#h);
    this.#driver?.close();
  }

  toJSON() {
    if (this.#core === null && !this.#closed) this.#readyNow();
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
    return this.#urls.get(ref) ?? this.#remember(ref, call(this.#readyNow().resolve, this.#h, ref));
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

/**
 * The client's options, storage and stored lease when a client may be made before its core
 * starts (createClient with a platform that can start the core synchronously later): the
 * storage reads synchronously (peek), and holds a lease that the core wrote under key(opts),
 * valid now, for at least one URL. Else null, and the client is made with its core, which
 * judges the options and names what is wrong with them.
 * @param {unknown} options @param {(opts: any) => string} key
 */
export function startLease(options, key) {
  try {
    const opts = checkOptions(options, { showUnknown: (_field, typed) => typed });
    const storage = /** @type {any} */ (opts.storage);
    if (typeof storage?.peek !== 'function') return null;
    const l = storage.peek()?.lease;
    if (typeof l !== 'object' || l === null || l.key !== key(opts) || typeof l.authorization !== 'string' || typeof l.valid_until !== 'number') return null;
    if (!((opts.now ?? Date.now)() < l.valid_until) || typeof l.urls !== 'object' || l.urls === null) return null;
    const urls = new Map(Object.entries(l.urls).filter(([, url]) => typeof url === 'string'));
    if (urls.size === 0) return null;
    return { opts, storage, lease: { authorization: l.authorization, valid_until: l.valid_until, urls } };
  } catch {
    return null; // the core's start will say what is wrong, or read the store itself
  }
}
