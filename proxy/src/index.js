// @ts-check
// An authenticating edge proxy for the Caspio REST API, as a Cloudflare Worker written in
// JS with the npm package caspio-auth. Callers send requests under PROXY_PREFIX; the Worker
// finds out who they are (a holder of a key, a user signed in through Cloudflare Access, or
// anyone), checks the request against the PROXY_ALLOW rules, each of which says who may use
// it, and forwards it to the account's REST API with its bearer token. The token never
// leaves the Worker, and callers never reach anything but the resource routes the rules
// allow. The same spec as the Go example (examples/go-proxy); the conformance suite
// tests/workers/proxy-conformance.js checks both.
//
// Configuration (vars, and secrets marked *):
//   CASPIO_INTEGRATION_URL, or CASPIO_ACCOUNT, or CASPIO_TOKEN_URL + CASPIO_RESOURCE_URL;
//   CASPIO_API_VERSION (v2, the default, or v3); CASPIO_CLIENT_ID; CASPIO_CLIENT_SECRET*;
//   PROXY_PREFIX (default /caspio);
//   PROXY_ALLOW: comma-separated rules "CALLERS METHOD /path", CALLERS being key, access,
//     key+access or PUBLIC; a path segment "*" matches any one segment, a last "**" the rest;
//   PROXY_KEYS* (comma-separated keys, sent as X-Proxy-Key; several, for rotation);
//   PROXY_ACCESS_TEAM_DOMAIN + PROXY_ACCESS_AUD (Cloudflare Access: the team domain and
//     the application audience tags whose Cf-Access-Jwt-Assertion tokens are accepted);
//   PROXY_PUBLIC_WRITES ("allow" lets PUBLIC rules use methods other than GET and HEAD);
//   PROXY_ORIGINS (comma-separated browser origins that may read answers: CORS only).
// Token store: the Durable Object binding CASPIO_BROKER (class TokenBroker, exported below:
// one token request at a time for the whole deployment), else the KV namespace
// CASPIO_TOKENS. See README.md.
import {
  createClient, kvStorage, brokerStorage,
  CaspioConfigError, CaspioOAuthError, CaspioResponseError, CaspioAPIError, CaspioURLError,
} from 'caspio-auth';

// The Durable Object class behind CASPIO_BROKER must be exported by the main module.
export { TokenBroker } from 'caspio-auth';

const DEFAULT_PREFIX = '/caspio';
/** Bytes of a request body forwarded to Caspio. */
const MAX_BODY = 8 << 20;
/** Milliseconds for one proxied request, the wait for a token included. */
const UPSTREAM_TIMEOUT_MS = 30_000;
const PREFLIGHT_AGE = '600';

/** Length bounds of a PROXY_KEYS key: long enough not to be guessed. */
const MIN_KEY_LENGTH = 16;
const MAX_KEY_LENGTH = 256;

/** The header Cloudflare Access puts the signed-in user's token in. */
const ACCESS_HEADER = 'cf-access-jwt-assertion';
/** Longest Access token read; Access tokens are about 1 KB. */
const MAX_ACCESS_TOKEN = 8192;
/** How long the team's published keys are used before they are fetched again. */
const ACCESS_KEYS_TTL_MS = 3_600_000;
/** A token signed by an unknown key refetches the keys at most this often (key rotation). */
const ACCESS_REFETCH_MS = 60_000;
const ACCESS_FETCH_TIMEOUT_MS = 5_000;
/** Seconds of clock difference tolerated for a token's nbf (not for its exp). */
const ACCESS_CLOCK_SKEW_S = 60;

/** The only caller headers forwarded to Caspio: never its Authorization, Cookie or X-Proxy-Key. */
const FORWARDED_REQUEST_HEADERS = ['content-type', 'accept'];
/** The only Caspio response headers passed back (not Location, nor Set-Cookie). */
const PASSED_RESPONSE_HEADERS = ['content-type', 'x-caspio-request-id', 'retry-after'];

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

/** REST bases of either API version, which a path may name only when it is this client's. */
const VERSIONED_BASES = ['v2', 'v3', 'rest/v2', 'rest/v3', 'integrations/rest/v3'];

/** Methods that only read: the only ones a PUBLIC rule may use without PROXY_PUBLIC_WRITES. */
const READ_METHODS = new Set(['GET', 'HEAD']);

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * The proxy of each env (one per isolate in practice), made at its first request: the
 * checked configuration, one caspio-auth client, whose token all the isolate's requests
 * share, and the Access keys once fetched. Calls into the WebAssembly core are synchronous,
 * so one instance serves concurrent requests safely.
 * @type {WeakMap<object, Promise<Proxy>>}
 */
const proxies = new WeakMap();

/**
 * @typedef {'key' | 'access' | 'public'} CallerKind
 * @typedef {{callers: Set<CallerKind>, method: string, segments: string[]}} Rule
 * @typedef {{issuer: string, certsUrl: string, audiences: string[],
 *   keys: Map<string, CryptoKey> | null, fetchedAt: number, pending: Promise<void> | null}} Access
 * @typedef {{problems: string[], prefix: string, keys: Uint8Array[], access: Access | null,
 *   origins: Set<string>, rules: Rule[], hasPublic: boolean, methods: string,
 *   client: import('caspio-auth').CaspioClient | null, resourceBase: string, basePath: string,
 *   apiVersion: string}} Proxy
 *   problems: what is wrong with the configuration, values left out; when there is any, no
 *   request is forwarded, but callers are still authenticated with what could be read.
 */

export default {
  /**
   * @param {Request} request
   * @param {Record<string, unknown>} env
   * @param {{waitUntil(promise: Promise<unknown>): void}} [ctx]
   */
  async fetch(request, env, ctx) {
    const started = Date.now();
    let proxy = proxies.get(env);
    if (proxy === undefined) {
      proxy = loadProxy(env);
      proxies.set(env, proxy);
      proxy.catch(() => { proxies.delete(env); }); // the core did not start: try again next time
    }
    const serving = proxy.then((p) => serve(p, request));
    // The request that happens to make the token request which the isolate's other requests
    // wait for runs it to the end, even if its own caller goes away meanwhile.
    ctx?.waitUntil(serving.catch(() => {}));
    let answer;
    try {
      answer = await serving;
    } catch (err) {
      const id = crypto.randomUUID();
      console.log(`proxy error (request ${id}): ${/** @type {Error} */ (err)?.name}: ${redact(/** @type {Error} */ (err)?.message ?? '')}`);
      answer = { response: jsonError(500, 'proxy_error', 'the proxy failed; its log says why under this request ID', undefined, id), route: '-', caller: '-' };
    }
    const { response, route, caller } = answer;
    // The method, the route, the caller's kind and the status: never a header, a query or a body.
    console.log(`${request.method} ${route} ${response.status} ${Date.now() - started}ms ${caller}`);
    return response;
  },
};

/**
 * Reads the configuration and makes the client. Every problem is noted, without the value,
 * and the rest is still read, so that callers can be authenticated before they are told
 * that the proxy cannot serve them.
 * @param {Record<string, unknown>} env
 * @returns {Promise<Proxy>}
 */
async function loadProxy(env) {
  const text = (/** @type {string} */ name) => (typeof env[name] === 'string' ? /** @type {string} */ (env[name]).trim() : '');
  /** @type {string[]} */
  const problems = [];

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
    const rule = parseRule(entry);
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
    client: null, resourceBase: '', basePath: '', apiVersion: '',
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
      const { resourceBase, apiVersion } = client.toJSON();
      Object.assign(proxy, { client, resourceBase, apiVersion, basePath: new URL(resourceBase).pathname.replace(/^\/|\/$/g, '') });
    }
  } catch (err) {
    if (err instanceof CaspioConfigError) {
      const variable = /** @type {Record<string, string>} */ (VARIABLE_OF_OPTION)[err.field] ?? 'CASPIO_ACCOUNT';
      problems.push(`${variable} ${redact(err.message.replace(/^caspio-auth: option \w+: /, ''))}`);
    } else if (err instanceof TypeError) {
      problems.push(redact(err.message.replace(/^caspio-auth: /, '')));
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

/**
 * The core's messages may quote the value at fault (an account ID, a URL), which may be a
 * secret put in the wrong variable: every quoted part is left out.
 * @param {string} message
 */
function redact(message) {
  return message.replace(/"(?:[^"\\]|\\.)*"(?:\.\.\.)?/g, '(value not shown)');
}

/** Token events carry no secret; their errors are written to be logged. */
function logEvent(/** @type {import('caspio-auth').ClientEvent} */ e) {
  if (e.error) console.log(`caspio token event ${e.type} (${e.grant ?? '-'}, attempt ${e.attempt ?? 0}, status ${e.status ?? 0}): ${e.error.message}`);
  else if (e.type !== 'token_request') console.log(`caspio token event ${e.type} (${e.grant ?? '-'})`);
}

/**
 * Answers one request; returns the response and what to log of the path and the caller.
 * @param {Proxy} p
 * @param {Request} request
 * @returns {Promise<{response: Response, route: string, caller: string}>}
 */
async function serve(p, request) {
  const url = new URL(request.url);
  const raw = url.pathname;
  if (raw !== p.prefix && !raw.startsWith(p.prefix + '/')) {
    return { response: jsonError(404, 'not_found', `this proxy serves paths under ${p.prefix || ''}/`), route: '-', caller: '-' };
  }
  const rest = raw.slice(p.prefix.length);

  const headers = new Headers();
  const origin = request.headers.get('origin');
  const originOK = origin !== null && p.origins.has(origin);
  if (p.origins.size > 0) headers.append('Vary', 'Origin');
  if (originOK) {
    headers.set('Access-Control-Allow-Origin', origin);
    headers.set('Access-Control-Expose-Headers', 'X-Caspio-Request-ID');
  }

  if (request.method === 'OPTIONS') {
    // A preflight carries no credential; it learns the methods only. The request that
    // follows is authenticated like any other.
    if (!originOK) {
      return { response: jsonError(403, 'forbidden', 'CORS preflight from an origin that PROXY_ORIGINS does not list', headers), route: 'preflight', caller: '-' };
    }
    headers.set('Access-Control-Allow-Methods', p.methods);
    headers.set('Access-Control-Allow-Headers', 'Content-Type, Accept, X-Proxy-Key');
    headers.set('Access-Control-Max-Age', PREFLIGHT_AGE);
    return { response: new Response(null, { status: 204, headers }), route: 'preflight', caller: '-' };
  }

  // Who is calling: every credential sent must be valid; an Origin header is no credential.
  const who = await authenticate(p, request);
  if (who.error) return { response: jsonError(who.error.status, who.error.code, who.error.message, headers), route: '-', caller: '-' };
  const callers = who.callers;
  const caller = [...callers].join('+') || 'anonymous';
  const authenticated = callers.size > 0;
  const unauthenticated = () => jsonError(401, 'unauthenticated', 'send a valid X-Proxy-Key header, or sign in through Cloudflare Access', headers);

  if (p.problems.length > 0) {
    if (!authenticated) return { response: unauthenticated(), route: '-', caller };
    const id = crypto.randomUUID();
    console.log(`proxy misconfigured (request ${id}): ${p.problems.join('; ')}`);
    return { response: jsonError(500, 'proxy_misconfigured', 'the proxy is misconfigured; its log says what to fix under this request ID', headers, id), route: '-', caller };
  }
  if (!authenticated && !p.hasPublic) return { response: unauthenticated(), route: '-', caller };

  if (url.username !== '' || url.password !== '') {
    return { response: jsonError(400, 'bad_path', 'the request target is not a plain path', headers), route: '-', caller };
  }
  if (rest === '' || rest === '/') {
    return { response: jsonError(404, 'not_found', `give a Caspio resource path after ${p.prefix}/, e.g. ${p.prefix}/tables`, headers), route: '-', caller };
  }
  const segments = pathSegments(rest);
  if (typeof segments === 'string') return { response: jsonError(400, 'bad_path', `the path ${segments}`, headers), route: '-', caller };
  const resource = resourceSegments(p, segments);
  if (resource === null) {
    // Not the core's message: it names the resource base, which callers need not know.
    return { response: jsonError(400, 'bad_path', 'the path is not a resource path of the configured Caspio REST API version', headers), route: '-', caller };
  }
  const path = '/' + resource.map(encodeSegment).join('/');
  const matching = p.rules.filter((r) => matches(r, request.method, resource));
  const allowed = matching.some((r) => r.callers.has('public') || [...callers].some((c) => r.callers.has(c)));
  if (!allowed) {
    if (!authenticated) return { response: unauthenticated(), route: path, caller };
    return { response: jsonError(403, 'forbidden', `${request.method} on this path is not allowed to this caller by PROXY_ALLOW`, headers), route: path, caller };
  }
  return { response: await forward(p, request, p.resourceBase + path + url.search, headers), route: path, caller };
}

/**
 * The caller kinds that request proves, or the error to answer: a key that matches none,
 * an Access token that does not verify (401), Access keys that cannot be had (503).
 * @param {Proxy} p
 * @param {Request} request
 * @returns {Promise<{callers: Set<CallerKind>, error?: undefined} | {error: {status: number, code: string, message: string}}>}
 */
async function authenticate(p, request) {
  /** @type {Set<CallerKind>} */
  const callers = new Set();
  const key = request.headers.get('x-proxy-key');
  if (key !== null && key !== '') {
    if (!keyValid(p.keys, key)) return { error: { status: 401, code: 'unauthenticated', message: 'the X-Proxy-Key header matches none of the proxy\'s keys' } };
    callers.add('key');
  }
  const token = request.headers.get(ACCESS_HEADER);
  // Without Access configured the header is ignored: the route may sit behind Access for
  // reasons of its own.
  if (p.access !== null && token !== null && token !== '') {
    const why = await verifyAccessToken(p.access, token, Date.now());
    if (why === 'unavailable') {
      return { error: { status: 503, code: 'access_unavailable', message: 'the Cloudflare Access keys could not be fetched to verify the Cf-Access-Jwt-Assertion header; try again later' } };
    }
    if (why !== null) return { error: { status: 401, code: 'unauthenticated', message: `the Cf-Access-Jwt-Assertion header ${why}` } };
    callers.add('access');
  }
  return { callers };
}

/**
 * Sends the request to Caspio with the bearer token and passes the answer back: its status,
 * body and a few headers. Redirects are passed back unfollowed, without their Location.
 * @param {Proxy} p
 * @param {Request} request
 * @param {string} target
 * @param {Headers} headers the CORS headers of the answer so far
 */
async function forward(p, request, target, headers) {
  const client = /** @type {import('caspio-auth').CaspioClient} */ (p.client);
  const method = request.method;
  /** @type {ArrayBuffer | undefined} */
  let body;
  if (method !== 'GET' && method !== 'HEAD' && request.body !== null) {
    const read = await readBody(request);
    if (read === 'too_large') return jsonError(413, 'too_large', `the request body is over ${MAX_BODY >> 20} MiB`, headers);
    if (read === 'bad_length') return jsonError(400, 'bad_request', 'the Content-Length header is not a number of bytes', headers);
    if (read === 'unreadable') return jsonError(400, 'bad_request', 'the request body could not be read', headers);
    if (read.byteLength > 0) body = read;
  }
  const out = new Headers();
  for (const name of FORWARDED_REQUEST_HEADERS) {
    const v = request.headers.get(name);
    if (v) out.set(name, v);
  }
  if (!out.has('accept')) out.set('accept', 'application/json');
  if (body === undefined) out.delete('content-type');

  let res;
  try {
    res = await client.fetch(target, { method, headers: out, body, redirect: 'manual', signal: AbortSignal.timeout(UPSTREAM_TIMEOUT_MS) });
  } catch (err) {
    const e = /** @type {Error} */ (err);
    console.log(`forward ${method}: ${e?.name}: ${e?.message}`);
    if (e?.name === 'TimeoutError') return jsonError(504, 'caspio_timeout', 'Caspio did not answer in time', headers);
    if (err instanceof CaspioURLError) return jsonError(400, 'bad_path', 'the path is not a resource path of the configured Caspio REST API version', headers);
    const status = err instanceof CaspioOAuthError || err instanceof CaspioResponseError || err instanceof CaspioAPIError ? err.status : 0;
    if (err instanceof CaspioOAuthError && (status === 400 || status === 401)) {
      const code = /^[a-z_]{1,40}$/.test(err.error) ? err.error : `HTTP ${status}`;
      return jsonError(502, 'caspio_auth_failed', `Caspio refused the proxy's credentials (${code})`, headers);
    }
    if (status === 429 || status >= 500) {
      return jsonError(503, 'caspio_unavailable', `Caspio's token endpoint is unavailable (HTTP ${status}); try again later`, headers);
    }
    return jsonError(502, 'caspio_unreachable', status === 0 ? 'the request to Caspio failed' : `the token request to Caspio failed (HTTP ${status})`, headers);
  }
  for (const name of PASSED_RESPONSE_HEADERS) {
    const v = res.headers.get(name);
    if (v !== null) headers.set(name, v);
  }
  const nullBody = method === 'HEAD' || res.status === 204 || res.status === 205 || res.status === 304;
  if (nullBody) await res.body?.cancel();
  return new Response(nullBody ? null : res.body, { status: res.status, headers });
}

/**
 * Reads the request body into memory (so that a 401 can be retried with it), counting the
 * bytes as they arrive and stopping at MAX_BODY: a stream of any length costs MAX_BODY at
 * most. A Content-Length over the limit is refused before anything is read.
 * @param {Request} request
 * @returns {Promise<ArrayBuffer | 'too_large' | 'bad_length' | 'unreadable'>}
 */
async function readBody(request) {
  const stream = /** @type {ReadableStream<Uint8Array>} */ (request.body);
  const length = request.headers.get('content-length');
  if (length !== null) {
    if (!/^\d{1,15}$/.test(length.trim())) return 'bad_length';
    if (Number(length) > MAX_BODY) {
      stream.cancel().catch(() => {});
      return 'too_large';
    }
  }
  const reader = stream.getReader();
  /** @type {Uint8Array[]} */
  const chunks = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > MAX_BODY) {
        reader.cancel().catch(() => {});
        return 'too_large';
      }
      chunks.push(value);
    }
  } catch {
    return 'unreadable';
  }
  const body = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    body.set(c, at);
    at += c.byteLength;
  }
  return body.buffer;
}

/**
 * The proxy's JSON error: {"error": code, "message": ..., "request_id"?: ...}.
 * @param {number} status
 * @param {string} code
 * @param {string} message
 * @param {Headers} [headers]
 * @param {string} [requestId] the ID under which the log explains a 500
 */
function jsonError(status, code, message, headers = new Headers(), requestId) {
  headers.set('Content-Type', 'application/json; charset=utf-8');
  headers.set('Cache-Control', 'no-store');
  const body = requestId === undefined ? { error: code, message } : { error: code, message, request_id: requestId };
  return new Response(JSON.stringify(body) + '\n', { status, headers });
}

/**
 * The resource path's segments (the decoded segments after the prefix, already checked by
 * pathSegments) on the REST base, as the core resolves them: a leading REST base or
 * version of this client is dropped; another version's is refused (null). The client
 * resolves the URL again before it sends the token.
 * @param {Proxy} p
 * @param {string[]} segments
 */
function resourceSegments(p, segments) {
  const joined = segments.join('/');
  const starts = (/** @type {string} */ base) => base !== '' && (joined === base || joined.startsWith(base + '/'));
  if (starts(p.basePath)) return segments.slice(p.basePath.split('/').length);
  if (starts(p.apiVersion)) return segments.slice(1);
  if (VERSIONED_BASES.some(starts)) return null;
  return segments;
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

/**
 * One PROXY_ALLOW entry: who may use it, a method and a path pattern whose segments are
 * literal, "*" (any one segment) or, last, "**" (the rest of the path, zero or more
 * segments). Returns what is wrong with it as a string, without quoting it (a secret put
 * in the wrong variable must not reach a log).
 * @param {string} text
 * @returns {Rule | string}
 */
function parseRule(text) {
  const fields = text.split(/\s+/).filter((f) => f !== '');
  if (fields.length !== 3) return `has ${fields.length} field${fields.length === 1 ? '' : 's'}; write "CALLERS METHOD /path", e.g. "key GET /tables/Orders/records"`;
  const callers = parseCallers(fields[0]);
  if (typeof callers === 'string') return callers;
  const method = fields[1].toUpperCase();
  if (!/^[A-Z]{1,20}$/.test(method)) return 'has a method that is not letters only (GET, POST, PUT, DELETE, ...)';
  if (method === 'OPTIONS') return 'has the method OPTIONS: the proxy answers preflights itself';
  const pattern = fields[2];
  if (!pattern.startsWith('/') || pattern === '/') return 'has a path that does not start with / and name a resource';
  const segments = pattern.slice(1).split('/');
  for (const [i, seg] of segments.entries()) {
    const where = `path segment ${i + 1}`;
    if (seg === '' || /^\.+$/.test(seg)) return `has an empty or dot ${where}`;
    if (seg === '**' && i !== segments.length - 1) return `has ** as ${where}, before the last segment`;
    if (seg === '*' || seg === '**') continue;
    if (seg.includes('*')) return `has * inside ${where}; * and ** stand for whole segments`;
    const bad = firstBadChar(seg);
    if (bad !== null) return `has ${bad.what} in ${where} at position ${bad.at}`;
  }
  return { callers, method, segments };
}

/**
 * The caller kinds of a rule: "key", "access", "key+access", or "PUBLIC" (anyone: in
 * capitals, so that it stands out), or what is wrong.
 * @param {string} field
 * @returns {Set<CallerKind> | string}
 */
function parseCallers(field) {
  if (field === 'PUBLIC') return new Set(['public']);
  if (field.toLowerCase() === 'public') return 'writes PUBLIC not in capitals; write it PUBLIC, so that it stands out: it lets anyone on the internet use the rule';
  /** @type {Set<CallerKind>} */
  const kinds = new Set();
  for (const kind of field.toLowerCase().split('+')) {
    if (kind === 'key' || kind === 'access') kinds.add(kind);
    else if (kind === 'public') return 'combines PUBLIC with other callers; PUBLIC already means anyone';
    else return 'does not start with who may use it: key, access, key+access or PUBLIC';
  }
  return kinds;
}

/**
 * Whether rule allows method on the resource path's segments (decoded).
 * @param {Rule} rule
 * @param {string} method
 * @param {string[]} segs
 */
function matches(rule, method, segs) {
  if (method !== rule.method) return false;
  for (const [i, want] of rule.segments.entries()) {
    if (want === '**') return true;
    if (i >= segs.length || (want !== '*' && want !== segs[i])) return false;
  }
  return segs.length === rule.segments.length;
}

/**
 * Compares key with every configured key, in time that depends on the lengths only.
 * @param {Uint8Array[]} keys
 * @param {string} key
 */
function keyValid(keys, key) {
  const given = encoder.encode(key);
  let ok = 0;
  for (const k of keys) {
    if (k.length !== given.length) continue;
    let diff = 0;
    for (let i = 0; i < k.length; i++) diff |= k[i] ^ given[i];
    ok |= diff === 0 ? 1 : 0;
  }
  return ok === 1;
}

/**
 * The path after the prefix (still percent-encoded, as the URL parser left it) as decoded
 * segments, or why it is refused. It runs before the rules match, and allows only what a
 * resource name needs, so that no spelling another server would read as something else
 * (dot segments, encoded or double-encoded separators, ";" parameters, overlong UTF-8,
 * look-alike dots and slashes) reaches a rule.
 * @param {string} rest
 * @returns {string[] | string}
 */
function pathSegments(rest) {
  const lower = rest.toLowerCase();
  if (lower.includes('%2e') || lower.includes('%2f') || lower.includes('%5c')) return "has a percent-encoded '.', '/' or '\\'";
  if (rest.includes('\\')) return 'has a backslash';
  const segments = [];
  for (const [i, seg] of rest.slice(1).split('/').entries()) {
    const where = `segment ${i + 1}`;
    if (seg === '') return `has an empty ${where}`;
    let s;
    try {
      s = decodeURIComponent(seg);
    } catch {
      return `has a malformed percent-encoding, or one that is not UTF-8, in ${where}`;
    }
    if (/^\.+$/.test(s)) return `has a ${where} of dots only`;
    if (/^ | $|\.$/.test(s)) return `has a ${where} that starts with a space or ends with a space or a dot`;
    const bad = firstBadChar(s);
    if (bad !== null) return `has ${bad.what} in ${where} at position ${bad.at}`;
    segments.push(s);
  }
  return segments;
}

/**
 * The first character of a decoded segment that a resource name does not need, described,
 * with its position (from 1, in characters), or null. Allowed: ASCII letters and digits,
 * space and - . _ ~ ! $ & ' ( ) * + , =, and any other letter, combining mark or decimal
 * digit. Not: % (a double encoding), ; : @ / \ ? # and the other ASCII punctuation, control
 * characters, and every other character, such as fullwidth or one-dot-leader dots.
 * @param {string} s
 * @returns {{what: string, at: number} | null}
 */
function firstBadChar(s) {
  let at = 0;
  for (const ch of s) {
    at++;
    const c = /** @type {number} */ (ch.codePointAt(0));
    if (c < 0x80) {
      if (/[A-Za-z0-9 \-._~!$&'()*+,=]/.test(ch)) continue;
      if (c < 0x20 || c === 0x7f) return { what: 'a control character', at };
      if (ch === '%') return { what: "'%' after decoding (a double-encoded character)", at };
      return { what: `'${ch}'`, at };
    }
    if (/[\p{L}\p{M}\p{Nd}]/u.test(ch)) continue;
    return { what: `U+${c.toString(16).toUpperCase().padStart(4, '0')}, which is not a letter or digit,`, at };
  }
  return null;
}

/**
 * A decoded segment as sent to Caspio: unreserved characters as they are, every other byte
 * of its UTF-8 percent-encoded, so that what reaches Caspio is what the rules matched.
 * @param {string} s
 */
function encodeSegment(s) {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

/**
 * Verifies a Cloudflare Access token (a JWT signed with RS256 by one of the team's
 * published keys) for this proxy's team and audiences, at nowMs. Returns null when it
 * holds, 'unavailable' when the keys cannot be fetched, or what is wrong with it (never
 * quoting it).
 * @param {Access} access
 * @param {string} token
 * @param {number} nowMs
 * @returns {Promise<string | null>}
 */
async function verifyAccessToken(access, token, nowMs) {
  if (token.length > MAX_ACCESS_TOKEN) return `is ${token.length} characters long; an Access token is at most ${MAX_ACCESS_TOKEN}`;
  const parts = token.split('.');
  if (parts.length !== 3) return `has ${parts.length} dot-separated parts; a JWT has 3`;
  for (const [i, part] of parts.entries()) {
    const bad = part.search(/[^A-Za-z0-9_-]/);
    if (part === '' || bad >= 0) return `has ${part === '' ? 'an empty' : `a character outside base64url at position ${bad + 1} of`} part ${i + 1}`;
  }
  let header;
  let claims;
  try {
    header = JSON.parse(decoder.decode(base64url(parts[0])));
    claims = JSON.parse(decoder.decode(base64url(parts[1])));
  } catch {
    return 'has a header or payload that is not base64url-encoded JSON';
  }
  if (!isObject(header) || !isObject(claims)) return 'has a header or payload that is not a JSON object';
  if (header.alg !== 'RS256') return 'is not signed with RS256, the algorithm of Cloudflare Access';
  if (typeof header.kid !== 'string' || header.kid === '') return 'has no key ID (kid) in its header';

  let key;
  try {
    key = await accessKey(access, header.kid, nowMs);
  } catch (err) {
    console.log(`access keys: ${/** @type {Error} */ (err)?.message}`);
    return 'unavailable';
  }
  if (key === null) return "is signed by a key that the team's Access keys do not include";
  const signed = encoder.encode(`${parts[0]}.${parts[1]}`);
  if (!await crypto.subtle.verify('RSASSA-PKCS1-v1_5', key, base64url(parts[2]), signed)) return 'has a signature that does not verify';

  if (claims.iss !== access.issuer) return "was issued by another team's Access, not the one of PROXY_ACCESS_TEAM_DOMAIN";
  const audiences = typeof claims.aud === 'string' ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud : [];
  if (!audiences.some((a) => access.audiences.includes(a))) return 'is for another Access application (its aud is none of PROXY_ACCESS_AUD)';
  const now = nowMs / 1000;
  if (typeof claims.exp !== 'number') return 'has no expiry (exp)';
  if (now >= claims.exp) return 'has expired; sign in again';
  if (claims.nbf !== undefined && (typeof claims.nbf !== 'number' || now + ACCESS_CLOCK_SKEW_S < claims.nbf)) return 'is not valid yet (nbf)';
  return null;
}

/** @param {unknown} v @returns {v is Record<string, unknown>} */
function isObject(v) {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** @param {string} s unpadded base64url, already checked for its alphabet */
function base64url(s) {
  const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * The team's public key with ID kid: from the keys fetched within the hour, else fetched
 * now (one fetch at a time for the isolate). An unknown kid fetches the keys again, at most
 * once a minute, for a key Cloudflare has just rotated in. Null when the team has no such
 * key; throws when the keys cannot be fetched.
 * @param {Access} access
 * @param {string} kid
 * @param {number} nowMs
 */
async function accessKey(access, kid, nowMs) {
  const stale = access.keys === null || nowMs - access.fetchedAt > ACCESS_KEYS_TTL_MS;
  const unknown = access.keys !== null && !access.keys.has(kid) && nowMs - access.fetchedAt > ACCESS_REFETCH_MS;
  if (stale || unknown) {
    access.pending ??= fetchAccessKeys(access).finally(() => { access.pending = null; });
    try {
      await access.pending;
    } catch (err) {
      if (access.keys === null) throw err;
      // Keep the keys fetched before, and try again in a minute.
      console.log(`access keys: ${/** @type {Error} */ (err)?.message}; the keys fetched before are used`);
      access.fetchedAt = Math.max(access.fetchedAt, nowMs - ACCESS_KEYS_TTL_MS + ACCESS_REFETCH_MS);
    }
  }
  return access.keys?.get(kid) ?? null;
}

/** Fetches and imports the team's published keys (its JWKS). @param {Access} access */
async function fetchAccessKeys(access) {
  let res;
  try {
    res = await fetch(access.certsUrl, { redirect: 'manual', signal: AbortSignal.timeout(ACCESS_FETCH_TIMEOUT_MS), headers: { accept: 'application/json' } });
  } catch {
    throw new Error("the team's keys endpoint could not be reached");
  }
  if (res.status !== 200) {
    await res.body?.cancel();
    throw new Error(`the team's keys endpoint answered HTTP ${res.status}`);
  }
  const jwks = await res.json().catch(() => null);
  if (!isObject(jwks) || !Array.isArray(jwks.keys)) throw new Error("the team's keys endpoint did not answer a JSON Web Key Set");
  /** @type {Map<string, CryptoKey>} */
  const keys = new Map();
  for (const k of jwks.keys) {
    if (!isObject(k) || k.kty !== 'RSA' || typeof k.kid !== 'string' || k.kid === '' || typeof k.n !== 'string' || typeof k.e !== 'string') continue;
    if (!/^[A-Za-z0-9_-]+$/.test(k.n) || base64url(k.n).length < 256) continue; // shorter than 2048 bits: verifies nothing
    try {
      keys.set(k.kid, await crypto.subtle.importKey('jwk', { kty: 'RSA', n: k.n, e: k.e, alg: 'RS256' },
        { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['verify']));
    } catch {
      // a key this runtime cannot import (too short, say) verifies nothing
    }
  }
  access.keys = keys;
  access.fetchedAt = Date.now();
}
