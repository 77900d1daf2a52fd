// @ts-check
// The TokenBroker's operations over HTTP, for Workers that cannot make JS RPC calls (Go
// Workers built with syumai/workers, through caspio-auth's Go package workers,
// NewBrokerStore), through the binding's stub.fetch. A Durable Object has no public URL, so
// this is reachable only by Workers holding the binding, which are trusted with the tokens
// anyway; it still checks its input and never echoes it.
//
//   POST   /lock    {"leaseMs": n, "waitMs": n}  -> 200 {"id": "..."}; 503 lock_timeout
//   POST   /extend  {"id": "...", "leaseMs": n}  -> 200 {"extended": true|false}
//   POST   /unlock  {"id": "..."}                -> 200 {"released": true|false}
//   GET    /state                                -> 200 the state JSON, or 204 when none
//   PUT    /state   the state JSON (an object)   -> 204
//   DELETE /state                                -> 204
//
// leaseMs and waitMs are the caller's to name (the Go store names the core's lock TTL and
// lock step limit); a request without one is a 400 that names it. Errors are JSON {"error":
// code, "message": text} (400 bad_request, 404 not_found, 405 method_not_allowed, 413
// too_large, 415 unsupported_media_type, 503 lock_timeout) and never quote the request: a
// state sent with PUT holds tokens.
import { MAX_MS } from './broker.js';

/**
 * Answers one request to the broker's fetch.
 * @param {import('./broker.js').TokenBroker} broker @param {Request} request
 * @returns {Promise<Response>}
 */
export async function serveHTTP(broker, request) {
  const { pathname } = new URL(request.url);
  const methods = ROUTES[pathname];
  if (methods === undefined) return httpError(404, 'not_found', 'the TokenBroker serves /lock, /extend, /unlock and /state');
  if (!methods.includes(request.method)) {
    return httpError(405, 'method_not_allowed', `${pathname} takes ${methods.join(', ')}`, { Allow: methods.join(', ') });
  }
  switch (`${request.method} ${pathname}`) {
    case 'POST /lock': {
      const body = await readJSON(request, true);
      if (body instanceof Response) return body;
      for (const key of Object.keys(body)) {
        if (key !== 'leaseMs' && key !== 'waitMs') return httpError(400, 'bad_request', 'the lock options are leaseMs and waitMs');
      }
      let id;
      try {
        id = await broker.lock(/** @type {any} */ (body));
      } catch (err) {
        if (err instanceof TypeError) return httpError(400, 'bad_request', `lock takes {"leaseMs": n, "waitMs": n}: ${unprefixed(err.message)}`);
        return httpError(503, 'lock_timeout', `waited ${body.waitMs} ms for the token lock`);
      }
      return Response.json({ id });
    }
    case 'POST /extend': {
      const body = await readJSON(request, false);
      if (body instanceof Response) return body;
      const { id, leaseMs, ...rest } = body;
      if (typeof id !== 'string' || id === '' || id.length > 100 || Object.keys(rest).length > 0) {
        return httpError(400, 'bad_request', `extend takes {"id": the ID that /lock returned, "leaseMs": a positive number of milliseconds, at most ${MAX_MS}}`);
      }
      try {
        return Response.json({ extended: await broker.extend(id, leaseMs) });
      } catch (err) {
        return httpError(400, 'bad_request', `extend takes {"id", "leaseMs"}: ${unprefixed(/** @type {Error} */ (err).message)}`);
      }
    }
    case 'POST /unlock': {
      const body = await readJSON(request, false);
      if (body instanceof Response) return body;
      if (typeof body.id !== 'string' || body.id === '' || body.id.length > 100 || Object.keys(body).length !== 1) {
        return httpError(400, 'bad_request', 'unlock takes {"id": the ID that /lock returned}');
      }
      return Response.json({ released: await broker.unlock(body.id) });
    }
    case 'GET /state': {
      const state = await broker.getState();
      if (state === null) return new Response(null, { status: 204 });
      return Response.json(state, { headers: { 'Cache-Control': 'no-store' } });
    }
    case 'PUT /state': {
      const body = await readJSON(request, false);
      if (body instanceof Response) return body;
      await broker.setState(body);
      return new Response(null, { status: 204 });
    }
    default: // DELETE /state
      await broker.deleteState();
      return new Response(null, { status: 204 });
  }
}

/** The fetch interface's paths and the methods each takes. */
const ROUTES = /** @type {Record<string, string[]>} */ ({
  __proto__: null,
  '/lock': ['POST'],
  '/extend': ['POST'],
  '/unlock': ['POST'],
  '/state': ['GET', 'PUT', 'DELETE'],
});

/** The largest request body the fetch interface reads: a token state is a few hundred bytes. */
const MAX_BODY = 64 * 1024;

/**
 * Reads a request body that must be a JSON object (or empty, when emptyOK), or returns the
 * error Response. The error never quotes the body.
 * @param {Request} request @param {boolean} emptyOK
 * @returns {Promise<Record<string, any> | Response>}
 */
async function readJSON(request, emptyOK) {
  const type = request.headers.get('Content-Type');
  if (type !== null && !/^application\/json\s*(;|$)/i.test(type)) {
    return httpError(415, 'unsupported_media_type', 'the body must be application/json');
  }
  const declared = Number(request.headers.get('Content-Length') ?? 0);
  if (declared > MAX_BODY) return httpError(413, 'too_large', `the body must be at most ${MAX_BODY} bytes`);
  let text = '';
  if (request.body !== null) {
    const reader = request.body.getReader();
    const decoder = new TextDecoder('utf-8', { fatal: true });
    let size = 0;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.byteLength;
        if (size > MAX_BODY) {
          await reader.cancel();
          return httpError(413, 'too_large', `the body must be at most ${MAX_BODY} bytes`);
        }
        text += decoder.decode(value, { stream: true });
      }
      text += decoder.decode();
    } catch {
      return httpError(400, 'bad_request', 'the body is not UTF-8 JSON');
    }
  }
  if (text.trim() === '') {
    return emptyOK ? {} : httpError(400, 'bad_request', 'the body must be a JSON object');
  }
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    return httpError(400, 'bad_request', 'the body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return httpError(400, 'bad_request', 'the body must be a JSON object');
  }
  return value;
}

/** @param {number} status @param {string} code @param {string} message @param {Record<string, string>} [headers] */
function httpError(status, code, message, headers = {}) {
  return Response.json({ error: code, message: `caspio-auth: TokenBroker: ${message}` }, { status, headers });
}

/** A message of the broker's without its "caspio-auth: TokenBroker." prefix. @param {string} message */
function unprefixed(message) {
  return message.replace(/^caspio-auth: TokenBroker\.\w+:? /, '');
}
