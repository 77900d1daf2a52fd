// @ts-check
// Forwarding an allowed request to Caspio through the caspio-auth client: the request body
// read as it streams and counted against the limit, only a few headers passed either way,
// and the client's failures turned into the proxy's answers.
import { CaspioOAuthError, CaspioResponseError, CaspioAPIError, CaspioURLError } from 'caspio-auth';
import { jsonError } from './errors.js';

/** Bytes of a request body forwarded to Caspio. */
const MAX_BODY = 8 << 20;
/** Milliseconds for one proxied request, the wait for a token included. */
const UPSTREAM_TIMEOUT_MS = 30_000;

/** The only caller headers forwarded to Caspio: never its Authorization, Cookie or X-Proxy-Key. */
const FORWARDED_REQUEST_HEADERS = ['content-type', 'accept'];
/** The only Caspio response headers passed back (not Location, nor Set-Cookie). */
const PASSED_RESPONSE_HEADERS = ['content-type', 'x-caspio-request-id', 'retry-after'];

/**
 * Sends the request to Caspio with the bearer token and passes the answer back: its status,
 * body and a few headers. Redirects are passed back unfollowed, without their Location.
 * @param {import('caspio-auth').CaspioClient} client
 * @param {Request} request
 * @param {string} ref the reference the client resolved for the rules (resolveResource)
 * @param {Headers} headers the CORS headers of the answer so far
 * @param {import('caspio-auth').ProxyRules} rules the core's answer to a failed token request
 */
export async function forward(client, request, ref, headers, rules) {
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
    res = await client.fetch(ref, { method, headers: out, body, redirect: 'manual', signal: AbortSignal.timeout(UPSTREAM_TIMEOUT_MS) });
  } catch (err) {
    const e = /** @type {Error} */ (err);
    console.log(`forward ${method}: ${e?.name}: ${e?.message}`);
    if (e?.name === 'TimeoutError') return jsonError(504, 'caspio_timeout', 'Caspio did not answer in time', headers);
    if (err instanceof CaspioURLError) return jsonError(400, 'bad_path', 'the path is not a resource path of the configured Caspio REST API version', headers);
    const status = err instanceof CaspioOAuthError || err instanceof CaspioResponseError || err instanceof CaspioAPIError ? err.status : 0;
    // The core's mapping (caspio.ProxyTokenFailure), as the Go proxy's.
    const answer = rules.tokenFailure(status, err instanceof CaspioOAuthError, err instanceof CaspioOAuthError ? err.error : '');
    return jsonError(answer.status, answer.code, answer.message, headers);
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

