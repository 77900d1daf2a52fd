// @ts-check
// Reading and checking the Worker's configuration (its env) and making the caspio-auth
// client: the Proxy that serves an env's requests. Every problem is noted by the variable
// at fault and what is wrong with its shape, never with its value (a secret may have been
// put in the wrong variable); the core's configuration errors are written that way too.
import { createClient, kvStorage, brokerStorage, proxyRules, CaspioConfigError } from 'caspio-auth';
import { parseRule, READ_METHODS } from './rules.js';

const DEFAULT_PREFIX = '/caspio';

/** Length bounds of a PROXY_KEYS key: long enough not to be guessed. */
const MIN_KEY_LENGTH = 16;
const MAX_KEY_LENGTH = 256;

/** createClient's options to the variables that set them, for configuration errors. */
const VARIABLE_OF_OPTION = {
  account: 'CASPIO_ACCOUNT',
  integrationUrl: 'CASPIO_INTEGRATION_URL',
  tokenUrl: 'CASPIO_TOKEN_URL',
  resourceUrl: 'CASPIO_RESOURCE_URL',
  apiVersion: 'CASPIO_API_VERSION',
  clientId: 'CASPIO_CLIENT_ID',
  clientSecret: 'CASPIO_CLIENT_SECRET',
};

const encoder = new TextEncoder();

/**
 * @typedef {import('./rules.js').CallerKind} CallerKind
 * @typedef {import('./rules.js').Rule} Rule
 * @typedef {import('./callers.js').Access} Access
 * @typedef {{problems: string[], prefix: string, keys: Uint8Array[], access: Access | null,
 *   origins: Set<string>, rules: Rule[], hasPublic: boolean, methods: string,
 *   client: import('caspio-auth').CaspioClient | null, resourceBase: string,
 *   paths: import('caspio-auth').ProxyRules}} Proxy
 *   problems: what is wrong with the configuration, values left out; when there is any, no
 *   request is forwarded, but callers are still authenticated with what could be read.
 *   resourceBase: the client's REST base, which the URLs it resolves start with.
 */

/**
 * Reads the configuration and makes the client. Every problem is noted, without the value,
 * and the rest is still read, so that callers can be authenticated before they are told
 * that the proxy cannot serve them.
 * @param {Record<string, unknown>} env
 * @returns {Promise<Proxy>}
 */
export async function loadProxy(env) {
  const text = (/** @type {string} */ name) => (typeof env[name] === 'string' ? /** @type {string} */ (env[name]).trim() : '');
  /** @type {string[]} */
  const problems = [];
  const paths = await proxyRules(); // the core's path rules and error mapping, for the rules and every request

  let prefix = parsePrefix(text('PROXY_PREFIX'));
  if (typeof prefix !== 'string') {
    problems.push(prefix.problem);
    prefix = DEFAULT_PREFIX;
  }

  const keys = [];
  for (const [i, key] of splitList(text('PROXY_KEYS')).entries()) {
    const why = keyProblem(key);
    if (why === null) keys.push(encoder.encode(key));
    else problems.push(`PROXY_KEYS key ${i + 1} ${why}`);
  }

  let access = null;
  const accessDomain = text('PROXY_ACCESS_TEAM_DOMAIN');
  const accessAud = splitList(text('PROXY_ACCESS_AUD'));
  if (accessDomain !== '' || accessAud.length > 0) {
    const issuer = parseTeamDomain(accessDomain);
    const audProblems = accessAud.map(audienceProblem).map((why, i) => why && `PROXY_ACCESS_AUD tag ${i + 1} ${why}`).filter((p) => p !== null);
    if (typeof issuer !== 'string') problems.push(issuer.problem);
    if (accessAud.length === 0) problems.push('PROXY_ACCESS_AUD is empty while PROXY_ACCESS_TEAM_DOMAIN is set: give the Application Audience (AUD) tag of the Access application');
    problems.push(...audProblems);
    if (typeof issuer === 'string' && accessAud.length > 0 && audProblems.length === 0) {
      access = { issuer, certsUrl: `${issuer}/cdn-cgi/access/certs`, audiences: accessAud, keys: null, fetchedAt: 0, pending: null };
    }
  }

  const publicWrites = text('PROXY_PUBLIC_WRITES');
  if (publicWrites !== '' && publicWrites !== 'allow') {
    problems.push(`PROXY_PUBLIC_WRITES must be empty or the word allow; it is ${publicWrites.length} characters of something else`);
  }

  /** @type {Rule[]} */
  const rules = [];
  const allow = splitList(text('PROXY_ALLOW'));
  for (const [i, entry] of allow.entries()) {
    const rule = parseRule(entry, paths);
    const where = `PROXY_ALLOW rule ${i + 1}`;
    if (typeof rule === 'string') {
      problems.push(`${where} ${rule}`);
      continue;
    }
    if (rule.callers.has('public') && !READ_METHODS.has(rule.method) && publicWrites !== 'allow') {
      problems.push(`${where} lets PUBLIC (anyone on the internet) use ${rule.method}, which writes; set PROXY_PUBLIC_WRITES to allow if that is meant`);
      continue;
    }
    const set = { key: text('PROXY_KEYS') !== '', access: accessDomain !== '' || accessAud.length > 0, public: true };
    if (![...rule.callers].some((kind) => set[kind])) {
      problems.push(`${where} is for ${/** @type {CallerKind[]} */ (['key', 'access']).filter((k) => rule.callers.has(k)).join(' or ')} callers, but ${rule.callers.has('key') ? 'PROXY_KEYS has no key' : ''}${rule.callers.size > 1 ? ' and ' : ''}${rule.callers.has('access') ? 'PROXY_ACCESS_TEAM_DOMAIN and PROXY_ACCESS_AUD are not set' : ''}`);
    }
    rules.push(rule);
  }
  if (allow.length === 0) problems.push('PROXY_ALLOW is empty: no request would be allowed; list rules such as "key GET /tables/Orders/records"');

  const origins = new Set();
  for (const [i, o] of splitList(text('PROXY_ORIGINS')).entries()) {
    const origin = parseOrigin(o);
    if (typeof origin === 'string') origins.add(origin);
    else problems.push(`PROXY_ORIGINS entry ${i + 1} ${origin.problem}; give the scheme and host only, e.g. https://app.example.com`);
  }

  /** @type {Proxy} */
  const proxy = {
    problems, prefix, keys, access, origins, rules,
    hasPublic: rules.some((r) => r.callers.has('public')),
    methods: [...new Set(rules.map((r) => r.method))].join(', '),
    client: null, resourceBase: '', paths,
  };

  /** @type {import('caspio-auth').ClientOptions} */
  const options = { clientId: text('CASPIO_CLIENT_ID'), clientSecret: text('CASPIO_CLIENT_SECRET') };
  for (const [option, variable] of Object.entries(VARIABLE_OF_OPTION)) {
    const value = text(variable);
    if (value !== '' && option !== 'clientId' && option !== 'clientSecret') Object.assign(options, { [option]: value });
  }
  try {
    const key = `caspio-token:${options.clientId}`; // as the Go proxy keys it
    let storage;
    if (isBinding(env.CASPIO_BROKER)) storage = brokerStorage(/** @type {any} */ (env.CASPIO_BROKER), key);
    else if (isBinding(env.CASPIO_TOKENS)) storage = kvStorage(/** @type {any} */ (env.CASPIO_TOKENS), key);
    const client = await createClient({ ...options, storage, onEvent: logEvent }); // checks the options; no request
    if (storage === undefined) {
      client.close();
      problems.push('CASPIO_BROKER (a Durable Object binding of class TokenBroker) or CASPIO_TOKENS (a KV namespace) must be bound: without a shared store every isolate would log in again');
    } else {
      Object.assign(proxy, { client, resourceBase: client.toJSON().resourceBase });
    }
  } catch (err) {
    // The core's configuration errors describe a value's shape (its length, the kind and
    // position of a bad character), never the value, and the storages' TypeErrors name the
    // binding: both may be logged as they are.
    if (err instanceof CaspioConfigError) {
      const variable = /** @type {Record<string, string>} */ (VARIABLE_OF_OPTION)[err.field] ?? 'CASPIO_ACCOUNT';
      // wrangler.jsonc ships placeholders in angle brackets: say so, not what a value is made of.
      if (/^<.*>$/s.test(text(variable))) {
        problems.push(`${variable} still holds the placeholder of wrangler.jsonc (text in angle brackets); replace it with ${variable === 'CASPIO_CLIENT_ID' ? "the Client ID of the account's Web services profile" : 'the value it describes'}`);
      } else {
        problems.push(`${variable} ${err.message.replace(/^caspio-auth: option \w+: /, '')}`);
      }
    } else if (err instanceof TypeError) {
      problems.push(err.message.replace(/^caspio-auth: /, ''));
    } else {
      throw err; // the core did not start: not cached (see fetch)
    }
  }
  for (const problem of problems) console.log(`proxy misconfigured: ${problem}`);
  return proxy;
}

/** @param {unknown} v */
function isBinding(v) {
  return typeof v === 'object' && v !== null;
}

/** Token events carry no secret; their errors are written to be logged. */
function logEvent(/** @type {import('caspio-auth').ClientEvent} */ e) {
  if (e.error) console.log(`caspio token event ${e.type} (${e.grant ?? '-'}, attempt ${e.attempt ?? 0}, status ${e.status ?? 0}): ${e.error.message}`);
  else if (e.type !== 'token_request') console.log(`caspio token event ${e.type} (${e.grant ?? '-'})`);
}

/** @param {string} s */
function splitList(s) {
  return s.split(',').map((x) => x.trim()).filter((x) => x !== '');
}

/**
 * PROXY_PREFIX as "/name" without a trailing slash, "" for the root, or what is wrong.
 * @param {string} p
 * @returns {string | {problem: string}}
 */
function parsePrefix(p) {
  if (p === '') return DEFAULT_PREFIX;
  if (!p.startsWith('/')) return { problem: 'PROXY_PREFIX does not start with /; give a path such as /caspio (or / for the root)' };
  p = p.replace(/\/+$/, '');
  if (p === '') return '';
  for (const [i, seg] of p.slice(1).split('/').entries()) {
    if (seg === '' || seg === '.' || seg === '..') return { problem: `PROXY_PREFIX segment ${i + 1} is empty, . or ..` };
    const bad = seg.search(/[^A-Za-z0-9\-._~]/);
    if (bad >= 0) return { problem: `PROXY_PREFIX segment ${i + 1} has a character other than letters, digits and - . _ ~ at position ${bad + 1}` };
  }
  return p;
}

/**
 * What is wrong with a PROXY_KEYS key, or null.
 * @param {string} key
 */
function keyProblem(key) {
  if (key.length < MIN_KEY_LENGTH) return `is ${key.length} characters long; use at least ${MIN_KEY_LENGTH} (e.g. from openssl rand -base64 32)`;
  if (key.length > MAX_KEY_LENGTH) return `is ${key.length} characters long; use at most ${MAX_KEY_LENGTH}`;
  const bad = key.search(/[^\x21-\x7e]/);
  if (bad >= 0) return `has a character that is not printable ASCII at position ${bad + 1} (keys are printable ASCII without spaces or commas)`;
  return null;
}

/**
 * PROXY_ACCESS_TEAM_DOMAIN as the issuer of Access tokens, "https://<team>.cloudflareaccess.com",
 * or what is wrong. The scheme may be left out; http:// is allowed for a loopback host
 * only (a test's keys server).
 * @param {string} s
 * @returns {string | {problem: string}}
 */
function parseTeamDomain(s) {
  const name = 'PROXY_ACCESS_TEAM_DOMAIN';
  if (s === '') return { problem: `${name} is empty while PROXY_ACCESS_AUD is set: give the team domain, e.g. https://yourteam.cloudflareaccess.com` };
  let rest = s.replace(/\/+$/, '');
  let scheme = 'https';
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(rest);
  if (m) {
    scheme = m[1].toLowerCase();
    rest = rest.slice(m[0].length);
  }
  if (scheme !== 'https' && scheme !== 'http') return { problem: `${name} has a scheme other than https://` };
  const bad = rest.search(/[^A-Za-z0-9.\-:[\]]/);
  if (bad >= 0) return { problem: `${name} has a character that a host name may not have at position ${bad + 1} after the scheme (give the scheme and host only)` };
  const host = rest.replace(/:\d+$/, '').toLowerCase();
  if (host === '' || /:/.test(host.replace(/^\[.*\]$/, ''))) return { problem: `${name} has no valid host (give the scheme and host only, e.g. https://yourteam.cloudflareaccess.com)` };
  if (scheme === 'http' && !['127.0.0.1', 'localhost', '[::1]'].includes(host)) {
    return { problem: `${name} uses http://, which only a loopback host may (for tests); use https://` };
  }
  return `${scheme}://${rest.toLowerCase()}`;
}

/**
 * What is wrong with a PROXY_ACCESS_AUD tag, or null.
 * @param {string} aud
 */
function audienceProblem(aud) {
  if (aud.length !== 64) return `is ${aud.length} characters long; an Application Audience (AUD) tag is 64 hexadecimal digits`;
  const bad = aud.search(/[^0-9a-f]/);
  if (bad >= 0) return `has a character that is not a lower-case hexadecimal digit at position ${bad + 1}`;
  return null;
}

/**
 * An origin as a browser's Origin header serialises it, or what is wrong with it.
 * @param {string} s
 * @returns {string | {problem: string}}
 */
function parseOrigin(s) {
  s = s.replace(/\/+$/, '').toLowerCase();
  const m = /^(https?):\/\/(.*)$/.exec(s);
  if (m === null) return { problem: 'does not start with https:// or http://' };
  const [, scheme] = m;
  let host = m[2];
  const bad = host.search(/[/?#@\\ *]/);
  if (bad >= 0) return { problem: `has a path, query, user or wildcard at position ${scheme.length + 3 + bad + 1}` };
  if (host === '') return { problem: 'has no host' };
  const colon = host.lastIndexOf(':');
  if (colon >= 0 && !host.startsWith('[')) {
    const port = Number(host.slice(colon + 1));
    if (colon === 0 || !/^\d+$/.test(host.slice(colon + 1)) || port < 1 || port > 65535) return { problem: 'has a port that is not a number from 1 to 65535' };
    if ((scheme === 'https' && port === 443) || (scheme === 'http' && port === 80)) host = host.slice(0, colon); // browsers omit the default port
  }
  return `${scheme}://${host}`;
}

