// Shared by the tests/workers suites: a sandbox whose request log the test can read, a trap
// server that must never be reached, and a Miniflare Worker with KV and captured output.
import { once } from 'node:events';
import { createServer, request as httpRequest } from 'node:http';
import { Miniflare } from 'miniflare';
import { startSandbox } from '../js/helpers/sandbox.js';

/** The client secret of the test sandbox: distinctive, so that a leak is found by search. */
export const CLIENT_ID = 'sandbox-client';
export const CLIENT_SECRET = 's3cret-workers-Qm7Zr2-never-print-me';

/**
 * Starts bin/caspio-sandbox (built by ./build.sh) on 127.0.0.1 with its request log (-v:
 * method, path and status, never a header or a query) collected in sandbox.requestLog.
 */
export async function startLoggedSandbox() {
  const requestLog = [];
  const sandbox = await startSandbox(['-client-secret', CLIENT_SECRET, '-v'], {
    onStderrLine(line) {
      const m = /^caspio-sandbox: \S+ \S+ (\S+) (\S+) (\d+) /.exec(line);
      if (m) requestLog.push({ method: m[1], path: m[2], status: Number(m[3]) });
    },
  });
  sandbox.requestLog = requestLog;
  return sandbox;
}

/** A server on 127.0.0.1 that counts what reaches it: the proxy must never call it. */
export async function startTrap() {
  const hits = [];
  const server = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'Content-Type': 'text/plain' }).end('trap');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  return {
    hits,
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}

/**
 * A recording forwarder on 127.0.0.1 in front of target (the sandbox): it notes each
 * request's method, path and headers, then passes the request on and the answer back, so
 * that a test sees exactly what the proxy sent upstream.
 */
export async function startRecorder(target) {
  const requests = [];
  const upstream = new URL(target);
  const server = createServer((req, res) => {
    requests.push({ method: req.method, path: req.url, headers: { ...req.headers } });
    const out = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode, answer.headers);
      answer.pipe(res);
    });
    out.on('error', () => { res.destroy(); });
    req.pipe(out);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    requests,
    url: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}

/**
 * Starts a Worker in Miniflare (workerd) with a KV namespace CASPIO_TOKENS persisted in
 * kvPersist, the given bindings (vars and secrets), and its stdout and stderr captured.
 * @returns {Promise<import('./proxy-conformance.js').ProxyHandle>}
 */
export async function startWorker({ modulesRoot, scriptPath, bindings, kvPersist }) {
  let output = '';
  const mf = new Miniflare({
    modulesRoot,
    scriptPath,
    modules: true,
    modulesRules: [
      { type: 'CompiledWasm', include: ['**/*.wasm'] },
      { type: 'ESModule', include: ['**/*.mjs', '**/*.js'] },
    ],
    compatibilityDate: '2026-04-01',
    kvNamespaces: ['CASPIO_TOKENS'],
    kvPersist,
    bindings,
    handleRuntimeStdio(stdout, stderr) {
      stdout.setEncoding('utf8').on('data', (d) => { output += d; });
      stderr.setEncoding('utf8').on('data', (d) => { output += d; });
    },
  });
  const url = await mf.ready;
  return {
    url,
    dispatchFetch: (input, init) => mf.dispatchFetch(input, init),
    kv: () => mf.getKVNamespace('CASPIO_TOKENS'),
    logs: () => output,
    dispose: () => mf.dispose(),
  };
}
