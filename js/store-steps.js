// @ts-check
// The lock, read, write and unlock steps, performed on a Storage (index.d.ts). Each gives
// the result the core reads and, when the storage failed, its error for the event.
import { CaspioStateError } from './errors.js';

/**
 * Takes the lock within the step's timeout (one granted later is released at once).
 * @param {import('./index.js').Storage} storage @param {number} timeoutMs
 * @param {any} [step] the lock step, whose lock policy (TTL, extension, pauses, the wait:
 *   the core's) a storage whose lock lapses by itself (fileStorage, redisStorage,
 *   brokerStorage) follows
 */
export async function lock(storage, timeoutMs, step) {
  // The signal tells a storage that polls for its lock (fileStorage) to stop when the step
  // gives up, so that a script that is done is not kept alive by the polling.
  const abort = new AbortController();
  const policy = step && { timeout_ms: timeoutMs, lock_ttl_ms: step.lock_ttl_ms, lock_extend_ms: step.lock_extend_ms, lock_pauses_ms: step.lock_pauses_ms, lock_stale_ms: step.lock_stale_ms };
  const pending = Promise.resolve().then(() => storage.lock?.(policy ? { signal: abort.signal, policy } : { signal: abort.signal }));
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => {
      const err = new Error(`caspio-auth: the storage's lock was not granted within ${timeoutMs} ms`);
      abort.abort(err);
      reject(err);
    }, timeoutMs);
  });
  try {
    const release = await Promise.race([pending, late]);
    return { result: {}, release: typeof release === 'function' ? release : () => {} };
  } catch (error) {
    pending.then((release) => release?.(), () => {});
    return failed(error);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Reads the storage within the step's limit.
 * @param {import('./index.js').Storage} storage @param {any} [step] the read step (timeout_ms)
 */
export const read = (storage, step) => attempt(() => within(storage, step, 'read the token state', async () => ({ stored: (await storage.get()) ?? null })));

/** Stores the step's state with its expiry, for a store that drops entries (kvStorage), within the step's limit. */
export const write = (storage, step) => attempt(() => within(storage, step, 'store the token state', async () => { await storage.set(step.state, { expiresAt: step.expires_at || null, ttl: step.ttl_ms / 1000 || null }); }));

/**
 * Releases the lock within the step's limit.
 * @param {(() => unknown) | null} release @param {any} [step] the unlock step @param {import('./index.js').Storage} [storage]
 */
export const unlock = (release, step, storage) => attempt(() => within(storage, step, 'release its lock', async () => { await release?.(); }));

/**
 * Runs fn, failing with an error that names the storage and the limit when it has not
 * ended within step.timeout_ms (the core's: the client's tokenTimeout), so that a storage
 * that does not answer stops the step, and the client goes on with the token in memory.
 * @template T @param {any} storage @param {any} step @param {string} what @param {() => Promise<T>} fn @returns {Promise<T>}
 */
async function within(storage, step, what, fn) {
  const ms = step?.timeout_ms;
  const work = Promise.resolve().then(fn);
  if (!(typeof ms === 'number' && ms > 0)) return work;
  work.catch(() => {}); // a failure after the limit is no unhandled rejection
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`caspio-auth: ${describe(storage)} did not ${what} within ${ms} ms (the client's tokenTimeout); the client goes on with the token in memory`)), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Names a storage by what its toJSON() says of its kind and place, never more. @param {any} storage */
function describe(storage) {
  let j;
  try {
    j = storage?.toJSON?.();
  } catch {
    j = undefined;
  }
  const kind = typeof j?.storage === 'string' ? j.storage : '';
  const where = typeof j?.path === 'string' ? ` ${j.path}` : typeof j?.name === 'string' ? ` "${j.name}"` : '';
  return kind ? `the ${kind} storage${where}` : 'the storage';
}

async function attempt(fn) {
  try {
    return { result: (await fn()) ?? {} };
  } catch (error) {
    return failed(error);
  }
}

function failed(error) {
  const kind = error instanceof CaspioStateError ? { error_kind: 'STATE_INVALID' } : {};
  return { result: { error: (error instanceof Error ? error.message : String(error)) || 'the storage failed', ...kind }, error };
}
