// fileStorage: the token state in one JSON file, for Node. The format is what the Go client
// package's FileStore writes (the JSON of the encoded state), so a Node script and a Go
// program may share one file.
import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, stat, unlink, link } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { CaspioStateError } from './errors.js';

/** A token state is a few hundred bytes; a larger file is not one. */
const MAX_STATE_FILE = 1 << 20;

/** How often a contended lock is tried again (jittered, so that waiters spread out). */
const LOCK_POLL_MS = 10;

/**
 * A lock file whose content cannot be read (a holder that died between creating it and
 * writing its owner) is taken over after this long.
 */
const UNREADABLE_LOCK_STALE_MS = 10_000;

/**
 * Returns a storage that keeps the state in the file at path: readable by its owner only
 * (mode 0600, in a directory created with mode 0700), written atomically (a temporary file
 * beside it, synced, then renamed over it), and locked across processes, so that processes
 * sharing the file make one token request between them instead of one each.
 *
 * The lock is a file created exclusively beside the state, path + '.jslock', holding its
 * owner's process ID, host and start time. A lock whose process has died (on this host), or
 * that is older than staleLockTimeout, is taken over. Go's FileStore locks path + '.lock'
 * with flock(2), which Node cannot take: the two lock files are apart so that neither
 * waits on the other's, and a Go and a Node process racing for a token make at most one
 * extra login, never a corrupt file.
 *
 * @param {string} path
 * @param {{lockTimeout?: number, staleLockTimeout?: number}} [options] in milliseconds:
 *   how long lock() waits (default 5 minutes: a whole acquisition with its retries), and how
 *   old a live process's lock must be to count as stale (default 5 minutes)
 * @returns {import('./index.js').Storage & {readonly path: string}}
 */
export function fileStorage(path, options = {}) {
  if (typeof path !== 'string' || path === '') {
    throw new TypeError('caspio-auth: fileStorage(path) takes the path of the token file, e.g. fileStorage(".caspio-token.json")');
  }
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('caspio-auth: fileStorage(path, options): options must be an object such as {lockTimeout: 60000}');
  }
  const unknown = Object.keys(options).filter((k) => k !== 'lockTimeout' && k !== 'staleLockTimeout');
  if (unknown.length > 0) {
    throw new TypeError(`caspio-auth: unknown fileStorage option${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; the options are lockTimeout and staleLockTimeout`);
  }
  for (const key of ['lockTimeout', 'staleLockTimeout']) {
    const v = options[key];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)) {
      throw new TypeError(`caspio-auth: fileStorage option ${key} must be a positive number of milliseconds`);
    }
  }
  const lockTimeout = options.lockTimeout ?? 300_000;
  const staleAfter = options.staleLockTimeout ?? 300_000;
  const dir = dirname(path);
  const lockPath = path + '.jslock';

  return {
    path,

    async get() {
      let text;
      try {
        const fh = await open(path, 'r');
        try {
          const { size } = await fh.stat();
          if (size > MAX_STATE_FILE) {
            throw new Error(`caspio-auth: token state file ${path} is larger than a token state can be (${size} bytes); delete it`);
          }
          text = await fh.readFile('utf8');
        } finally {
          await fh.close();
        }
      } catch (err) {
        if (err?.code === 'ENOENT') return null;
        throw fileError('read', path, err);
      }
      if (text.trim() === '') return null;
      try {
        return JSON.parse(text);
      } catch {
        // Described without quoting: the text around the error could be part of a token.
        throw new CaspioStateError(`caspio-auth: token state file ${path} is not valid JSON; it is replaced at the next save`);
      }
    },

    async set(state) {
      const data = JSON.stringify(sortKeys(state));
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const tmp = join(dir, `.${basename(path)}.tmp-${randomUUID()}`);
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

    async lock() {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const me = { pid: process.pid, host: hostname(), at: Date.now(), id: randomUUID() };
      const content = JSON.stringify(me);
      const deadline = Date.now() + lockTimeout;
      for (;;) {
        try {
          const fh = await open(lockPath, 'wx', 0o600);
          try {
            await fh.writeFile(content);
          } finally {
            await fh.close();
          }
          return () => releaseLock(lockPath, me.id);
        } catch (err) {
          if (err?.code !== 'EEXIST') throw fileError('create the lock', lockPath, err);
        }
        const held = await readLock(lockPath);
        if (held !== null && isStale(held, staleAfter)) {
          await breakLock(lockPath, held.text);
          continue;
        }
        if (Date.now() >= deadline) {
          throw new Error(`caspio-auth: waited ${lockTimeout} ms for the token file lock ${lockPath}; if no program using this token file is running, delete the lock file`);
        }
        await new Promise((resolve) => { setTimeout(resolve, LOCK_POLL_MS + Math.random() * LOCK_POLL_MS); });
      }
    },

    toJSON() { return { storage: 'file', path }; },
  };
}

/** The lock file's owner and age, or null when it is gone. */
async function readLock(lockPath) {
  let text;
  let mtimeMs;
  try {
    [text, { mtimeMs }] = await Promise.all([readFile(lockPath, 'utf8'), stat(lockPath)]);
  } catch (err) {
    if (err?.code === 'ENOENT') return null;
    throw fileError('read the lock', lockPath, err);
  }
  let owner = null;
  try {
    const o = JSON.parse(text);
    if (typeof o?.pid === 'number' && typeof o?.host === 'string' && typeof o?.at === 'number') owner = o;
  } catch {
    owner = null; // being written, or its writer died before it wrote
  }
  return { text, owner, mtimeMs };
}

function isStale({ owner, mtimeMs }, staleAfter) {
  const now = Date.now();
  if (owner === null) return now - mtimeMs > UNREADABLE_LOCK_STALE_MS;
  if (owner.host === hostname() && owner.pid !== process.pid && !processAlive(owner.pid)) return true;
  return now - owner.at > staleAfter;
}

function processAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err?.code === 'EPERM'; // alive, but another user's
  }
}

/**
 * Removes a stale lock. It is renamed aside first and checked: when another waiter took it
 * over meanwhile, the lock now there is theirs, and it is put back.
 */
async function breakLock(lockPath, staleText) {
  const aside = `${lockPath}.stale-${randomUUID()}`;
  try {
    await rename(lockPath, aside);
  } catch (err) {
    if (err?.code === 'ENOENT') return;
    throw fileError('take over the stale lock', lockPath, err);
  }
  const text = await readFile(aside, 'utf8').catch(() => staleText);
  if (text !== staleText) await link(aside, lockPath).catch(() => {});
  await unlink(aside).catch(() => {});
}

/** Deletes the lock file if it is still this holder's (a stale takeover may have replaced it). */
async function releaseLock(lockPath, id) {
  let text;
  try {
    text = await readFile(lockPath, 'utf8');
  } catch (err) {
    if (err?.code === 'ENOENT') return;
    throw fileError('release the lock', lockPath, err);
  }
  let owner;
  try {
    owner = JSON.parse(text);
  } catch {
    return;
  }
  if (owner?.id !== id) return;
  try {
    await unlink(lockPath);
  } catch (err) {
    if (err?.code !== 'ENOENT') throw fileError('release the lock', lockPath, err);
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
