// A small static server on 127.0.0.1 for the browser suites: the package (js/) at /pkg/,
// the same with caspio.wasm sent as application/octet-stream at /pkg-octet/ (no streaming
// compilation), the shared vectors at /vectors/, the test pages at /pages/, and extra
// folders (an esbuild bundle) where a suite mounts them. It logs what it served, so that a
// test can tell which caspio.wasm a page loaded and with which type.
import { createServer } from 'node:http';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { extname, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.ts': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.map': 'application/json',
};

const here = (path) => fileURLToPath(new URL(path, import.meta.url));

/**
 * @param {Record<string, string>} [mounts] extra URL prefixes ('/bundle/') to folders
 * @returns {Promise<{url: string, log: {path: string, type: string, status: number}[], mount(prefix: string, dir: string): void, close(): Promise<void>}>}
 */
export async function startStaticServer(mounts = {}) {
  const roots = {
    '/pkg/': { dir: here('../../../js/') },
    '/pkg-octet/': { dir: here('../../../js/'), wasmType: 'application/octet-stream' },
    '/vectors/': { dir: here('../../vectors/') },
    '/pages/': { dir: here('./pages/') },
  };
  for (const [prefix, dir] of Object.entries(mounts)) roots[prefix] = { dir };
  const log = [];

  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const prefix = Object.keys(roots).find((p) => path.startsWith(p));
    const answer = (status, type, body) => {
      log.push({ path, type, status });
      res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return answer(405, 'text/plain', 'GET only');
    if (prefix === undefined) return answer(path === '/favicon.ico' ? 204 : 404, 'text/plain', '');
    const { dir, wasmType } = roots[prefix];
    const file = normalize(dir + path.slice(prefix.length));
    if (!file.startsWith(normalize(dir + sep))) return answer(403, 'text/plain', 'outside the root');
    try {
      const body = await readFile(file);
      const ext = extname(file);
      const type = ext === '.wasm' && wasmType ? wasmType : TYPES[ext] ?? 'application/octet-stream';
      answer(200, type, req.method === 'HEAD' ? undefined : body);
    } catch {
      answer(404, 'text/plain', 'not found');
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  return {
    url: `http://127.0.0.1:${port}`,
    log,
    mount(prefix, dir) { roots[prefix] = { dir }; },
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
