// @ts-check
// The step loop of a client, as doc.go shows it: perform the step the core asks for, feed
// the result back, until a done or fail step. Every rule (when to lock, read, write, retry,
// wait, refresh, follow a redirect) is the core's; this file performs, and does the waiting
// that the core may not (Go never awaits: see DESIGN.md).
import { call } from './core.js';
import { fromCore, withResponse } from './errors.js';
import * as http from './perform.js';
import * as store from './store-steps.js';

/**
 * @typedef {{fetch: (input: any, init?: any) => Promise<Response>, storage: import('./index.js').Storage, now: () => number,
 *   manualRedirects: boolean, emit: (event: object) => void, onLease: (step: any) => void}} IO
 */

export class Driver {
  /** @type {Map<number, {promise: Promise<void>, resolve: () => void}>} the flights conversations wait on */
  #flights = new Map();

  /** @param {any} core @param {number} handle @param {IO} io */
  constructor(core, handle, io) {
    this.core = core;
    this.h = handle;
    this.io = io;
  }

  /**
   * Runs a conversation from its first step to done (returned, with a fetch's response) or
   * fail (thrown). One that runs a flight goes on when its caller aborts: others wait on it.
   * @param {any} step @param {{req?: import('./perform.js').Prepared, signal?: AbortSignal, sent?: Response}} [options] sent: the hot path's response to the first send
   */
  async run(step, { req, signal, sent } = {}) {
    const c = { release: null, pending: sent, response: null, firstUrl: undefined, token: null, storeError: undefined, sendError: undefined };
    try {
      for (;;) {
        this.#wake(step.landed);
        for (const e of step.events ?? []) this.#report(e, c);
        if (step.kind === 'done' || step.kind === 'fail') break;
        if (signal?.aborted && (step.kind === 'join' || !step.flight)) step = this.core.abandon(this.h, step.conversation) ?? step;
        else step = call(this.core.next, this.h, step.conversation, await this.#perform(step, c, req));
      }
    } catch (err) { // the driver's own failure (a closed client): end the conversation, free the lock
      try {
        if (step.conversation) this.#wake(this.core.abandon(this.h, step.conversation)?.landed);
      } finally {
        await store.unlock(c.release);
      }
      throw err;
    }
    this.io.onLease(step);
    if (step.kind === 'done') return { step, response: c.response, firstUrl: c.firstUrl };
    await http.discard(c.response);
    throw signal?.aborted ? signal.reason : this.#error(step.error, c, false);
  }

  /** Wakes the conversations waiting on a flight: the client is closing. */
  close() {
    for (const id of [...this.#flights.keys()]) this.#wake(id);
  }

  async #perform(step, c, req) {
    const { storage } = this.io;
    let out = { result: {} };
    switch (step.kind) {
      case 'token_request':
        out = c.token = await http.tokenRequest(this.io.fetch, step);
        break;
      case 'send':
        await http.discard(c.response);
        c.firstUrl ??= step.url; // for a fresh fetch, the URL its reference resolves to
        try {
          c.response = c.pending ?? await http.send(this.io.fetch, step.url, req, { authorization: step.authorization, keepBody: step.keep_body, method: step.method, manualRedirects: this.io.manualRedirects });
        } catch (error) {
          c.response = null;
          c.sendError = error;
          out = { result: { response: { status: 0, error: error?.message || 'fetch failed' } } };
          break;
        }
        c.pending = undefined;
        out = { result: http.sendResult(c.response) };
        break;
      case 'lock':
        out = await store.lock(storage, step.timeout_ms);
        c.release = out.release ?? null;
        break;
      case 'read':
        out = await store.read(storage);
        break;
      case 'write':
        out = await store.write(storage, step);
        break;
      case 'unlock':
        out = await store.unlock(c.release);
        c.release = null;
        break;
      case 'wait':
        await new Promise((resolve) => { setTimeout(resolve, step.wait_ms); });
        break;
      case 'join':
        await this.#joined(step.flight);
        break;
      default:
        throw new Error('caspio-auth: the core asked for a step this shim does not know: caspio.wasm and the JS files must come from one build');
    }
    c.storeError = out.error;
    return { kind: step.kind, now: this.io.now(), jitter: Math.random(), ...out.result };
  }

  /** Tells the listeners of an event of the core's, with JS names and types. */
  #report(e, c) {
    const event = { type: e.kind, grant: e.grant, attempt: e.attempt, status: e.status, waitMs: e.wait_ms };
    if (e.expires_at !== undefined) event.expiresAt = new Date(e.expires_at);
    if (e.error) event.error = this.#error(e.error, c, e.kind === 'storage_error' || e.kind === 'state_discarded');
    for (const key of Object.keys(event)) if (event[key] === undefined) delete event[key];
    if (e.kind === 'revoked') this.io.onLease(null);
    this.io.emit(event);
  }

  /**
   * The error of an encoded one: the storage's or the platform's own when the core reports
   * what the driver fed it; else its class, with the token response it came from and, when
   * none came, the platform's error as its cause.
   */
  #error(encoded, c, fromStore) {
    if (fromStore && c.storeError !== undefined) return c.storeError;
    if (encoded.kind === '' && c.sendError !== undefined) return c.sendError;
    const err = fromCore(encoded);
    if (c.token !== null && (err.code === 'OAUTH_ERROR' || err.code === 'RESPONSE_INVALID')) {
      if (c.token.response) withResponse(err, c.token.response);
      if (c.token.cause !== undefined) Object.defineProperty(err, 'cause', { value: c.token.cause, configurable: true, writable: true });
    }
    return err;
  }

  #wake(id) {
    this.#flights.get(id)?.resolve();
    this.#flights.delete(id);
  }

  /** Until flight id lands (a conversation whose caller aborted then ends: see run). */
  #joined(id) {
    let resolve = () => {};
    const promise = new Promise((r) => { resolve = () => r(undefined); });
    if (!this.#flights.has(id)) this.#flights.set(id, { promise, resolve });
    return this.#flights.get(id)?.promise;
  }
}
