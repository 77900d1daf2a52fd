// @ts-check
// TokenBroker: one token request at a time for a whole Workers deployment, however many
// isolates serve it. This file is the Durable Object: a lease lock queued in memory and the
// token state in its own storage. brokerStorage (broker-storage.js) is the Storage that
// isolates use over RPC; broker-http.js is the same operations over the stub's fetch, for
// Go Workers.
//
// Design. The broker is a Durable Object that is a lock and a store, nothing more. Each
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
// until its lease runs out (the core's lock TTL, since its holder stops extending it), and
// then the next waiter goes; a lock the broker cannot give within waitMs fails, the client
// reports a storage_error and goes on without it. Either costs at most an extra token
// request, never a wrong token: the core re-checks every state it reads.
//
// The lease and the wait are the caller's to name, always: they are the core's (its lock
// TTL and the lock step's limit), which brokerStorage and the Go Workers' store pass. The
// broker has no defaults of its own. The broker's input gate keeps its storage operations
// consistent; its lock serialises the isolates.
import { DurableObject } from 'cloudflare:workers';
import { serveHTTP } from './broker-http.js';

// The entry points import both from here.
export { brokerStorage } from './broker-storage.js';

/** The key of the token state in the broker's storage. */
const STATE_KEY = 'caspio-token-state';

/** The longest lease or wait the broker takes, in milliseconds. */
export const MAX_MS = 300_000;

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
   * (a holder may have died); a caller not granted it within waitMs gets an error. Both
   * are the caller's to name (brokerStorage and the Go Workers' store name the core's lock
   * TTL and lock step limit): the broker has no defaults of its own, and a call that names
   * either badly, or not at all, is a TypeError naming it.
   * @param {{leaseMs: number, waitMs: number}} options
   * @returns {Promise<string>}
   */
  async lock(options) {
    const leaseMs = checkedMs(options?.leaseMs, 'leaseMs', 'lock');
    const waitMs = checkedMs(options?.waitMs, 'waitMs', 'lock');
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
   * false when it is no longer held (its lease ran out). leaseMs is the caller's to name.
   * @param {string} id @param {number} leaseMs
   */
  async extend(id, leaseMs) {
    const ms = checkedMs(leaseMs, 'leaseMs', 'extend');
    if (this.#holder === null || this.#holder.id !== id) return false;
    clearTimeout(this.#holder.timer);
    this.#grant(id, ms);
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
   * the binding's stub.fetch: see broker-http.js.
   * @param {Request} request
   * @returns {Promise<Response>}
   */
  async fetch(request) {
    return serveHTTP(this, request);
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
 * A lease or a wait a caller named: a positive number of milliseconds, at most MAX_MS, or a
 * TypeError naming it (what the HTTP API answers with 400).
 * @param {unknown} v @param {string} name @param {string} method
 */
function checkedMs(v, name, method) {
  if (v === undefined || v === null) {
    throw new TypeError(`caspio-auth: TokenBroker.${method} needs ${name}, a positive number of milliseconds, at most ${MAX_MS}; the broker has no default (brokerStorage passes the core's lock TTL and the lock step's limit)`);
  }
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > MAX_MS) {
    throw new TypeError(`caspio-auth: TokenBroker.${method}: ${name} must be a positive number of milliseconds, at most ${MAX_MS}`);
  }
  return v;
}
