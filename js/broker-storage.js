// @ts-check
// brokerStorage: the Storage whose state and lock are a TokenBroker's (broker.js), reached
// over JS RPC (compatibility date 2024-04-03 or later): typed calls with structured-clone
// values, no routes or JSON to parse. The lock is held for the core's lock TTL and extended
// as its policy says, both from the client's lock step.
import { MAX_MS } from './broker.js';
import { lockPolicy } from './storage.js';

/** The lock step's values lock() uses. */
const LOCK_FIELDS = /** @type {const} */ (['timeout_ms', 'lock_ttl_ms', 'lock_extend_ms']);

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
  const id = namespace.idFromName(name);
  // A stub per call (cheap): a stub made in one request's context is never used by another.
  const broker = () => /** @type {import('./broker.js').TokenBroker} */ (namespace.get(id));

  return {
    name,
    async get() { return (await broker().getState()) ?? null; },
    async set(state) { await broker().setState(state); },
    async delete() { await broker().deleteState(); },
    /**
     * The lock, held for the core's lock TTL (or the lockLease option) and extended every
     * lock_extend_ms by a timer of the request that took it, as the client's lock step says:
     * a holder whose request ends (its caller went away, its handler threw) stops extending
     * it, and it lapses within a TTL instead of blocking the deployment for a whole lease.
     * The wait is the lock step's limit (the core's LockTimeout of the client's
     * tokenTimeout, at most the broker's 300,000 ms) unless the lockTimeout option says
     * otherwise. Without the lock step's values it is a TypeError: neither the storage nor
     * the broker has a policy of its own.
     * @param {{policy?: import('./index.js').StorageLockPolicy}} [how] what the lock step passes
     */
    async lock(how) {
      const p = lockPolicy(how?.policy, 'brokerStorage', LOCK_FIELDS);
      const leaseMs = options.lockLease ?? p.lock_ttl_ms;
      const waitMs = options.lockTimeout ?? Math.min(p.timeout_ms, MAX_MS);
      const lockId = await broker().lock({ leaseMs, waitMs });
      const extending = setInterval(() => { broker().extend(lockId, leaseMs).catch(() => {}); }, p.lock_extend_ms);
      return async () => {
        clearInterval(extending);
        await broker().unlock(lockId);
      };
    },
    toJSON() { return { storage: 'broker', name }; },
  };
}

