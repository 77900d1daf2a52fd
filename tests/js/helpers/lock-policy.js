// The lock step's values, as the core encodes them, for tests that call a storage's lock()
// without a client: the lock step of the conversation vector cold_start.json, which the Go
// tests hold to the core's encoding. A storage refuses lock() without them.
import { readFileSync } from 'node:fs';

const vector = JSON.parse(readFileSync(new URL('../../vectors/conversations/cold_start.json', import.meta.url), 'utf8'));

/** The first lock step the vector expects. */
function lockStep() {
  for (const c of vector.cases) {
    for (const e of c.script ?? c.steps ?? []) {
      if (e.expect?.kind === 'lock') return e.expect;
    }
  }
  throw new Error('cold_start.json holds no lock step');
}

const step = lockStep();

/**
 * The policy the client's lock step hands to lock(), with its wait set to timeoutMs.
 * @param {number} [timeoutMs] default: the step's (the core's LockTimeout of 30 s)
 * @param {object} [changes] fields to replace, e.g. a short lock_ttl_ms
 */
export function lockPolicy(timeoutMs = step.timeout_ms, changes = {}) {
  return { timeout_ms: timeoutMs, lock_ttl_ms: step.lock_ttl_ms, lock_extend_ms: step.lock_extend_ms, lock_pauses_ms: step.lock_pauses_ms, lock_stale_ms: step.lock_stale_ms, ...changes };
}
