// @ts-check
// redisStorage: the token state in Redis, for Node processes on several hosts (and Go
// services: the Go module's redisstore package uses the same keys, lock and scripts) that
// should share one token instead of logging in once each. The entry 'caspio-auth/redis',
// apart from the package's main entry, so that no browser or Worker build includes it.
//
// For a key k, "{k}:state" holds the state's JSON (the format every runtime writes) and
// "{k}:lock" the lock, under one hash tag so that Redis Cluster keeps them on one slot. The
// lock is SET NX PX with a random value, extended while held and released by a compare-and-
// delete script; its TTL, extension and the waiters' pauses are the core's (the lock step
// carries them). The write is a script that keeps the stored state when it is this
// client's and newer, by the revision the core gives every state it writes: a holder that
// outlived its lock cannot replace a newer state. The scripts are redisstore/scripts/*.lua
// of the Go module, which build.sh copies into the package: one text for both.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { lockPause, lockPolicy, parseStoredState } from './storage.js';


/** The lock step's values lock() uses. */
const LOCK_FIELDS = /** @type {const} */ (['timeout_ms', 'lock_ttl_ms', 'lock_extend_ms', 'lock_pauses_ms']);

/** @type {{save: string, extend: string, release: string} | undefined} */
let scripts;

/**
 * The Lua scripts, read at first use: redisstore/scripts/*.lua of the Go module, which
 * build.sh copies into the package (redis-scripts/), so that Go and Node run one text.
 */
function lua() {
  scripts ??= {
    save: readFileSync(new URL('./redis-scripts/save.lua', import.meta.url), 'utf8'),
    extend: readFileSync(new URL('./redis-scripts/extend.lua', import.meta.url), 'utf8'),
    release: readFileSync(new URL('./redis-scripts/release.lua', import.meta.url), 'utf8'),
  };
  return scripts;
}

/**
 * Returns a storage that keeps the state in Redis under key, through client, a connected
 * client of the `redis` package (node-redis 5 or 6): a single-node client, or a cluster.
 *
 * A Redis failure is the client's storage_error event, and the client goes on with the
 * token in memory (logging in on its own if it must) until Redis is back; a value under the
 * key that is not a state of this client is discarded (state_discarded) and replaced; a list
 * or hash there is left alone (storage_error). Every command gives up after
 * options.timeout ms, so that a Redis that does not answer (or a client offline, queueing
 * commands) delays the client by at most that much per command.
 *
 * @param {import('./index.js').RedisClientLike} client
 * @param {string} [key] default "caspio-token"; give one key per client ID. Without { or }.
 * @param {import('./index.js').RedisStorageOptions} [options]
 * @returns {import('./index.js').Storage & {readonly key: string, toJSON(): object}}
 */
export function redisStorage(client, key = 'caspio-token', options = {}) {
  if (typeof client !== 'object' || client === null || typeof client.get !== 'function' ||
      typeof client.set !== 'function' || typeof client.eval !== 'function' || typeof client.evalSha !== 'function') {
    throw new TypeError('caspio-auth: redisStorage(client, key) takes a client of the redis package (node-redis 5 or 6), e.g. await createClient({url}).connect()');
  }
  if (typeof key !== 'string' || key === '' || key.length > 512 || /[{}]/.test(key)) {
    throw new TypeError('caspio-auth: redisStorage(client, key): key must be a string of 1 to 512 characters without { or } (the storage puts it between braces, as a Redis Cluster hash tag), e.g. "caspio:orders-app"');
  }
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('caspio-auth: redisStorage(client, key, options): options must be an object such as {timeout: 3000}');
  }
  const unknown = Object.keys(options).filter((k) => k !== 'timeout');
  if (unknown.length > 0) {
    throw new TypeError(`caspio-auth: unknown redisStorage option${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; the option is timeout`);
  }
  const timeout = options.timeout ?? 3000;
  if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout <= 0) {
    throw new TypeError('caspio-auth: redisStorage option timeout must be a positive number of milliseconds');
  }
  const stateKey = `{${key}}:state`;
  const lockKey = `{${key}}:lock`;

  /** Runs command, giving up after timeout ms; a failure names the key and what failed. */
  const run = async (what, where, command) => {
    let timer;
    const late = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeout} ms (Redis down, slow, or the client not connected)`)), timeout);
    });
    try {
      return await Promise.race([command(), late]);
    } catch (err) {
      throw await redisError(client, what, where, err);
    } finally {
      clearTimeout(timer);
    }
  };

  return {
    key,

    async get() {
      return parseStoredState(await run('read the token state from', stateKey, () => client.get(stateKey)), `redis key ${stateKey}`);
    },

    async set(state, opts) {
      const ttlMs = opts?.ttl ? Math.round(opts.ttl * 1000) : 0;
      await run('write the token state to', stateKey, () => script(client, lua().save, [stateKey], [JSON.stringify(state), String(ttlMs)]));
    },

    async delete() {
      await run('delete the token state', stateKey, () => client.del(stateKey));
    },

    async lock({ signal, policy } = {}) {
      const p = lockPolicy(policy, 'redisStorage', LOCK_FIELDS);
      const me = randomBytes(16).toString('hex');
      const deadline = Date.now() + p.timeout_ms;
      for (let attempt = 1; ; attempt++) {
        let sent;
        let ok;
        try {
          ok = await run('take the lock', lockKey, () => (sent = client.set(lockKey, me, { NX: true, PX: p.lock_ttl_ms })));
        } catch (err) {
          // A command given up on may still run (a client offline queues it until Redis is
          // back): a lock it takes then is released, so that it does not stall the others
          // for its TTL.
          Promise.resolve(sent).then((r) => { if (r) return script(client, lua().release, [lockKey], [me]); }).catch(() => {});
          throw err;
        }
        if (ok !== null && ok !== undefined) return held(me, p);
        signal?.throwIfAborted();
        if (Date.now() >= deadline) {
          throw new Error(`caspio-auth: waited ${p.timeout_ms} ms for the redis lock ${lockKey}: another process holds it (a holder that died lets it lapse within ${p.lock_ttl_ms} ms)`);
        }
        await new Promise((resolve) => { setTimeout(resolve, lockPause(p, attempt)); });
        signal?.throwIfAborted();
      }
    },

    toJSON() { return { storage: 'redis', key }; },
  };

  /** Extends the lock every lock_extend_ms until the returned function releases it. */
  function held(me, p) {
    const extend = setInterval(() => {
      run('extend the lock', lockKey, () => script(client, lua().extend, [lockKey], [me, String(p.lock_ttl_ms)])).catch(() => {});
    }, p.lock_extend_ms);
    extend.unref?.();
    let released;
    return () => {
      released ??= (async () => {
        clearInterval(extend);
        const n = await run('release the lock', lockKey, () => script(client, lua().release, [lockKey], [me]));
        if (Number(n) === 0) {
          throw new Error(`caspio-auth: release the redis lock ${lockKey}: it had lapsed and another process may have taken it (Redis unreachable for longer than ${p.lock_ttl_ms} ms while this one held it?); the conditional write kept any newer state`);
        }
      })();
      return released;
    };
  }
}

const shas = new Map();

/** Runs a script by its SHA-1, loading it with EVAL when the server does not have it. */
async function script(client, source, keys, args) {
  let sha = shas.get(source);
  if (sha === undefined) {
    sha = createHash('sha1').update(source).digest('hex');
    shas.set(source, sha);
  }
  try {
    return await client.evalSha(sha, { keys, arguments: args });
  } catch (err) {
    if (!String(/** @type {any} */ (err)?.message).startsWith('NOSCRIPT')) throw err;
    return client.eval(source, { keys, arguments: args });
  }
}

/** Describes a failed command: the key, what failed and, where it helps, the fix. */
async function redisError(client, what, where, err) {
  const msg = err instanceof Error ? err.message : String(err);
  let fix = '';
  if (msg.startsWith('WRONGTYPE')) {
    const type = await Promise.race([
      Promise.resolve().then(() => client.type(where)).catch(() => null),
      new Promise((resolve) => { setTimeout(resolve, 500, null); }),
    ]);
    fix = `; the key holds ${type ? `a ${type}` : 'a value of another type'}, not a token state: it is another program's, so it is left alone: choose another key, or delete it`;
  } else if (msg.startsWith('READONLY')) {
    fix = '; the client is connected to a read-only replica: connect it to the primary';
  }
  return new Error(`caspio-auth: ${what} redis key ${where}: ${msg}${fix}`, { cause: err });
}
