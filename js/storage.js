// @ts-check
// Storage keeps a client's token state (the versioned JSON object the core encodes) so that
// a restarted program, or another process or Worker sharing the store, reuses the tokens
// instead of logging in again: every login mints a refresh token, and a Caspio account keeps
// at most 1,000 of them. The interface is in index.d.ts; this file holds the in-memory one
// that runs everywhere, the check that createClient applies to a caller's storage, and what
// the storages share.
import { CaspioStateError } from './errors.js';

/** A token state is a few hundred bytes; a stored text larger than this is not one. */
const MAX_STATE_TEXT = 1 << 20;

/**
 * The state a store's text holds, for the storages that keep it as JSON text under a key
 * (kvStorage, redisStorage): null when there is none (absent or blank), else the parsed
 * JSON. A text too large to be a state, or not JSON, is a CaspioStateError naming where it
 * lies (the core discards it: state_discarded), never quoting it: it could hold part of a token.
 * @param {unknown} text @param {string} where e.g. "KV key caspio-token"
 */
export function parseStoredState(text, where) {
  if (text === null || text === undefined) return null;
  const s = String(text);
  if (s.trim() === '') return null;
  if (s.length > MAX_STATE_TEXT) {
    throw new CaspioStateError(`caspio-auth: ${where} holds ${s.length} characters, more than a token state; it is replaced at the next save`);
  }
  try {
    return JSON.parse(s);
  } catch {
    throw new CaspioStateError(`caspio-auth: ${where} is not valid JSON; it is replaced at the next save`);
  }
}

/**
 * Returns a storage that keeps the state in memory, for one process or isolate. It is the
 * default storage, and it may be shared by several clients. get() returns a copy, so that a
 * caller cannot change what is stored by changing what it read.
 * @returns {import('./index.js').Storage & {toJSON(): object}}
 */
export function memoryStorage() {
  /** @type {object | null} */
  let state = null;
  return {
    async get() { return state === null ? null : structuredClone(state); },
    async set(next) { state = structuredClone(next); },
    async delete() { state = null; },
    toJSON() { return { storage: 'memory' }; },
  };
}

/**
 * The key under which webStorage keeps a client's state, and the name of its Web Lock and
 * BroadcastChannel: "caspio-auth:" + the token URL + "#" + the client ID (a token URL has no
 * fragment, so the two parts cannot run together). Pages that keep their own keys beside it
 * ask this function rather than build the key again.
 * @param {{toJSON(): {tokenUrl: string, clientId: string}} | {tokenUrl: string, clientId: string}} client a client, or its toJSON()
 */
export function webStorageKey(client) {
  const c = /** @type {any} */ (client);
  const { tokenUrl, clientId } = typeof c?.toJSON === 'function' ? c.toJSON() : c ?? {};
  if (typeof tokenUrl !== 'string' || typeof clientId !== 'string') {
    throw new TypeError('caspio-auth: webStorageKey(client) takes a client, or its toJSON() value with tokenUrl and clientId');
  }
  return `caspio-auth:${tokenUrl}#${clientId}`;
}

/**
 * Throws a TypeError unless storage has the methods of the Storage interface.
 * @param {unknown} storage
 */
export function checkStorage(storage) {
  if (typeof storage !== 'object' || storage === null) {
    throw new TypeError('caspio-auth: option storage must be an object with get(), set(state) and delete() methods (and optionally lock()), such as memoryStorage() or fileStorage(path)');
  }
  const s = /** @type {Record<string, unknown>} */ (storage);
  const missing = ['get', 'set', 'delete'].filter((m) => typeof s[m] !== 'function');
  if (missing.length > 0) {
    throw new TypeError(`caspio-auth: option storage lacks the method${missing.length > 1 ? 's' : ''} ${missing.join(', ')}; a storage has get(), set(state), delete() and optionally lock()`);
  }
  if (s.lock !== undefined && typeof s.lock !== 'function') {
    throw new TypeError('caspio-auth: option storage has a lock property that is not a function; remove it or make it lock(): Promise<release function>');
  }
}

/**
 * The lock step's values a storage whose lock lapses by itself needs (the core's lock
 * policy and the wait), or a TypeError naming the missing ones: lock() holds no policy of
 * its own, so it is called by the client with its lock step, not bare.
 * @param {unknown} policy what lock() got as policy
 * @param {string} storage e.g. "fileStorage"
 * @param {readonly string[]} names the fields it uses
 * @returns {import('./index.js').StorageLockPolicy}
 */
export function lockPolicy(policy, storage, names) {
  const p = /** @type {Record<string, unknown>} */ (typeof policy === 'object' && policy !== null ? policy : {});
  const missing = names.filter((n) => p[n] === undefined || p[n] === null);
  if (missing.length > 0) {
    throw new TypeError(`caspio-auth: ${storage}'s lock() was called without ${missing.join(', ')}: its lock follows the core's lock policy, which the client's lock step passes (lock({policy})); let the client take the lock, or pass the policy of a lock step`);
  }
  return /** @type {any} */ (p);
}

/**
 * The pause of a lock's waiter before try number attempt + 1 (attempt from 1), drawn from
 * the core's pause schedule (the lock step's lock_pauses_ms: [min, max] per pause, the last
 * for every later one): min plus a random share of the rest.
 * @param {{lock_pauses_ms: number[][]}} p @param {number} attempt
 */
export function lockPause(p, attempt) {
  const pauses = p.lock_pauses_ms;
  const [min, max] = pauses[Math.min(Math.max(attempt, 1), pauses.length) - 1];
  return min + Math.floor((max - min) * Math.random());
}
