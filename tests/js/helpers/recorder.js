// A second local HTTP server on another origin, which records the requests it gets, so that
// tests can show what the client sent there (and what it did not: the bearer token).
import { createServer } from 'node:http';
import { once } from 'node:events';

/** @returns {Promise<{url: string, requests: {method: string, url: string, headers: import('node:http').IncomingHttpHeaders, body: string}[], close(): Promise<void>}>} */
export async function startRecorder() {
  const requests = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      requests.push({ method: req.method, url: req.url, headers: req.headers, body });
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"recorded":true}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/**
 * A fetch that records what the client passes to it and then calls the real fetch, for
 * asserting on token requests (headers, body) and on requests never made.
 */
export function recordingFetch() {
  const calls = [];
  const fn = async (input, init = {}) => {
    calls.push({ url: String(input), method: init.method ?? 'GET', headers: new Headers(init.headers), body: init.body, redirect: init.redirect });
    return fetch(input, init);
  };
  return { fetch: fn, calls };
}

/** Collects a client's events, and every text a secret must not appear in. */
export function eventLog() {
  const events = [];
  return { events, onEvent: (e) => { events.push(e); }, types: () => events.map((e) => e.type) };
}

/** Asserts that none of the secrets appears in any of the texts. */
export function assertNoSecret(assert, texts, secrets) {
  for (const text of texts) {
    for (const secret of secrets) {
      if (secret && text.includes(secret)) {
        assert.fail(`a secret (${secret.slice(0, 3)}...) appears in: ${text.slice(0, 200)}`);
      }
    }
  }
}
