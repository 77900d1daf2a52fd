// @ts-check
// kvStorage: the token state in Workers KV, for Workers whose isolates (many, in many
// locations) should share one token instead of logging in once each. The value is the
// state's JSON, the format every runtime writes, under one key: a Go Worker using
// caspio-auth's workers.NewKVStore with the same key shares it.
import { parseStoredState } from './storage.js';

/**
 * Returns a storage that keeps the state in a Workers KV namespace under key.
 *
 * KV is eventually consistent: a write may take up to a minute to be seen in other
 * locations, and a read may return the value an edge cache held. It has no lock, and none
 * is offered here, since KV cannot give mutual exclusion. What a stale read costs is
 * bounded: the core re-checks every state it reads (expiry, owner, counters) before it
 * hands out a lease, so a stale state can only make an isolate refresh (an old access
 * token) or log in (no state yet visible) when it need not have; it never makes it send an
 * expired or foreign token. So a deployment on KV may make a few extra logins on cold
 * starts across locations; brokerStorage makes exactly one token request at a time.
 *
 * Each value is written with the expirationTtl that the client's write step gives (the core
 * computes it, the same in every runtime: until no token in the state is of use any more, at
 * least 60 seconds, KV's minimum), so that KV drops a state that nobody can use; a state
 * written without one (set(state) alone) does not expire.
 *
 * @param {import('./index.js').KVNamespaceLike} namespace the KV binding, e.g. env.CASPIO_TOKENS
 * @param {string} [key] default "caspio-token"; give one key per client ID when several share a namespace
 * @returns {import('./index.js').Storage & {readonly key: string}}
 */
export function kvStorage(namespace, key = 'caspio-token') {
  if (typeof namespace !== 'object' || namespace === null ||
      typeof namespace.get !== 'function' || typeof namespace.put !== 'function' || typeof namespace.delete !== 'function') {
    throw new TypeError('caspio-auth: kvStorage(namespace, key) takes a Workers KV namespace binding such as env.CASPIO_TOKENS; add it to kv_namespaces in wrangler.jsonc');
  }
  if (typeof key !== 'string' || key === '' || key.length > 512) {
    throw new TypeError('caspio-auth: kvStorage(namespace, key): key must be a non-empty string of at most 512 characters, e.g. "caspio-token"');
  }
  return {
    key,

    async get() {
      return parseStoredState(await namespace.get(key, { type: 'text' }), `KV key ${key}`);
    },

    async set(state, options) {
      const ttl = options?.ttl;
      await namespace.put(key, JSON.stringify(state), ttl ? { expirationTtl: ttl } : undefined);
    },

    async delete() {
      await namespace.delete(key);
    },

    toJSON() { return { storage: 'kv', key }; },
  };
}
