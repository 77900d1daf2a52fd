// @ts-check
// TokenBroker and brokerStorage: one token request at a time for a whole Workers
// deployment, however many isolates serve it.
//
// Design. The broker is a Durable Object that is a lock and a store, nothing more: it holds
// the token state in its own storage (this.ctx.storage) and a lease lock in memory. Each
// isolate keeps its own client (the core and the lease in memory, so the hot path makes no
// broker call at all), with brokerStorage as its Storage: when a token is needed, the
// client takes the broker's lock, reads the state, lets the core decide, makes the token
// request only if the state read under the lock still needs one, stores the result and
// releases the lock. So 200 cold requests across isolates make one login (the first
// holder's; the others read its token under the lock), and an expiry makes one refresh.
// This is the acquisition loop every runtime already runs over a locked store (Node's
// fileStorage is the same idea): nothing new to get wrong.
//
// Why not let the broker run a client of its own and hand out leases? That DO would need
// the client secret and the WebAssembly core, and a Storage-shaped API could not express
// it. The price of this design: a holder whose request dies mid-acquisition keeps the lock
// until its lease runs out (default 30 s: one token request's default timeout), and then
// the next waiter goes; a lock the broker cannot give within waitMs fails, the client
// reports a storage_error and goes on without it. Either costs at most an extra token
// request, never a wrong token: the core re-checks every state it reads.
//
// brokerStorage calls the stub through JS RPC (compatibility date 2024-04-03 or later):
// typed calls with structured-clone values, no routes or JSON to parse. Workers that cannot
// make JS RPC calls (Go Workers built with syumai/workers, through caspio-auth's Go package
// workers, NewBrokerStore) use the same operations through the stub's fetch: see fetch
// below. A Durable Object has no public URL, so that handler is reachable only by Workers
// holding the binding, which are trusted with the tokens anyway; it still checks its input
// and never echoes it. The broker's input gate keeps its storage operations consistent;
// its lock serialises the isolates.
import { DurableObject } from 'cloudflare:workers';

/** The key of the token state in the broker's storage. */
const STATE_KEY = 'caspio-token-state';

const DEFAULT_LEASE_MS = 30_000;
const DEFAULT_WAIT_MS = 60_000;
const MAX_MS = 300_000;

/**
 * The Durable Object class that holds the token state of a deployment and a lock over it.
 * Export it from the Worker's main module and bind it (durable_objects in wrangler.jsonc);
 * reach it through brokerStorage. Its methods are called over RPC by brokerStorage.
 */
export class TokenBroker extends DurableObject {
  /** @type {null | {id: string, timer: ReturnType<typeof setTimeout>}} */
  #holder = null;
  /** @type {{id: string, leaseMs: number, grant: (id: string) => void, timer: ReturnType<typeof setTimeout>}[]} */
  #waiters = [];

  /**
   * Waits for the lock and returns its ID, for unlock. The lock lapses after leaseMs
   * (a holder may have died); a caller not granted it within waitMs gets an error.
   * @param {{leaseMs?: number, waitMs?: number}} [options]
   * @returns {Promise<string>}
   */
  async lock(options = {}) {
    const leaseMs = boundedMs(options?.leaseMs, DEFAULT_LEASE_MS);
    const waitMs = boundedMs(options?.waitMs, DEFAULT_WAIT_MS);
    const id = crypto.randomUUID();
    if (this.#holder === null) {
      this.#grant(id, leaseMs);
      return id;
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        id,
        leaseMs,
        grant: resolve,
        timer: setTimeout(() => {
          const i = this.#waiters.indexOf(waiter);
          if (i >= 0) this.#waiters.splice(i, 1);
          reject(new Error(`caspio-auth: TokenBroker: waited ${waitMs} ms for the token lock`));
        }, waitMs),
      };
      this.#waiters.push(waiter);
    });
  }

  /**
   * Extends the lease of lock id to leaseMs from now, as its holder does while it works;
   * false when it is no longer held (its lease ran out).
   * @param {string} id @param {number} [leaseMs]
   */
  async extend(id, leaseMs) {
    if (this.#holder === null || this.#holder.id !== id) return false;
    clearTimeout(this.#holder.timer);
    this.#grant(id, boundedMs(leaseMs, DEFAULT_LEASE_MS));
    return true;
  }

  /**
   * Releases the lock id; false when it is no longer held (its lease ran out).
   * @param {string} id
   */
  async unlock(id) {
    if (this.#holder === null || this.#holder.id !== id) return false;
    clearTimeout(this.#holder.timer);
    this.#holder = null;
    this.#next();
    return true;
  }

  /** The stored token state, or null. */
  async getState() {
    return (await this.ctx.storage.get(STATE_KEY)) ?? null;
  }

  /** @param {object} state */
  async setState(state) {
    if (typeof state !== 'object' || state === null || Array.isArray(state)) {
      throw new TypeError('caspio-auth: TokenBroker.setState(state) takes the token state object');
    }
    await this.ctx.storage.put(STATE_KEY, state);
  }

  async deleteState() {
    await this.ctx.storage.delete(STATE_KEY);
  }

  /**
   * The same operations over HTTP, for Workers that cannot use JS RPC (Go Workers), through
   * the binding's stub.fetch (a Durable Object has no public URL):
   *
   *   POST   /lock    {"leaseMs"?: n, "waitMs"?: n} -> 200 {"id": "..."}; 503 lock_timeout
   *   POST   /extend  {"id": "...", "leaseMs"?: n}   -> 200 {"extended": true|false}
   *   POST   /unlock  {"id": "..."}                  -> 200 {"released": true|false}
   *   GET    /state                                  -> 200 the state JSON, or 204 when none
   *   PUT    /state   the state JSON (an object)     -> 204
   *   DELETE /state                                  -> 204
   *
   * Errors are JSON {"error": code, "message": text} (400 bad_request, 404 not_found, 405
   * method_not_allowed, 413 too_large, 415 unsupported_media_type, 503 lock_timeout) and
   * never quote the request: a state sent with PUT holds tokens.
   * @param {Request} request
   * @returns {Promise<Response>}
   */
  async fetch(request) {
    const { pathname } = new URL(request.url);
    const methods = ROUTES[pathname];
    if (methods === undefined) return httpError(404, 'not_found', 'the TokenBroker serves /lock, /extend, /unlock and /state');
    if (!methods.includes(request.method)) {
      return httpError(405, 'method_not_allowed', `${pathname} takes ${methods.join(', ')}`, { Allow: methods.join(', ') });
    }
    switch (`${request.method} ${pathname}`) {
      case 'POST /lock': {
        const body = await readJSON(request, true);
        if (body instanceof Response) return body;
        for (const key of Object.keys(body)) {
          if (key !== 'leaseMs' && key !== 'waitMs') return httpError(400, 'bad_request', 'the lock options are leaseMs and waitMs');
        }
        for (const key of /** @type {const} */ (['leaseMs', 'waitMs'])) {
          const v = body[key];
          if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > MAX_MS)) {
            return httpError(400, 'bad_request', `${key} must be a positive number of milliseconds, at most ${MAX_MS}`);
          }
        }
        try {
          return Response.json({ id: await this.lock(body) });
        } catch {
          return httpError(503, 'lock_timeout', `waited ${boundedMs(body.waitMs, DEFAULT_WAIT_MS)} ms for the token lock`);
        }
      }
      case 'POST /extend': {
        const body = await readJSON(request, false);
        if (body instanceof Response) return body;
        const { id, leaseMs, ...rest } = body;
        if (typeof id !== 'string' || id === '' || id.length > 100 || Object.keys(rest).length > 0 ||
            (leaseMs !== undefined && (typeof leaseMs !== 'number' || !Number.isFinite(leaseMs) || leaseMs <= 0 || leaseMs > MAX_MS))) {
          return httpError(400, 'bad_request', `extend takes {"id": the ID that /lock returned, "leaseMs"?: a positive number of milliseconds, at most ${MAX_MS}}`);
        }
        return Response.json({ extended: await this.extend(id, leaseMs) });
      }
      case 'POST /unlock': {
        const body = await readJSON(request, false);
        if (body instanceof Response) return body;
        if (typeof body.id !== 'string' || body.id === '' || body.id.length > 100 || Object.keys(body).length !== 1) {
          return httpError(400, 'bad_request', 'unlock takes {"id": the ID that /lock returned}');
        }
        return Response.json({ released: await this.unlock(body.id) });
      }
      case 'GET /state': {
        const state = await this.getState();
        if (state === null) return new Response(null, { status: 204 });
        return Response.json(state, { headers: { 'Cache-Control': 'no-store' } });
      }
      case 'PUT /state': {
        const body = await readJSON(request, false);
        if (body instanceof Response) return body;
        await this.setState(body);
        return new Response(null, { status: 204 });
      }
      default: // DELETE /state
        await this.deleteState();
        return new Response(null, { status: 204 });
    }
  }

  /** @param {string} id @param {number} leaseMs */
  #grant(id, leaseMs) {
    const timer = setTimeout(() => {
      if (this.#holder?.id !== id) return;
      this.#holder = null;
      this.#next();
    }, leaseMs);
    this.#holder = { id, timer };
  }

  #next() {
    const waiter = this.#waiters.shift();
    if (waiter === undefined) return;
    clearTimeout(waiter.timer);
    this.#grant(waiter.id, waiter.leaseMs);
    waiter.grant(waiter.id);
  }
}

/**
 * Returns a storage whose state and lock are the TokenBroker's named name in namespace:
 * isolates sharing it make one token request at a time between them.
 * @param {import('./index.js').TokenBrokerNamespace} namespace the binding, e.g. env.CASPIO_BROKER
 * @param {string} [name] the broker's name; one per client ID when several share a namespace
 * @param {{lockLease?: number, lockTimeout?: number}} [options] in milliseconds
 * @returns {import('./index.js').Storage & {readonly name: string}}
 */
export function brokerStorage(namespace, name = 'default', options = {}) {
  if (typeof namespace !== 'object' || namespace === null ||
      typeof namespace.idFromName !== 'function' || typeof namespace.get !== 'function') {
    throw new TypeError('caspio-auth: brokerStorage(namespace, name) takes a Durable Object namespace binding of the TokenBroker class, such as env.CASPIO_BROKER; add it to durable_objects in wrangler.jsonc and export TokenBroker from the Worker');
  }
  if (typeof name !== 'string' || name === '') {
    throw new TypeError('caspio-auth: brokerStorage(namespace, name): name must be a non-empty string, e.g. "default"');
  }
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('caspio-auth: brokerStorage(namespace, name, options): options must be an object such as {lockLease: 30000}');
  }
  const unknown = Object.keys(options).filter((k) => k !== 'lockLease' && k !== 'lockTimeout');
  if (unknown.length > 0) {
    throw new TypeError(`caspio-auth: unknown brokerStorage option${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; the options are lockLease and lockTimeout`);
  }
  for (const key of /** @type {const} */ (['lockLease', 'lockTimeout'])) {
    const v = options[key];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > MAX_MS)) {
      throw new TypeError(`caspio-auth: brokerStorage option ${key} must be a positive number of milliseconds, at most ${MAX_MS}`);
    }
  }
  const lockOptions = { leaseMs: options.lockLease ?? DEFAULT_LEASE_MS, waitMs: options.lockTimeout ?? DEFAULT_WAIT_MS };
  const id = namespace.idFromName(name);
  // A stub per call (cheap): a stub made in one request's context is never used by another.
  const broker = () => /** @type {TokenBroker} */ (namespace.get(id));

  return {
    name,
    async get() { return (await broker().getState()) ?? null; },
    async set(state) { await broker().setState(state); },
    async delete() { await broker().deleteState(); },
    /**
     * The lock, held for the core's lock TTL (or the lockLease option) and extended by a timer
     * of the request that took it, as the core's policy says: a holder whose request ends
     * (its caller went away, its handler threw) stops extending it, and it lapses within a
     * TTL instead of blocking the deployment for a whole lease.
     * The wait is the lock step's limit (the core's LockTimeout of the client's tokenTimeout)
     * unless the lockTimeout option says otherwise.
     * @param {{policy?: {timeout_ms?: number, lock_ttl_ms?: number, lock_extend_ms?: number}}} [how] what the lock step passes
     */
    async lock(how) {
      const policy = how?.policy;
      const leaseMs = policy?.lock_ttl_ms && options.lockLease === undefined ? policy.lock_ttl_ms : lockOptions.leaseMs;
      const extendMs = policy?.lock_extend_ms ?? leaseMs / 3;
      const waitMs = policy?.timeout_ms && options.lockTimeout === undefined ? Math.min(policy.timeout_ms, MAX_MS) : lockOptions.waitMs;
      const lockId = await broker().lock({ leaseMs, waitMs });
      const extending = setInterval(() => { broker().extend(lockId, leaseMs).catch(() => {}); }, extendMs);
      return async () => {
        clearInterval(extending);
        await broker().unlock(lockId);
      };
    },
    toJSON() { return { storage: 'broker', name }; },
  };
}

/** The fetch interface's paths and the methods each takes. */
const ROUTES = /** @type {Record<string, string[]>} */ ({
  __proto__: null,
  '/lock': ['POST'],
  '/extend': ['POST'],
  '/unlock': ['POST'],
  '/state': ['GET', 'PUT', 'DELETE'],
});

/** The largest request body the fetch interface reads: a token state is a few hundred bytes. */
const MAX_BODY = 64 * 1024;

/**
 * Reads a request body that must be a JSON object (or empty, when emptyOK), or returns the
 * error Response. The error never quotes the body.
 * @param {Request} request @param {boolean} emptyOK
 * @returns {Promise<Record<string, any> | Response>}
 */
async function readJSON(request, emptyOK) {
  const type = request.headers.get('Content-Type');
  if (type !== null && !/^application\/json\s*(;|$)/i.test(type)) {
    return httpError(415, 'unsupported_media_type', 'the body must be application/json');
  }
  const declared = Number(request.headers.get('Content-Length') ?? 0);
  if (declared > MAX_BODY) return httpError(413, 'too_large', `the body must be at most ${MAX_BODY} bytes`);
  let text = '';
  if (request.body !== null) {
    const reader = request.body.getReader();
    const decoder = new TextDecoder('utf-8', { fatal: true });
    let size = 0;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.byteLength;
        if (size > MAX_BODY) {
          await reader.cancel();
          return httpError(413, 'too_large', `the body must be at most ${MAX_BODY} bytes`);
        }
        text += decoder.decode(value, { stream: true });
      }
      text += decoder.decode();
    } catch {
      return httpError(400, 'bad_request', 'the body is not UTF-8 JSON');
    }
  }
  if (text.trim() === '') {
    return emptyOK ? {} : httpError(400, 'bad_request', 'the body must be a JSON object');
  }
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    return httpError(400, 'bad_request', 'the body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return httpError(400, 'bad_request', 'the body must be a JSON object');
  }
  return value;
}

/** @param {number} status @param {string} code @param {string} message @param {Record<string, string>} [headers] */
function httpError(status, code, message, headers = {}) {
  return Response.json({ error: code, message: `caspio-auth: TokenBroker: ${message}` }, { status, headers });
}

/** @param {unknown} v @param {number} fallback */
function boundedMs(v, fallback) {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.min(v, MAX_MS) : fallback;
}
