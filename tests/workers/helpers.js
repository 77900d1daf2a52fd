// Shared by the tests/workers suites: a sandbox whose request log the test can read, a trap
// server that must never be reached, a Miniflare Worker with KV and captured output, the
// workerd process behind it and its memory, a streamed request body, and a Cloudflare
// Access team on loopback that signs tokens with keys made for the test.
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { once } from 'node:events';
import { readdir, readFile, writeFile } from 'node:fs/promises';
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
  const before = await workerdPids();
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
    pid: await newWorkerdPid(before),
    dispatchFetch: (input, init) => mf.dispatchFetch(input, init),
    kv: () => mf.getKVNamespace('CASPIO_TOKENS'),
    logs: () => output,
    dispose: () => mf.dispose(),
  };
}

/** The PIDs of this process's descendants named workerd (Miniflare starts workerd as a child). */
export async function workerdPids() {
  const parents = new Map();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const ppid = Number(stat.slice(close + 2).split(' ')[1]);
      parents.set(Number(entry), { ppid, comm });
    } catch { /* gone, or not Linux */ }
  }
  const mine = (pid) => {
    for (let p = parents.get(pid); p; p = parents.get(p.ppid)) if (p.ppid === process.pid) return true;
    return false;
  };
  return [...parents].filter(([pid, { comm }]) => comm === 'workerd' && mine(pid)).map(([pid]) => pid);
}

/** The workerd process started since before (a list of workerdPids), or null. */
export async function newWorkerdPid(before) {
  const fresh = (await workerdPids()).filter((pid) => !before.includes(pid));
  return fresh.length === 1 ? fresh[0] : null;
}

/**
 * A process's resident memory now and at its peak, in MiB (/proc/<pid>/status VmRSS and
 * VmHWM). resetPeak first makes the peak the current size (clear_refs 5), so that the
 * next reading shows the peak of what happened in between.
 */
export async function memoryOf(pid, { resetPeak = false } = {}) {
  if (resetPeak) await writeFile(`/proc/${pid}/clear_refs`, '5');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const mib = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)[1]) / 1024;
  return { rss: mib('VmRSS'), peak: mib('VmHWM') };
}

/**
 * POSTs a chunked body of up to total bytes to url + path over a new HTTP/1.1 connection,
 * 1 MiB at a time as fast as the server reads it, and stops sending as soon as the answer
 * arrives. Resolves to the status, the body and how many bytes were sent; a connection
 * closed under the body, or no answer within timeoutMs, resolves with status 0.
 */
export function streamBody(url, path, total, headers = {}, { timeoutMs = 60_000 } = {}) {
  return new Promise((resolve) => {
    const chunk = Buffer.alloc(1 << 20, 0x20);
    let sent = 0;
    let answered = false;
    const started = performance.now();
    const req = httpRequest({ host: url.hostname, port: url.port, method: 'POST', path, agent: false, headers: { 'Content-Type': 'application/json', ...headers } }, (res) => {
      answered = true;
      let body = '';
      res.setEncoding('utf8').on('data', (d) => { body += d; }).on('end', () => {
        req.destroy();
        resolve({ status: res.statusCode, headers: res.headers, body, sent, ms: Math.round(performance.now() - started) });
      }).on('error', () => resolve({ status: res.statusCode, headers: res.headers, body, sent, ms: Math.round(performance.now() - started) }));
    });
    req.on('error', (err) => { if (!answered) resolve({ status: 0, error: err.code, body: '', sent, ms: Math.round(performance.now() - started) }); });
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error('no answer'), { code: 'TIMEOUT' })));
    const pump = () => {
      while (!answered && sent < total) {
        const n = Math.min(chunk.length, total - sent);
        sent += n;
        if (!req.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
          req.once('drain', pump);
          return;
        }
      }
      if (!answered) req.end();
    };
    pump();
  });
}

const b64url = (data) => Buffer.from(data).toString('base64url');

/**
 * A Cloudflare Access team on 127.0.0.1: its published keys (the JWKS at
 * /cdn-cgi/access/certs, as Access serves it) hold one RSA key made for this test; sign()
 * makes tokens as Access does (RS256), with that key or with another one (otherKey), for the
 * audience AUD unless the claims say otherwise. keyFetches counts the fetches of the keys.
 */
export async function startAccessTeam() {
  const options = { modulusLength: 2048 };
  const published = generateKeyPairSync('rsa', options);
  const other = generateKeyPairSync('rsa', options);
  const kid = randomBytes(16).toString('hex');
  const jwk = { ...published.publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
  let keyFetches = 0;
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/cdn-cgi/access/certs') {
      keyFetches++;
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ keys: [jwk], public_cert: { kid, cert: '' }, public_certs: [{ kid, cert: '' }] }));
    } else {
      res.writeHead(404).end();
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${server.address().port}`;
  const aud = randomBytes(32).toString('hex');
  return {
    /** PROXY_ACCESS_TEAM_DOMAIN and the issuer of the tokens. */
    url,
    /** PROXY_ACCESS_AUD */
    aud,
    kid,
    get keyFetches() { return keyFetches; },
    /**
     * A token as Access issues it, valid for 24 h, unless claims, header or otherKey
     * (sign with a key the team does not publish) change it.
     */
    sign({ claims = {}, header = {}, otherKey = false } = {}) {
      const now = Math.floor(Date.now() / 1000);
      const h = b64url(JSON.stringify({ alg: 'RS256', kid, typ: 'JWT', ...header }));
      const p = b64url(JSON.stringify({
        aud: [aud], email: 'user@example.com', exp: now + 86400, iat: now, nbf: now, iss: url,
        type: 'app', identity_nonce: 'n', sub: '7335d417-61da-459d-899c-0a01c76a2f94', country: 'US', ...claims,
      }));
      const signature = sign('sha256', Buffer.from(`${h}.${p}`), (otherKey ? other : published).privateKey);
      return `${h}.${p}.${b64url(signature)}`;
    },
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}
