// @ts-check
// The proxy's own answers when it does not forward: a JSON error body, never cached.

/**
 * The proxy's JSON error: {"error": code, "message": ..., "request_id"?: ...}.
 * @param {number} status
 * @param {string} code
 * @param {string} message
 * @param {Headers} [headers]
 * @param {string} [requestId] the ID under which the log explains a 500
 */
export function jsonError(status, code, message, headers = new Headers(), requestId) {
  headers.set('Content-Type', 'application/json; charset=utf-8');
  headers.set('Cache-Control', 'no-store');
  const body = requestId === undefined ? { error: code, message } : { error: code, message, request_id: requestId };
  return new Response(JSON.stringify(body) + '\n', { status, headers });
}

