// @ts-check
// Storage keeps a client's token state (the versioned JSON object the core encodes) so that
// a restarted program, or another process or Worker sharing the store, reuses the tokens
// instead of logging in again: every login mints a refresh token, and a Caspio account keeps
// at most 1,000 of them. The interface is in index.d.ts; this file holds the in-memory one
// that runs everywhere and the check that createClient applies to a caller's storage.

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
