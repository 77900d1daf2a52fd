// @ts-check
// createClient's options: their keys and types are checked here, where a message can name
// the option as the caller spelled it (shown, with the closest option, by the core's rule of
// what a message may quote: input.go); the core checks the values (coreConfig), and its
// config errors name the options (wasm/main.go tells it their names).
import { CaspioConfigError } from './errors.js';
import { checkStorage } from './storage.js';

/** Each option and what it must be; any other key is a TypeError naming it. */
const OPTIONS = {
  account: 'a string', integrationUrl: 'a string', tokenUrl: 'a string', resourceUrl: 'a string', apiVersion: 'a string: "v2" or "v3"',
  clientId: 'a string', clientSecret: 'a string', credentials: 'a string: "body" or "basic"',
  storage: 'an object with get, set and delete methods, such as memoryStorage() or fileStorage(path)',
  fetch: 'a function with the signature of the standard fetch', refreshMargin: 'a number of seconds', tokenTimeout: 'a number of milliseconds',
  hold: 'a string: "login" or "all"', now: 'a function that returns the time in Unix milliseconds, as Date.now does',
  onEvent: 'a function that takes an event object',
};

/**
 * @param {unknown} options
 * @param {{showUnknown: (field: string, typed: string, valid: string[]) => string}} core the core's exports
 * @returns {import('./index.js').ClientOptions}
 */
export function checkOptions(options, core) {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError('caspio-auth: createClient(options) takes an object, e.g. {account, clientId, clientSecret}');
  }
  const o = /** @type {Record<string, unknown>} */ (options);
  const unknown = Object.keys(o).filter((k) => !Object.hasOwn(OPTIONS, k)).map((k) => core.showUnknown('option', k, Object.keys(OPTIONS)));
  if (unknown.length > 0) {
    throw new TypeError(`caspio-auth: unknown option${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; the options are ${Object.keys(OPTIONS).join(', ')}`);
  }
  for (const [key, want] of Object.entries(OPTIONS)) {
    const value = o[key];
    if (value !== undefined && (value === null || typeof value !== /^an? (\w+)/.exec(want)?.[1])) {
      throw new TypeError(`caspio-auth: option ${key} must be ${want}, not ${kindOf(value)}`);
    }
  }
  // Only the type is checked here; the range (negative, too long, zero for the default) is
  // the core's to judge, as it is for Go's Config, and comes back as a CaspioConfigError.
  for (const key of ['refreshMargin', 'tokenTimeout']) {
    const n = /** @type {number | undefined} */ (o[key]);
    if (n !== undefined && !Number.isFinite(n)) {
      throw new TypeError(`caspio-auth: option ${key} must be a finite number (${key === 'refreshMargin' ? 'seconds' : 'milliseconds'}); leave it out for the default`);
    }
  }
  if (o.storage !== undefined) checkStorage(o.storage);
  return /** @type {any} */ (o);
}

/**
 * What the core's open() takes: the config and the machine's options.
 * @param {import('./index.js').ClientOptions} o @param {boolean} lock whether the storage has a lock
 */
export function coreConfig(o, lock) {
  // Whole milliseconds for the core, keeping the sign and never rounding a nonzero span to 0
  // (which the core reads as "the default").
  const ms = (n, scale) => (!n ? 0 : Math.sign(n) * Math.max(1, Math.round(Math.abs(n) * scale)));
  return { ...o, refreshMarginMs: ms(o.refreshMargin, 1000), tokenTimeoutMs: ms(o.tokenTimeout, 1), lock }; // the core reads its keys only
}

/** Rewrites the core's "caspio: config clientSecret:" into "caspio-auth: option clientSecret:". @param {any} err */
export function renameConfigError(err) {
  const option = err instanceof CaspioConfigError ? /** @type {any} */ (err).field : undefined;
  if (!Object.hasOwn(OPTIONS, option)) return err;
  return new CaspioConfigError(err.message.replace(/^caspio: config \w+:/, `caspio-auth: option ${option}:`), { field: option });
}

/** Names the type of a value without showing it: the value may be a secret. */
function kindOf(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
