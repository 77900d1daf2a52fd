// @ts-check
// The step loop of a client, as doc.go shows it: perform the step the core asks for, feed
// the result back, until a done or fail step. Every rule (when to lock, read, write, retry,
// wait, refresh, follow a redirect, take over a flight) is the core's; this file performs,
// and does the waiting that the core may not (Go never awaits: see docs/design.md).
//
// In workerd every request has its own I/O context, and a request that awaits only what
// another request's I/O settles is cut off. So nothing here awaits a promise that another
// conversation made: a joiner waits on a promise and a timer of its own, and (in workerd) the
// runner of a flight marks it alive while it performs its steps, so that the core can tell a
// joiner to take over a flight whose runner vanished (docs/design.md, "Concurrency in
// Workers"). Elsewhere a conversation runs to its end, and no silence is reported: a
// background browser tab slows timers to one a minute, which must not look like a vanished
// runner.
import { call } from './core.js';
import { fromCore, withResponse } from './errors.js';
import * as http from './perform.js';
import * as store from './store-steps.js';

/**
 * @typedef {{fetch: (input: any, init?: any) => Promise<Response>, storage: import('./index.js').Storage, now: () => number,
 *   manualRedirects: boolean, requestContexts: boolean, emit: (event: object) => void, onLease: (step: any) => void}} IO
 *   requestContexts: a conversation may vanish with its request (workerd); elsewhere every
 *   conversation runs to its end, no flight is marked alive, and joiners report no silence
 */

/** A clock for spans between two moments in this process (the client's now may be a test's). */
const elapsed = () => performance.now();

export class Driver {
  /** @type {Map<number, Set<() => void>>} per flight, the wake-ups of the conversations waiting on it */
  #joiners = new Map();
  /** @type {Map<number, number>} per flight, when its runner last showed life (elapsed()) */
  #beats = new Map();

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
        else step = call(this.core.next, this.h, step.conversation, await this.#alive(step, this.#perform(step, c, req)));
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
    for (const id of [...this.#joiners.keys()]) this.#wake(id);
  }

  /**
   * The step's result, once performed; while a step of the flight this conversation runs is
   * under way, the flight is marked alive every beat_ms, by a timer of this request's.
   * @param {any} step @param {Promise<any>} performing
   */
  async #alive(step, performing) {
    if (!this.io.requestContexts || !step.flight || step.kind === 'join' || !step.beat_ms) return performing;
    const id = step.flight;
    this.#beats.set(id, elapsed());
    const beat = setInterval(() => { this.#beats.set(id, elapsed()); }, step.beat_ms);
    try {
      return await performing;
    } finally {
      clearInterval(beat);
      this.#beats.set(id, elapsed());
    }
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
          c.response = c.pending ?? await http.send(this.io.fetch, step.url, req, { authorization: step.authorization, keepBody: step.keep_body, dropHeaders: step.drop_headers, method: step.method, manualRedirects: this.io.manualRedirects });
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
        out = await store.lock(storage, step.timeout_ms, step);
        c.release = out.release ?? null;
        break;
      case 'read':
        out = await store.read(storage, step);
        break;
      case 'write':
        out = await store.write(storage, step);
        break;
      case 'unlock':
        out = await store.unlock(c.release, step, storage);
        c.release = null;
        break;
      case 'wait':
        await new Promise((resolve) => { setTimeout(resolve, step.wait_ms); });
        break;
      case 'join':
        out = { result: { silent_ms: await this.#joined(step) } };
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

  /** Wakes the conversations waiting on flight id: it landed. */
  #wake(id) {
    if (!id) return;
    const joiners = this.#joiners.get(id);
    this.#joiners.delete(id);
    this.#beats.delete(id);
    for (const wake of joiners ?? []) wake();
  }

  /**
   * Waits until the join step's flight lands or its wait_ms passes, whichever is first, on a
   * promise and a timer of this conversation's own; resolves to how long the flight's runner
   * has been silent, for the core to judge.
   * @param {{flight: number, wait_ms: number}} step
   */
  async #joined({ flight: id, wait_ms: waitMs }) {
    if (this.io.requestContexts && !this.#beats.has(id)) this.#beats.set(id, elapsed());
    let joiners = this.#joiners.get(id);
    if (joiners === undefined) this.#joiners.set(id, (joiners = new Set()));
    const all = joiners;
    /** @type {() => void} */
    let wake = () => {};
    let timer;
    await new Promise((resolve) => {
      wake = () => { resolve(undefined); };
      timer = setTimeout(wake, waitMs);
      all.add(wake);
    });
    // Cleared here, in this conversation's own request, never by the runner that woke it:
    // until this request runs again, its timer is what it has pending, so that workerd does
    // not judge it hung between the runner's wake-up and its continuation.
    clearTimeout(timer);
    all.delete(wake);
    if (all.size === 0 && this.#joiners.get(id) === all) this.#joiners.delete(id);
    const last = this.#beats.get(id);
    return !this.io.requestContexts || last === undefined ? 0 : Math.max(0, Math.round(elapsed() - last));
  }
}
