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
//
// This module is the fetch handler: it answers CORS preflights, authenticates the caller,
// checks the path and the rules, and hands what is allowed to forward.js. The other
// concerns have modules of their own: config.js (reading and checking env, making the
// client), callers.js (keys and Access tokens), paths.js (path segments and their
// resolution on the REST base by the client), rules.js (PROXY_ALLOW), forward.js (the
// request to Caspio, the body counted as it streams) and errors.js (the JSON errors).
import { loadProxy } from './config.js';
import { authenticate } from './callers.js';
import { resolveResource } from './paths.js';
import { matches } from './rules.js';
import { forward } from './forward.js';
import { jsonError } from './errors.js';

// The Durable Object class behind CASPIO_BROKER must be exported by the main module.
export { TokenBroker } from 'caspio-auth';

const PREFLIGHT_AGE = '600';

/**
 * The proxy of each env (one per isolate in practice), made at its first request: the
 * checked configuration, one caspio-auth client, whose token all the isolate's requests
 * share, and the Access keys once fetched. Calls into the WebAssembly core are synchronous,
 * so one instance serves concurrent requests safely.
 * @type {WeakMap<object, Promise<Proxy>>}
 */
const proxies = new WeakMap();

/** @typedef {import('./config.js').Proxy} Proxy */

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
      // What no other handler caught, such as the core failing to start: caspio-auth's
      // messages hold no secret, and configuration problems never get here (loadProxy notes
      // them by variable).
      console.log(`proxy error (request ${id}): ${/** @type {Error} */ (err)?.name}: ${/** @type {Error} */ (err)?.message}`);
      answer = { response: jsonError(500, 'proxy_error', 'the proxy failed; its log says why under this request ID', undefined, id), route: '-', caller: '-' };
    }
    const { response, route, caller } = answer;
    // The method, the route, the caller's kind and the status: never a header, a query or a body.
    console.log(`${request.method} ${route} ${response.status} ${Date.now() - started}ms ${caller}`);
    return response;
  },
};

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
  // The core's path rules (as the Go proxy's): the segments, and the path spelled for Caspio.
  const checked = p.paths.parsePath(rest);
  if ('problem' in checked) return { response: jsonError(400, 'bad_path', `the path ${checked.problem}`, headers), route: '-', caller };
  // The client resolves the path on the REST base, as it will when it sends it: the rules
  // match the resource path Caspio gets.
  const resolved = resolveResource(/** @type {import('caspio-auth').CaspioClient} */ (p.client), p.paths, p.resourceBase, checked.ref, url.search);
  if (typeof resolved === 'string') return { response: jsonError(400, 'bad_path', `the path ${resolved}`, headers), route: '-', caller };
  const { ref, path, resource } = resolved;
  const matching = p.rules.filter((r) => matches(r, request.method, resource));
  const allowed = matching.some((r) => r.callers.has('public') || [...callers].some((c) => r.callers.has(c)));
  if (!allowed) {
    if (!authenticated) return { response: unauthenticated(), route: path, caller };
    return { response: jsonError(403, 'forbidden', `${request.method} on this path is not allowed to this caller by PROXY_ALLOW`, headers), route: path, caller };
  }
  return { response: await forward(/** @type {import('caspio-auth').CaspioClient} */ (p.client), request, ref, headers, p.paths), route: path, caller };
}

