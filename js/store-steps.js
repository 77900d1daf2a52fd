// @ts-check
// The lock, read, write and unlock steps, performed on a Storage (index.d.ts). Each gives
// the result the core reads and, when the storage failed, its error for the event.
import { CaspioStateError } from './errors.js';

/**
 * Takes the lock within the step's timeout (one granted later is released at once).
 * @param {import('./index.js').Storage} storage @param {number} timeoutMs
 */
export async function lock(storage, timeoutMs) {
  // The signal tells a storage that polls for its lock (fileStorage) to stop when the step
  // gives up, so that a script that is done is not kept alive by the polling.
  const abort = new AbortController();
  const pending = Promise.resolve().then(() => storage.lock?.({ signal: abort.signal }));
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

/** @param {import('./index.js').Storage} storage */
export const read = (storage) => attempt(async () => ({ stored: (await storage.get()) ?? null }));

/** Stores the step's state with its expiry, for a store that drops entries (kvStorage). */
export const write = (storage, step) => attempt(async () => { await storage.set(step.state, { expiresAt: step.expires_at || null, ttl: step.ttl_ms / 1000 || null }); });

/** @param {(() => unknown) | null} release */
export const unlock = (release) => attempt(async () => { await release?.(); });

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
