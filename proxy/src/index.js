// @ts-check
// An authenticating edge proxy for the Caspio REST API, as a Cloudflare Worker written in
// JS with the npm package caspio-auth. Callers (a browser page from an allowed origin, or a
// server with a shared key) send requests under PROXY_PREFIX; the Worker checks them
// against PROXY_ALLOW and forwards them to the account's REST API with its bearer token.
// The token never leaves the Worker, and callers never reach anything but the resource
// routes the rules allow. The same spec as the Go example (examples/go-proxy); the
// conformance suite tests/workers/proxy-conformance.js checks both.
//
// Configuration (vars, and secrets marked *):
//   CASPIO_INTEGRATION_URL, or CASPIO_ACCOUNT, or CASPIO_TOKEN_URL + CASPIO_RESOURCE_URL;
//   CASPIO_API_VERSION (v2, the default, or v3); CASPIO_CLIENT_ID; CASPIO_CLIENT_SECRET*;
//   PROXY_PREFIX (default /caspio); PROXY_KEYS* (comma-separated shared keys, sent as
//   X-Proxy-Key); PROXY_ORIGINS (comma-separated browser origins allowed without a key);
//   PROXY_ALLOW (comma-separated "METHOD /path" rules; a segment "*" matches any one
//   segment, a last "**" the rest of the path).
// Token store: the Durable Object binding CASPIO_BROKER (class TokenBroker, exported below:
// one token request at a time for the whole deployment), else the KV namespace
// CASPIO_TOKENS. See README.md, "Cloudflare Workers".
import { createClient, kvStorage, brokerStorage, CaspioConfigError, CaspioOAuthError, CaspioURLError } from 'caspio-auth';

// The Durable Object class behind CASPIO_BROKER must be exported by the main module.
export { TokenBroker } from 'caspio-auth';

const DEFAULT_PREFIX = '/caspio';
/** Bytes of a request body forwarded to Caspio. */
const MAX_BODY = 8 << 20;
/** Milliseconds for one proxied request, the wait for a token included. */
const UPSTREAM_TIMEOUT_MS = 30_000;
const PREFLIGHT_AGE = '600';

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

const encoder = new TextEncoder();

/**
 * The proxy of each env (one per isolate in practice), made at its first request: the
 * checked configuration and one caspio-auth client, whose token all the isolate's
 * requests share. Calls into the WebAssembly core are synchronous, so one instance serves
 * concurrent requests safely.
 * @type {WeakMap<object, Promise<Proxy>>}
 */
const proxies = new WeakMap();

/**
 * @typedef {{method: string, segments: string[]}} Rule
 * @typedef {{error: string} | {error: null, prefix: string, keys: Uint8Array[], origins: Set<string>,
 *   rules: Rule[], methods: string, client: import('caspio-auth').CaspioClient, resourceBase: string,
 *   basePath: string, apiVersion: string}} Proxy
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
      console.log(`proxy error: ${/** @type {Error} */ (err)?.name}: ${/** @type {Error} */ (err)?.message}`);
      answer = { response: jsonError(500, 'proxy_error', 'the proxy failed; see its logs'), route: '-' };
    }
    const { response, route } = answer;
    // The method, the route class and the status: never a header, a query or a body.
    console.log(`${request.method} ${route} ${response.status} ${Date.now() - started}ms`);
    return response;
  },
};

/**
 * Reads the configuration and makes the client. A bad configuration gives a proxy that
 * answers every request with 500 proxy_misconfigured, naming the variable, never a value.
 * @param {Record<string, unknown>} env
 * @returns {Promise<Proxy>}
 */
async function loadProxy(env) {
  const text = (/** @type {string} */ name) => (typeof env[name] === 'string' ? /** @type {string} */ (env[name]).trim() : '');
  /** @type {import('caspio-auth').ClientOptions} */
  const options = { clientId: text('CASPIO_CLIENT_ID'), clientSecret: text('CASPIO_CLIENT_SECRET') };
  for (const [option, variable] of Object.entries(VARIABLE_OF_OPTION)) {
    const value = text(variable);
    if (value !== '' && option !== 'clientId' && option !== 'clientSecret') options[option] = value;
  }
  let client;
  try {
    const key = `caspio-token:${options.clientId}`; // as the Go proxy keys it
    let storage;
    if (isBinding(env.CASPIO_BROKER)) storage = brokerStorage(/** @type {any} */ (env.CASPIO_BROKER), key);
    else if (isBinding(env.CASPIO_TOKENS)) storage = kvStorage(/** @type {any} */ (env.CASPIO_TOKENS), key);
    client = await createClient({ ...options, storage, onEvent: logEvent }); // checks the options; no request
    if (storage === undefined) {
      client.close();
      return { error: 'CASPIO_BROKER (a Durable Object binding of class TokenBroker) or CASPIO_TOKENS (a KV namespace) must be bound: without a shared store every isolate would log in again' };
    }
  } catch (err) {
    if (err instanceof CaspioConfigError) {
      const variable = VARIABLE_OF_OPTION[err.field] ?? 'CASPIO_ACCOUNT';
      return { error: `${variable} ${err.message.replace(/^caspio-auth: option \w+: /, '')}` };
    }
    if (err instanceof TypeError) return { error: err.message.replace(/^caspio-auth: /, '') };
    throw err; // the core did not start: not cached (see fetch)
  }
  const { resourceBase, apiVersion } = client.toJSON();
  const basePath = new URL(resourceBase).pathname.replace(/^\/|\/$/g, '');

  const prefix = parsePrefix(String(env.PROXY_PREFIX ?? ''));
  if (prefix === null) return { error: `PROXY_PREFIX is ${JSON.stringify(text('PROXY_PREFIX'))}; give a path such as /caspio (or / for the root)` };
  const keys = splitList(env.PROXY_KEYS).map((k) => encoder.encode(k));
  const origins = new Set();
  for (const o of splitList(env.PROXY_ORIGINS)) {
    const origin = parseOrigin(o);
    if (origin === null) return { error: `PROXY_ORIGINS has ${JSON.stringify(o)}, which is not an origin such as https://app.example.com (scheme and host, no path)` };
    origins.add(origin);
  }
  if (keys.length === 0 && origins.size === 0) {
    return { error: 'PROXY_KEYS is empty and so is PROXY_ORIGINS: no caller could authenticate; set a shared key (a secret) or the browser origins to allow' };
  }
  const rules = [];
  for (const text of splitList(env.PROXY_ALLOW)) {
    const rule = parseRule(text);
    if (typeof rule === 'string') return { error: `PROXY_ALLOW rule ${JSON.stringify(text)} ${rule}` };
    rules.push(rule);
  }
  if (rules.length === 0) return { error: 'PROXY_ALLOW is empty: no request would be allowed; list rules such as "GET /tables/Orders/records"' };
  const methods = [...new Set(rules.map((r) => r.method))].join(', ');
  return { error: null, prefix, keys, origins, rules, methods, client, resourceBase, basePath, apiVersion };
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

/**
 * Answers one request; returns the response and what to log of the path.
 * @param {Proxy} p
 * @param {Request} request
 * @returns {Promise<{response: Response, route: string}>}
 */
async function serve(p, request) {
  if (p.error !== null) {
    console.log(`proxy misconfigured: ${p.error}`);
    return { response: jsonError(500, 'proxy_misconfigured', p.error), route: '-' };
  }
  const url = new URL(request.url);
  if (url.username !== '' || url.password !== '') {
    return { response: jsonError(400, 'bad_path', 'the request target is not a plain path'), route: '-' };
  }
  const raw = url.pathname;
  if (raw !== p.prefix && !raw.startsWith(p.prefix + '/')) {
    return { response: jsonError(404, 'not_found', `this proxy serves paths under ${p.prefix || ''}/`), route: '-' };
  }
  const rest = raw.slice(p.prefix.length);
  if (rest === '' || rest === '/') {
    return { response: jsonError(404, 'not_found', `give a Caspio resource path after ${p.prefix}/, e.g. ${p.prefix}/tables`), route: '-' };
  }

  const headers = new Headers();
  const origin = request.headers.get('origin');
  const originOK = origin !== null && p.origins.has(origin);
  if (p.origins.size > 0) headers.append('Vary', 'Origin');
  if (originOK) {
    headers.set('Access-Control-Allow-Origin', origin);
    headers.set('Access-Control-Expose-Headers', 'X-Caspio-Request-ID');
  }

  if (request.method === 'OPTIONS') {
    if (!originOK) {
      return { response: jsonError(403, 'forbidden', 'CORS preflight from an origin that PROXY_ORIGINS does not list', headers), route: 'preflight' };
    }
    headers.set('Access-Control-Allow-Methods', p.methods);
    headers.set('Access-Control-Allow-Headers', 'Content-Type, Accept, X-Proxy-Key');
    headers.set('Access-Control-Max-Age', PREFLIGHT_AGE);
    return { response: new Response(null, { status: 204, headers }), route: 'preflight' };
  }

  if (!keyValid(p.keys, request.headers.get('x-proxy-key')) && !originOK) {
    return { response: jsonError(401, 'unauthenticated', 'send a valid X-Proxy-Key header, or call from an origin that PROXY_ORIGINS lists', headers), route: '-' };
  }
  const why = badPath(rest);
  if (why !== null) return { response: jsonError(400, 'bad_path', `the path ${why}`, headers), route: '-' };
  const path = resourcePath(p, rest);
  if (path === null) {
    // Not the core's message: it names the resource base, which callers need not know.
    return { response: jsonError(400, 'bad_path', 'the path is not a resource path of the configured Caspio REST API version', headers), route: '-' };
  }
  if (!p.rules.some((r) => matches(r, request.method, path))) {
    return { response: jsonError(403, 'forbidden', `${request.method} on this path is not allowed by PROXY_ALLOW`, headers), route: path };
  }
  return { response: await forward(p, request, p.resourceBase + path + url.search, headers), route: path };
}

/**
 * Sends the request to Caspio with the bearer token and passes the answer back: its status,
 * body and a few headers. Redirects are passed back unfollowed, without their Location.
 * @param {Proxy & {error: null}} p
 * @param {Request} request
 * @param {string} target
 * @param {Headers} headers the CORS headers of the answer so far
 */
async function forward(p, request, target, headers) {
  const method = request.method;
  /** @type {ArrayBuffer | undefined} */
  let body;
  if (method !== 'GET' && method !== 'HEAD' && request.body !== null) {
    if (Number(request.headers.get('content-length')) > MAX_BODY) return tooLarge(headers);
    try {
      body = await request.arrayBuffer(); // in memory, so that a 401 can be retried with it
    } catch {
      return jsonError(400, 'bad_request', 'the request body could not be read', headers);
    }
    if (body.byteLength > MAX_BODY) return tooLarge(headers);
    if (body.byteLength === 0) body = undefined;
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
    res = await p.client.fetch(target, { method, headers: out, body, redirect: 'manual', signal: AbortSignal.timeout(UPSTREAM_TIMEOUT_MS) });
  } catch (err) {
    const e = /** @type {Error} */ (err);
    console.log(`forward ${method}: ${e?.name}: ${e?.message}`);
    if (err instanceof CaspioOAuthError) return jsonError(502, 'caspio_auth_failed', `Caspio refused the proxy's credentials (${err.error || err.status})`, headers);
    if (e?.name === 'TimeoutError') return jsonError(504, 'caspio_timeout', 'Caspio did not answer in time', headers);
    if (err instanceof CaspioURLError) return jsonError(400, 'bad_path', 'the path is not a resource path of the configured Caspio REST API version', headers);
    return jsonError(502, 'caspio_unreachable', 'the request to Caspio failed', headers);
  }
  for (const name of PASSED_RESPONSE_HEADERS) {
    const v = res.headers.get(name);
    if (v !== null) headers.set(name, v);
  }
  const nullBody = method === 'HEAD' || res.status === 204 || res.status === 205 || res.status === 304;
  if (nullBody) await res.body?.cancel();
  return new Response(nullBody ? null : res.body, { status: res.status, headers });
}

/** @param {Headers} headers */
function tooLarge(headers) {
  return jsonError(413, 'too_large', `the request body is over ${MAX_BODY >> 20} MiB`, headers);
}

/**
 * The proxy's JSON error: {"error": code, "message": ...}.
 * @param {number} status
 * @param {string} code
 * @param {string} message
 * @param {Headers} [headers]
 */
function jsonError(status, code, message, headers = new Headers()) {
  headers.set('Content-Type', 'application/json; charset=utf-8');
  headers.set('Cache-Control', 'no-store');
  return new Response(JSON.stringify({ error: code, message }) + '\n', { status, headers });
}

/**
 * The resource path ("/tables/Orders/records") that rest (after the prefix, already
 * checked by badPath) names on the REST base, as the core resolves it: a leading REST base
 * or version of this client is dropped; another version's is refused (null). The client
 * resolves the URL again before it sends the token.
 * @param {Proxy & {error: null}} p
 * @param {string} rest
 */
function resourcePath(p, rest) {
  let path = rest.slice(1);
  const strip = (/** @type {string} */ base) => base !== '' && (path === base || path.startsWith(base + '/'));
  if (strip(p.basePath)) path = path.slice(p.basePath.length + 1);
  else if (strip(p.apiVersion)) path = path.slice(p.apiVersion.length + 1);
  else if (VERSIONED_BASES.some((b) => path === b || path.startsWith(b + '/'))) return null;
  return '/' + path;
}

/** @param {unknown} s */
function splitList(s) {
  return typeof s === 'string' ? s.split(',').map((x) => x.trim()).filter((x) => x !== '') : [];
}

/**
 * PROXY_PREFIX as "/name" without a trailing slash, "" for the root, null when it is bad.
 * @param {string} raw
 */
function parsePrefix(raw) {
  let p = raw.trim();
  if (p === '') return DEFAULT_PREFIX;
  if (!p.startsWith('/')) return null;
  p = p.replace(/\/+$/, '');
  if (p === '') return '';
  for (const seg of p.slice(1).split('/')) {
    if (seg === '' || seg === '.' || seg === '..' || /[%\\?#@ ]/.test(seg)) return null;
  }
  return p;
}

/**
 * An origin as a browser's Origin header serialises it, or null.
 * @param {string} s
 */
function parseOrigin(s) {
  s = s.replace(/\/+$/, '').toLowerCase();
  const m = /^(https?):\/\/(.+)$/.exec(s);
  if (m === null || /[/?#@\\ *]/.test(m[2])) return null;
  const [, scheme] = m;
  let host = m[2];
  const colon = host.lastIndexOf(':');
  if (colon >= 0 && !host.startsWith('[')) {
    const port = Number(host.slice(colon + 1));
    if (colon === 0 || !/^\d+$/.test(host.slice(colon + 1)) || port < 1 || port > 65535) return null;
    if ((scheme === 'https' && port === 443) || (scheme === 'http' && port === 80)) host = host.slice(0, colon); // browsers omit the default port
  }
  return `${scheme}://${host}`;
}

/**
 * One PROXY_ALLOW entry: a method and a path pattern whose segments are literal, "*" (any
 * one segment) or, last, "**" (the rest of the path, zero or more segments). Returns what
 * is wrong with it as a string.
 * @param {string} text
 * @returns {Rule | string}
 */
function parseRule(text) {
  const fields = text.split(/\s+/).filter((f) => f !== '');
  if (fields.length !== 2) return 'is not "METHOD /path/pattern"';
  const method = fields[0].toUpperCase();
  if (!/^[A-Z]+$/.test(method) || method === 'OPTIONS') return 'has no valid method (GET, POST, PUT, DELETE, ...)';
  const pattern = fields[1];
  if (!pattern.startsWith('/') || pattern === '/') return 'has a pattern that does not start with / and name a path';
  const segments = pattern.slice(1).split('/');
  for (const [i, seg] of segments.entries()) {
    if (seg === '' || seg === '.' || seg === '..') return 'has an empty or dot segment';
    if (seg === '**' && i !== segments.length - 1) return 'has ** before its last segment';
    if (seg !== '*' && seg !== '**' && seg.includes('*')) return 'has * inside a segment; * and ** stand for whole segments';
    if (/[%\\?#@]/.test(seg)) return 'has %, \\, ?, # or @ in its pattern';
  }
  return { method, segments };
}

/**
 * Whether rule allows method on path ("/tables/Orders/records").
 * @param {Rule} rule
 * @param {string} method
 * @param {string} path
 */
function matches(rule, method, path) {
  if (method !== rule.method) return false;
  const segs = path.slice(1).split('/');
  for (const [i, want] of rule.segments.entries()) {
    if (want === '**') return true;
    if (i >= segs.length || (want !== '*' && want !== segs[i])) return false;
  }
  return segs.length === rule.segments.length;
}

/**
 * Compares key with every configured key, in time that depends on the lengths only.
 * @param {Uint8Array[]} keys
 * @param {string | null} key
 */
function keyValid(keys, key) {
  if (key === null || key === '') return false;
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
 * Why a request path (after the prefix, still percent-encoded) could smuggle a request
 * somewhere else, or null when it is a plain path. It runs before the rules match.
 * @param {string} p
 */
function badPath(p) {
  const lower = p.toLowerCase();
  if (p.includes('\\')) return 'has a backslash';
  if (lower.includes('%2e') || lower.includes('%2f') || lower.includes('%5c')) return "has a percent-encoded '.', '/' or '\\'";
  if (p.includes('@') || lower.includes('%40') || p.includes('://')) return "has '@' or '://'";
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]|%[01][0-9a-f]|%7f/.test(lower)) return 'has a control character';
  for (const seg of p.slice(1).split('/')) {
    if (seg === '') return 'has an empty segment';
    if (seg === '.' || seg === '..') return "has a '.' or '..' segment";
  }
  return null;
}
