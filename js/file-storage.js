// fileStorage: the token state in one JSON file, for Node. The format is what the Go client
// package's FileStore writes (the JSON of the encoded state), and the lock and temporary
// files follow the protocol of docs/token-file.md, which FileStore implements too
// (client/filelock.go): a Node script and a Go program may share one file, and they
// exclude each other. Change both or neither. The lock's decisions (when a lock is stale,
// how often its holder refreshes it, how long a waiter pauses and waits) are the core's
// lock policy (caspio.StoreLock), which the client's lock step hands to lock(): this file
// performs the operations.
// node:crypto when first used (a lock, a write, a sweep), not when the package loads: in
// Node 24 loading it costs about 10 ms, which a client answering from a stored lease never
// needs. (Node before 20.16 has no getBuiltinModule: it is loaded at once there.)
const eagerCrypto = /** @type {any} */ (process).getBuiltinModule ? null : await import('node:crypto');
/** @returns {typeof import('node:crypto')} */
const nodeCrypto = () => eagerCrypto ?? /** @type {any} */ (process).getBuiltinModule('node:crypto');
import { link, mkdir, open, readdir, rename, stat, unlink, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { CaspioStateError } from './errors.js';
import { lockPause, lockPolicy } from './storage.js';

/** A token state is a few hundred bytes; a larger file is not one. */
const MAX_STATE_FILE = 1 << 20;

/** A temporary file is removed after this long even when its writer cannot be shown dead: no live write takes that long. */
const STALE_TEMP_MS = 60_000;

/** An owner record is under 200 bytes. */
const MAX_LOCK_FILE = 4096;

/** The lock step's values lock() uses. */
const LOCK_FIELDS = /** @type {const} */ (['timeout_ms', 'lock_ttl_ms', 'lock_extend_ms', 'lock_pauses_ms', 'lock_stale_ms']);

/**
 * Returns a storage that keeps the state in the file at path: readable by its owner only
 * (mode 0600, in a directory created with mode 0700), written atomically (a temporary file
 * beside it, synced, then renamed over it; the temporary files of writers that died are
 * removed by the next read or write), and locked across processes, Node or Go, so that
 * processes sharing the file make one token request between them instead of one each.
 *
 * The lock is path + '.lock', created whole with link(2) and holding its owner (host,
 * process ID, nonce). A lock whose process died on this host is taken over at once; one
 * whose holder stopped refreshing it after the core's lock TTL (10 seconds; a holder
 * refreshes it every third of that). How long lock() waits is the client's lock step's
 * limit (the core's LockTimeout of the client's tokenTimeout), the same in Go.
 *
 * @param {string} path
 * @returns {import('./index.js').Storage & {readonly path: string}}
 */
export function fileStorage(path, options = {}) {
  if (typeof path !== 'string' || path === '') {
    throw new TypeError('caspio-auth: fileStorage(path) takes the path of the token file, e.g. fileStorage(".caspio-token.json")');
  }
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('caspio-auth: fileStorage(path) takes no options; the lock\'s timings are the client\'s (its tokenTimeout)');
  }
  const unknown = Object.keys(options);
  if (unknown.length > 0) {
    const moved = unknown.some((k) => k === 'lockTimeout' || k === 'staleLockTimeout');
    throw new TypeError(`caspio-auth: unknown fileStorage option${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; fileStorage takes none${moved ? ': how long the lock is waited for follows the client\'s tokenTimeout, and when a lock is stale is the same for every process on the file (the core\'s lock policy); remove the option' : ''}`);
  }
  const dir = dirname(path);
  const lockPath = path + '.lock';
  const breakPath = path + '.lock.break';

  /**
   * Whether a lock (or break) file is stale: its age past the age up to which the core
   * honours a lock seen so (the lock step's lock_stale_ms, caspio.LockPolicy.StaleAfter).
   * This finds the facts docs/token-file.md names (a readable owner record, a dead holder
   * on this host); the core's values decide.
   */
  const isStale = ({ owner, mtimeMs }, p) => {
    const seen = owner === null ? 'unreadable'
      : owner.host === hostname() && owner.pid !== process.pid && !processAlive(owner.pid) ? 'holder_gone'
        : 'held';
    return Date.now() - mtimeMs > p.lock_stale_ms[seen];
  };

  /**
   * Removes the stale lock seen, holding the break file so that no two waiters remove
   * locks at once. Resolves false when another process is breaking it: then wait.
   */
  const breakStale = async (seen, p) => {
    const me = newOwner();
    if (!await createExclusive(path, breakPath, JSON.stringify(me))) {
      const b = await readLock(breakPath);
      if (b === null) return true;
      if (isStale(b, p)) {
        await removeIfSame(breakPath, b);
        return true;
      }
      return false;
    }
    try {
      await removeIfSame(lockPath, seen);
    } finally {
      const b = await readLock(breakPath).catch(() => null);
      if (b?.owner?.nonce === me.nonce) await unlink(breakPath).catch(() => {});
    }
    return true;
  };

  /** Starts refreshing the lock (so that waiters do not take it for a dead holder's) and returns its release. */
  const held = async (me, p) => {
    await sweepTemps(path);
    const b = await readLock(breakPath).catch(() => null);
    if (b !== null && isStale(b, p)) await removeIfSame(breakPath, b);
    const refresh = setInterval(() => {
      const now = new Date();
      utimes(lockPath, now, now).catch(() => {});
    }, p.lock_extend_ms);
    refresh.unref();
    return async () => {
      clearInterval(refresh);
      const seen = await readLock(lockPath).catch((err) => { throw fileError('release the lock', lockPath, err); });
      if (seen?.owner?.nonce !== me.nonce) {
        throw new Error(`caspio-auth: release the token file lock ${lockPath}: another process took the lock over while this one held it (for longer than ${p.lock_ttl_ms} ms without refreshing it?)`);
      }
      try {
        await unlink(lockPath);
      } catch (err) {
        if (err?.code !== 'ENOENT') throw fileError('release the lock', lockPath, err);
      }
    };
  };

  return {
    path,

    async get() {
      // The sweep runs beside the read: it costs the read no time.
      const [read] = await Promise.allSettled([readState(path), sweepTemps(path)]);
      if (read.status === 'rejected') {
        if (read.reason?.code === 'ENOENT') return null;
        throw fileError('read', path, read.reason);
      }
      const text = read.value;
      if (text.trim() === '') return null;
      try {
        return JSON.parse(text);
      } catch {
        // Described without quoting: the text around the error could be part of a token.
        throw new CaspioStateError(`caspio-auth: token state file ${path} is not valid JSON; it is replaced at the next save`);
      }
    },

    /**
     * The stored state, read synchronously (a few hundred bytes, no lock), for a client's
     * start: its core may have written a lease with it that the client sends with before
     * the core runs. null when there is none or it cannot be read; get() says why.
     */
    peek() {
      // node:fs through getBuiltinModule (Node 20.16 and later): importing it as a module
      // costs about 5 ms at start-up (its module facade loads the streams). Without it, no
      // peek: the client takes the usual path.
      const fs = /** @type {any} */ (process).getBuiltinModule?.('node:fs');
      if (!fs) return null;
      const { closeSync, fstatSync, openSync, readSync } = fs;
      let fd;
      try {
        fd = openSync(path, 'r');
        const size = fstatSync(fd).size;
        if (size > MAX_STATE_FILE) return null;
        const buf = Buffer.alloc(size);
        let n = 0;
        while (n < size) {
          const got = readSync(fd, buf, n, size - n, n);
          if (got === 0) break;
          n += got;
        }
        return JSON.parse(buf.toString('utf8', 0, n));
      } catch {
        return null;
      } finally {
        if (fd !== undefined) closeSync(fd);
      }
    },

    async set(state) {
      const data = JSON.stringify(sortKeys(state));
      await makeDirs(dir).catch((err) => { throw fileError('create the directory of', path, err); });
      await sweepTemps(path);
      const tmp = tempName(path);
      let fh;
      try {
        fh = await open(tmp, 'wx', 0o600);
        await fh.writeFile(data);
        await fh.sync();
        await fh.close();
        fh = undefined;
        await rename(tmp, path);
      } catch (err) {
        await fh?.close().catch(() => {});
        await unlink(tmp).catch(() => {});
        throw fileError('write', path, err);
      }
    },

    async delete() {
      try {
        await unlink(path);
      } catch (err) {
        if (err?.code !== 'ENOENT') throw fileError('delete', path, err);
      }
    },

    /**
     * Takes the lock, as the client's lock step says: policy holds the core's lock policy
     * and the step's timeout (a TypeError without them), signal stops the wait.
     * @param {{signal?: AbortSignal, policy?: import('./index.js').StorageLockPolicy}} [how]
     */
    async lock({ signal, policy } = {}) {
      const p = lockPolicy(policy, 'fileStorage', LOCK_FIELDS);
      await makeDirs(dir).catch((err) => { throw fileError('create the directory of', path, err); });
      const me = newOwner();
      const record = JSON.stringify(me);
      const deadline = Date.now() + p.timeout_ms;
      let create = true;
      let pauses = 0;
      for (;;) {
        try {
          if (create && await createExclusive(path, lockPath, record)) return held(me, p);
        } catch (err) {
          throw fileError('create the lock', lockPath, err);
        }
        const seen = await readLock(lockPath).catch((err) => { throw fileError('read the lock', lockPath, err); });
        create = true;
        if (seen === null) continue;
        if (seen.owner?.nonce === me.nonce) return held(me, p); // a link reported failed but done
        if (isStale(seen, p) && await breakStale(seen, p).catch((err) => { throw fileError('take over the stale lock', lockPath, err); })) continue;
        create = false;
        if (Date.now() >= deadline) {
          throw new Error(`caspio-auth: waited ${p.timeout_ms} ms for the token file lock ${lockPath}${describeOwner(seen.owner)}; if no program using this token file is running, delete the lock file`);
        }
        signal?.throwIfAborted();
        const pause = Math.min(lockPause(p, ++pauses), Math.max(deadline - Date.now(), 1));
        await new Promise((done) => { setTimeout(done, pause); });
        signal?.throwIfAborted();
      }
    },

    toJSON() { return { storage: 'file', path }; },
  };
}

/**
 * Creates dir and its missing parents one level at a time, with mode 0700. Not
 * mkdir({recursive: true}): Node 20's spins at full CPU forever on a path it cannot create
 * (one under /proc, say), where this fails at once with the directory that could not be made.
 * @param {string} dir
 */
async function makeDirs(dir) {
  const missing = [];
  for (let d = resolve(dir); ; d = dirname(d)) {
    let st;
    try {
      st = await stat(d);
    } catch (err) {
      if (err?.code !== 'ENOENT' || dirname(d) === d) throw err;
      missing.push(d);
      continue;
    }
    if (st.isDirectory()) break;
    throw Object.assign(new Error(`${d} is not a directory`), { code: 'ENOTDIR' });
  }
  for (const d of missing.reverse()) {
    try {
      await mkdir(d, { mode: 0o700 });
    } catch (err) {
      if (err?.code === 'EEXIST') continue;
      if (err?.code !== 'ENOENT') throw err;
      // Its parent exists (made or found above), yet it is missing: a file system that takes
      // no new directories, such as /proc or /sys.
      throw new Error(`cannot create the directory ${d}: ${dirname(d)} takes no new directories (mkdir answered ENOENT); choose a path in a directory this program can write`, { cause: err });
    }
  }
}

/** The state file's text; larger than a state can be is an error. */
async function readState(path) {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    if (size > MAX_STATE_FILE) {
      throw new Error(`caspio-auth: token state file ${path} is larger than a token state can be (${size} bytes); delete it`);
    }
    return await fh.readFile('utf8');
  } finally {
    await fh.close();
  }
}

/** This process's owner record for a lock it is about to take. */
function newOwner() {
  return { host: hostname(), pid: process.pid, nonce: nodeCrypto().randomBytes(16).toString('hex'), at: Date.now() };
}

function describeOwner(owner) {
  return owner ? ` (held by process ${owner.pid} on ${owner.host})` : '';
}

/**
 * A lock file read through one open file, so that content and modification time belong to
 * the same file: {text, mtimeMs, owner}, owner null when the text is not an owner record,
 * or null when there is no lock.
 */
async function readLock(lockPath) {
  let fh;
  try {
    fh = await open(lockPath, 'r');
  } catch (err) {
    if (err?.code === 'ENOENT') return null;
    throw err;
  }
  try {
    const { mtimeNs } = await fh.stat({ bigint: true });
    const buf = Buffer.alloc(MAX_LOCK_FILE);
    const { bytesRead } = await fh.read(buf, 0, MAX_LOCK_FILE, 0);
    const text = buf.toString('utf8', 0, bytesRead);
    let owner = null;
    try {
      const o = JSON.parse(text);
      if (typeof o?.host === 'string' && o.host !== '' && Number.isInteger(o.pid) && o.pid >= 1 && o.pid <= 0x7fffffff && typeof o.nonce === 'string' && o.nonce !== '') owner = o;
    } catch {
      owner = null; // being written without link(2), or another format
    }
    return { text, mtimeNs, mtimeMs: Number(mtimeNs / 1_000_000n), owner };
  } finally {
    await fh.close();
  }
}

/** Removes the file at path if it is still the one seen. */
async function removeIfSame(path, seen) {
  const now = await readLock(path).catch(() => null);
  if (now !== null && now.text === seen.text && now.mtimeNs === seen.mtimeNs) await unlink(path).catch(() => {});
}

/**
 * Creates target holding record, or resolves false when it exists. The record is written
 * to a temporary file first and hard-linked to target, so that target never exists
 * without its record; where the file system has no hard links, target is created with
 * O_EXCL and written at once.
 */
async function createExclusive(statePath, target, record) {
  const tmp = tempName(statePath);
  const fh = await open(tmp, 'wx', 0o600);
  try {
    try {
      await fh.writeFile(record);
    } finally {
      await fh.close();
    }
    await link(tmp, target);
    return true;
  } catch (err) {
    if (err?.code === 'EEXIST') return false;
    if (err?.code === 'ENOENT') return false; // the caller reads the lock and tries again
    if (err?.syscall !== 'link') throw err;
  } finally {
    await unlink(tmp).catch(() => {});
  }
  let out;
  try {
    out = await open(target, 'wx', 0o600);
  } catch (err) {
    if (err?.code === 'EEXIST') return false;
    throw err;
  }
  try {
    await out.writeFile(record);
  } finally {
    await out.close();
  }
  return true;
}

/** Names this host in temporary file names: 8 hex digits of the SHA-256 of its name. */
function hostTag(host) {
  return nodeCrypto().createHash('sha256').update(host).digest('hex').slice(0, 8);
}

const tempPrefix = (statePath) => `.${basename(statePath)}.tmp-`;

/** A new temporary file name for statePath: .NAME.tmp-TAG-PID-RANDOM. */
function tempName(statePath) {
  return join(dirname(statePath), `${tempPrefix(statePath)}${hostTag(hostname())}-${process.pid}-${nodeCrypto().randomBytes(8).toString('hex')}`);
}

/**
 * Removes the temporary files of statePath whose writer died (on this host) or that are
 * older than a minute: a killed writer's file holds live tokens. Best effort: a failure
 * leaves the files for the next sweep.
 */
async function sweepTemps(statePath) {
  const dir = dirname(statePath);
  const prefix = tempPrefix(statePath);
  let names;
  try {
    names = (await readdir(dir)).filter((name) => name.startsWith(prefix));
  } catch {
    return;
  }
  if (names.length === 0) return;
  const host = hostname();
  const tag = hostTag(host);
  await Promise.all(names.map(async (name) => {
    const file = join(dir, name);
    const parts = name.slice(prefix.length).split('-');
    if (parts.length === 3 && host !== '' && parts[0] === tag && parts[2] !== '' && /^[0-9]+$/.test(parts[1])) {
      const pid = Number(parts[1]);
      if (pid > 0 && pid !== process.pid && !processAlive(pid)) {
        await unlink(file).catch(() => {});
        return;
      }
    }
    try {
      if (Date.now() - (await stat(file)).mtimeMs > STALE_TEMP_MS) await unlink(file);
    } catch {
      // gone already, or not ours to remove
    }
  }));
}

/** Whether a process with this ID exists on this host (signal 0 checks without signalling). */
function processAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err?.code !== 'ESRCH'; // EPERM: alive, but another user's
  }
}

/** JSON with object keys in sorted order, as Go's encoding/json writes a map. */
function sortKeys(value) {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== 'object' || value === null) return value;
  const out = {};
  for (const key of Object.keys(value).sort()) out[key] = sortKeys(value[key]);
  return out;
}

/** Names the file, what failed and the likely fix; the OS error never holds the contents. */
function fileError(op, path, err) {
  let fix = '';
  if (err?.code === 'EACCES' || err?.code === 'EPERM') {
    fix = '; give this program\'s user read and write access to the file and its directory, or choose another path';
  } else if (err?.code === 'ENOENT' || err?.code === 'ENOTDIR') {
    fix = '; check that the directory exists or can be created';
  }
  if (err instanceof Error && err.message.startsWith('caspio-auth:')) return err;
  const e = new Error(`caspio-auth: ${op} token state file ${path}: ${err?.message ?? err}${fix}`, { cause: err });
  e.code = err?.code;
  return e;
}
