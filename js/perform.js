// @ts-check
// The HTTP of the driver: the caller's request taken apart to be sent again, the send and
// token_request steps performed with the platform's fetch, and their results for the core.

/**
 * Splits fetch's (input, init) into the parts a request is sent again from (after a 401 or a
 * 307). A Request's body is read from a clone; a body fetch cannot read twice is oneShot.
 * @param {RequestInfo | URL} input @param {RequestInit | undefined} init
 */
export async function prepare(input, init) {
  if (init !== undefined && (typeof init !== 'object' || init === null)) throw new TypeError('caspio-auth: fetch(input, init): init must be an object');
  if (typeof Request !== 'undefined' && input instanceof Request) {
    const r = init === undefined ? input : new Request(input, init);
    const body = r.body === null ? null : await r.clone().arrayBuffer();
    return { ref: r.url, method: r.method, headers: new Headers(r.headers), body, redirect: r.redirect, extra: { signal: r.signal }, oneShot: false };
  }
  if (typeof input !== 'string' && !(input instanceof URL)) {
    throw new TypeError('caspio-auth: fetch(input) takes a path such as "tables", a URL on the resource endpoint, or a Request');
  }
  const { method, headers, body, redirect, ...extra } = init ?? {};
  if (redirect !== undefined && redirect !== 'follow' && redirect !== 'manual' && redirect !== 'error') {
    throw new TypeError('caspio-auth: fetch init.redirect must be "follow", "manual" or "error"');
  }
  const replayable = body === undefined || body === null || typeof body === 'string' || body instanceof ArrayBuffer || ArrayBuffer.isView(body) ||
    [globalThis.Blob, globalThis.URLSearchParams, globalThis.FormData].some((type) => type !== undefined && body instanceof type);
  return { ref: String(input), method: method ?? 'GET', headers: new Headers(headers), body: body ?? null, redirect: redirect ?? 'follow', extra, oneShot: !replayable };
}

/** @typedef {Awaited<ReturnType<typeof prepare>>} Prepared */

/**
 * Sends req as a send step says: to url, with authorization ('': none, not the caller's
 * either), with the body unless a redirect made it a GET. Where the platform shows redirects
 * (Node, Workers) the core follows them; a browser follows them itself.
 * @param {(input: any, init?: any) => Promise<Response>} fetchFn @param {string} url @param {Prepared} req
 * @param {{authorization: string, keepBody: boolean, dropHeaders?: string[], method: string, manualRedirects: boolean}} how
 *   dropHeaders: without the body, the headers that described it, as the send step lists them (the core's BodyHeaders)
 */
export function send(fetchFn, url, req, { authorization, keepBody, dropHeaders = [], method, manualRedirects }) {
  const { headers } = req; // prepare's own copy: changed here for every send, never the caller's
  if (authorization === '') headers.delete('authorization');
  else headers.set('authorization', authorization);
  /** @type {Record<string, unknown>} */
  const init = { ...req.extra, method, headers, redirect: manualRedirects ? 'manual' : req.redirect };
  if (keepBody && req.body !== null) {
    init.body = req.body;
    if (req.oneShot) init.duplex = 'half';
  } else {
    for (const name of dropHeaders) headers.delete(name);
  }
  return fetchFn(url, init);
}

/** A send's result. A browser's opaque answer to redirect: 'manual' is a redirect without a Location, handed back. @param {Response} res */
export function sendResult(res) {
  if (res.type === 'opaqueredirect') return { response: { status: 302 } };
  // Where the platform followed redirects itself (a browser), where the answer came from: the
  // core hands back a 401 from off the REST base instead of refreshing for it.
  return { response: { status: res.status, location: res.headers.get('location') ?? '', retry_after: res.headers.get('retry-after') ?? '', url: res.redirected ? res.url : '' } };
}

/**
 * Performs a token_request step: following no redirect (the credentials are for the token
 * endpoint alone), within its timeout. Gives the result, a copy of the response for an error
 * to carry, or the platform's error when none came, for the error's cause.
 * @param {(input: any, init?: any) => Promise<Response>} fetchFn @param {any} step
 */
export async function tokenRequest(fetchFn, step) {
  let res;
  let text;
  try {
    res = await fetchFn(step.url, { method: step.method, headers: step.headers, body: step.body, redirect: 'manual', signal: AbortSignal.timeout(step.timeout_ms) });
    if (res.type === 'opaqueredirect') return { result: { response: { status: 302, not_json: true } }, response: res };
    text = await res.text();
  } catch (cause) {
    const message = cause?.name === 'TimeoutError' ? `no answer within the tokenTimeout of ${step.timeout_ms} ms` : describe(cause);
    return { result: { response: { status: 0, error: message } }, cause };
  }
  let body;
  try {
    if (text.length <= 1 << 20) body = JSON.parse(text); // a token response is a few hundred bytes
  } catch {
    body = undefined;
  }
  const header = (name) => res.headers.get(name) ?? '';
  const response = { status: res.status, content_type: header('content-type'), body, not_json: body === undefined, retry_after: header('retry-after'), location: header('location') };
  const nullBody = res.status === 204 || res.status === 205 || res.status === 304;
  return { result: { response }, response: new Response(nullBody ? null : text, { status: res.status, statusText: res.statusText, headers: res.headers }) };
}

/** A platform error's message, with its cause's (where Node's fetch puts the reason). */
function describe(err) {
  const message = err instanceof Error ? err.message : String(err);
  const cause = err?.cause instanceof Error ? err.cause.message : '';
  return cause && cause !== message ? `${message}: ${cause}` : message;
}

/** Lets go of a response that is not handed back (a 401 sent again, a redirect followed). */
export async function discard(res) {
  try {
    await res?.body?.cancel();
  } catch {
    // nothing to do: the connection is released either way
  }
}
