// @ts-check
// webStorage: the token state in a browser's sessionStorage or localStorage, shared by the
// tabs of one origin. The interface is in index.d.ts; README.md ("Browsers") explains it.
//
// What is stored: the versioned state JSON the core encodes (tokens, expiries, counters),
// under one key per token endpoint and client ID. The state format has no field for the
// client secret, so it is never stored.
//
// How tabs share one token:
// - lock() is a Web Lock named after the key, so that the tabs make one token request at a
//   time between them (without Web Locks there is no lock(): at worst an extra login).
// - Every set() is posted on a BroadcastChannel named after the key, before the client
//   releases the lock. The other tabs keep the newest state they heard of, and tell their
//   client (subscribe), which drops its token and reads the new state at its next request:
//   no token request of its own. This also covers Chromium's stale reads: a tab granted the
//   lock may read localStorage before the previous holder's write shows there (see
//   docs/design.md), so get() returns the newer of what it reads and what it heard.
// - A tab with no state at all asks the open tabs over the channel before the client logs
//   in, so that a new tab (whose sessionStorage starts empty) reuses the token.
// - A tab also writes the newer states it hears into its own area, so that a reload keeps
//   the session (sessionStorage is per tab), and so that a localStorage that another client
//   of the page heard of holds the state too.
import { startedCore } from './core.js';
import { CaspioStateError } from './errors.js';
import { webStorageKey } from './storage.js';

/** How long a tab without any state waits for the open tabs' answer before logging in. */
const ASK_TIMEOUT_MS = 50;

/**
 * How long a lock holder that stored a state waits, at most, for its own broadcast to come
 * back before it releases the lock: the message then has left for every tab, and reaches a
 * waiting tab before (in practice) the lock does.
 */
const FLUSH_TIMEOUT_MS = 20;

/**
 * webStorage() objects made without a key: createClient makes each client its own, keyed
 * by the client's token endpoint and client ID (see forClient).
 * @type {WeakMap<object, Storage>}
 */
const templates = new WeakMap();

/**
 * A storage over sessionStorage (the default) or localStorage. Without a key, createClient
 * keys it by the client (webStorageKey); with one, it may also be used on its own.
 * @param {Storage} [storage]
 * @param {string} [key]
 * @returns {import('./index.js').Storage & {readonly key: string | null, subscribe(onChange: () => void): () => void, toJSON(): object}}
 */
export function webStorage(storage, key) {
  if (storage === undefined) {
    storage = defaultArea();
    if (storage === null) {
      throw new TypeError('caspio-auth: webStorage() needs sessionStorage, which is not available here; pass localStorage, or use memoryStorage()');
    }
  }
  const s = /** @type {Record<string, unknown> | null} */ (/** @type {unknown} */ (storage));
  if (typeof s !== 'object' || s === null || typeof s.getItem !== 'function' || typeof s.setItem !== 'function' || typeof s.removeItem !== 'function') {
    throw new TypeError('caspio-auth: webStorage(storage, key) takes a Web Storage object: sessionStorage (the default) or localStorage');
  }
  if (key !== undefined && (typeof key !== 'string' || key === '')) {
    throw new TypeError('caspio-auth: webStorage(storage, key): key must be a non-empty string; leave it out to have createClient key the state by token URL and client ID');
  }
  const made = makeStorage(storage, key ?? null);
  if (key === undefined) templates.set(made, storage);
  return made;
}

/**
 * For createClient in browsers: when storage is a webStorage made without a key (or
 * undefined, meaning the default webStorage(sessionStorage)), a storage of the client's
 * own and the function that keys it once the client exists (before any call of it: a new
 * client makes none). Otherwise null: the storage is used as it is.
 * @param {unknown} storage
 * @returns {{storage: ReturnType<typeof webStorage>, bind: (client: {tokenUrl: string, clientId: string}) => void} | null}
 */
export function forClient(storage) {
  let area;
  if (storage === undefined) {
    area = defaultArea();
  } else if (typeof storage === 'object' && storage !== null) {
    area = templates.get(storage);
  }
  if (!area) return null;
  /** @type {(key: string) => void} */
  let setKey = () => {};
  const made = makeStorage(area, null, (set) => { setKey = set; });
  return { storage: made, bind: (client) => setKey(webStorageKey(client)) };
}

/** sessionStorage, or null where there is none or it may not be used (an opaque origin, say). */
function defaultArea() {
  try {
    return globalThis.sessionStorage ?? null;
  } catch {
    return null;
  }
}

/**
 * @param {Storage} area
 * @param {string | null} initialKey null until createClient keys it
 * @param {(setKey: (key: string) => void) => void} [keyed] receives the function that keys it
 */
function makeStorage(area, initialKey, keyed) {
  let key = initialKey;
  const perTab = isSessionStorage(area);
  const locks = typeof navigator !== 'undefined' && typeof navigator.locks?.request === 'function' ? navigator.locks : null;
  /** @type {BroadcastChannel | null} */
  let channel = null;
  /** @type {BroadcastChannel | null} a second channel of this tab, which hears this tab's own posts */
  let echo = null;
  /** The newest state this object wrote or heard of, as JSON text. */
  let heard = /** @type {string | null} */ (null);
  /** @type {Set<() => void>} */
  const listeners = new Set();
  /** @type {Map<string, () => void>} */
  const asking = new Map();
  /** @type {Map<string, () => void>} */
  const flushing = new Map();
  let posted = false;

  function requireKey() {
    if (key === null) {
      throw new TypeError('caspio-auth: this webStorage has no key: pass it to createClient as the storage option (which keys it by token URL and client ID), or make it with webStorage(storage, key)');
    }
    return key;
  }

  function open() {
    if (channel !== null || typeof BroadcastChannel !== 'function') return channel;
    const name = requireKey();
    channel = new BroadcastChannel(name);
    channel.onmessage = (event) => receive(event.data);
    return channel;
  }

  function close() {
    channel?.close();
    echo?.close();
    channel = null;
    echo = null;
  }

  /** @param {unknown} message */
  function receive(message) {
    if (typeof message !== 'object' || message === null) return;
    const m = /** @type {{type?: unknown, text?: unknown, id?: unknown}} */ (message);
    if (m.type === 'state' && typeof m.text === 'string') {
      adopt(m.text, true);
    } else if (m.type === 'answer' && typeof m.text === 'string') {
      const waiting = typeof m.id === 'string' ? asking.get(m.id) : undefined;
      adopt(m.text, waiting === undefined);
      waiting?.();
    } else if (m.type === 'ask' && typeof m.id === 'string') {
      const text = newest(readText(), heard);
      if (text !== null) channel?.postMessage({ type: 'answer', id: m.id, text });
    } else if (m.type === 'delete') {
      heard = null;
      if (perTab) safely(() => area.removeItem(requireKey()));
      notify();
    }
  }

  /**
   * Keeps a state another tab sent unless this tab knows a newer one. (Not compared with
   * the stored text alone: localStorage may already show the state that the message
   * announces, and the client must hear of it all the same.)
   */
  function adopt(text, tell) {
    if (text === heard || decode(text) === null) return; // not JSON
    const known = newest(readText(), heard);
    if (known !== null && compare(text, known) < 0) return;
    heard = text;
    // Stored here too, localStorage included: a client of this storage that takes the state
    // from the channel makes no token request, so it writes nothing, and another client (one
    // on sessionStorage in this page) may be the writer, so that without this the state
    // would never reach this storage and a reload would log in again.
    safely(() => area.setItem(requireKey(), text));
    if (tell) notify();
  }

  function notify() {
    for (const listener of listeners) {
      try {
        listener();
      } catch {
        // a listener's failure must not stop the others
      }
    }
  }

  /** The stored text, or null; a storage that cannot be read counts as empty here. */
  function readText() {
    try {
      return area.getItem(requireKey());
    } catch {
      return null;
    }
  }

  /** Asks the other tabs for their state; resolves at the first answer (adopted) or at the timeout. */
  function ask() {
    const ch = open();
    if (ch === null) return Promise.resolve();
    const id = randomId();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        asking.delete(id);
        resolve(undefined);
      };
      const timer = setTimeout(done, ASK_TIMEOUT_MS);
      asking.set(id, done);
      ch.postMessage({ type: 'ask', id });
    });
  }

  /** Waits (briefly) until this tab's last post has gone out to every tab. */
  function flush() {
    const ch = channel;
    if (!posted || ch === null) return Promise.resolve();
    posted = false;
    if (echo === null) {
      echo = new BroadcastChannel(ch.name);
      echo.onmessage = (event) => {
        const id = event.data?.type === 'flush' ? event.data.id : undefined;
        if (typeof id === 'string') flushing.get(id)?.();
      };
    }
    const id = randomId();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        flushing.delete(id);
        resolve(undefined);
      };
      const timer = setTimeout(done, FLUSH_TIMEOUT_MS);
      flushing.set(id, done);
      ch.postMessage({ type: 'flush', id });
    });
  }

  /** @type {import('./index.js').Storage & {readonly key: string | null, subscribe(onChange: () => void): () => void, toJSON(): object}} */
  const storage = {
    get key() { return key; },

    async get() {
      const k = requireKey();
      open();
      const stored = area.getItem(k);
      let text = newest(stored, heard);
      if (text === null) {
        await ask(); // an answer, or any state that came meanwhile, is in heard now
        text = newest(readText(), heard);
        if (text === null) return null;
      }
      if (text !== stored) safely(() => area.setItem(k, /** @type {string} */ (text)));
      try {
        return JSON.parse(text);
      } catch {
        // Described without quoting: the text could hold a token.
        throw new CaspioStateError(`caspio-auth: the token state under the key ${JSON.stringify(k)} is not valid JSON; it is replaced at the next save`);
      }
    },

    async set(state) {
      const k = requireKey();
      const text = JSON.stringify(state);
      area.setItem(k, text);
      heard = text;
      const ch = open();
      if (ch !== null) {
        ch.postMessage({ type: 'state', text });
        posted = true;
      }
    },

    async delete() {
      const k = requireKey();
      area.removeItem(k);
      heard = null;
      open()?.postMessage({ type: 'delete' });
    },

    subscribe(onChange) {
      if (typeof onChange !== 'function') throw new TypeError('caspio-auth: subscribe(onChange) takes a function');
      listeners.add(onChange);
      if (key !== null) open();
      return () => {
        listeners.delete(onChange);
        if (listeners.size === 0) close();
      };
    },

    toJSON() { return { storage: perTab ? 'sessionStorage' : 'webStorage', key }; },
  };

  if (locks !== null) {
    storage.lock = () => {
      const name = requireKey();
      return new Promise((granted, failed) => {
        locks.request(name, () => new Promise((release) => {
          granted(async () => {
            await flush();
            release(undefined);
          });
        })).catch(failed);
      });
    };
  }

  keyed?.((k) => {
    key = k;
    if (listeners.size > 0) open();
  });
  return storage;
}

/**
 * Of the stored state text and the one this tab heard last, the newer by the core's rule
 * (compare), else the heard one; either when the other is missing.
 * @param {string | null} stored
 * @param {string | null} heard
 */
function newest(stored, heard) {
  if (heard === null) return stored;
  if (stored === null) return heard;
  // Level: the heard one is the later (a 401 drops a token without a request), and a stale
  // read of localStorage is never newer than what this tab heard.
  return compare(stored, heard) > 0 ? stored : heard;
}

/**
 * Which of two state texts (null: none) is newer, by the core's rule (caspio.CompareStored:
 * the one with more token requests; text that is no state is older than any state): 1 for
 * a, -1 for b, 0 for neither. Before the core has started in this page (no client yet),
 * neither: the heard state is kept.
 * @param {string | null} a @param {string | null} b
 */
function compare(a, b) {
  const core = startedCore();
  return core === null ? 0 : core.compareStored(decode(a), decode(b));
}

/** A state text decoded, or null when it is none or not JSON. @param {string | null} text */
function decode(text) {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function isSessionStorage(area) {
  try {
    return area === globalThis.sessionStorage;
  } catch {
    return false;
  }
}

function safely(fn) {
  try {
    fn();
  } catch {
    // a full or disabled storage: the state stays in memory
  }
}

function randomId() {
  return typeof crypto?.randomUUID === 'function' ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`;
}
