// The Go example Worker (examples/go-proxy), built with syumai/workers and run in real
// workerd through Miniflare: the proxy conformance suite, and cold concurrency.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLoggedSandbox, startWorker } from './helpers.js';
import { PROXY_KEY, proxyBindings, proxySuite } from './proxy-conformance.js';

const exampleDir = fileURLToPath(new URL('../../examples/go-proxy/', import.meta.url));
const buildDir = join(exampleDir, 'build');

// One build for every test of this file: wrangler.jsonc's build command, run here.
function buildGoProxy() {
  const run = (args, env = {}) => execFileSync('go', args, { cwd: exampleDir, env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit'] });
  run(['run', 'github.com/syumai/workers/cmd/workers-assets-gen', '-mode=go', '-o', buildDir]);
  run(['build', '-trimpath', '-ldflags=-s -w', '-o', join(buildDir, 'app.wasm'), '.'], { GOOS: 'js', GOARCH: 'wasm' });
}
buildGoProxy();

const startGoProxy = ({ bindings, kvPersist }) => startWorker({
  modulesRoot: buildDir,
  scriptPath: join(buildDir, 'worker.mjs'),
  bindings,
  kvPersist,
});

proxySuite('go-proxy', startGoProxy);

describe('go-proxy: cold deployment', () => {
  let sandbox;
  let kvPersist;
  before(async () => {
    sandbox = await startLoggedSandbox();
    kvPersist = await mkdtemp(join(tmpdir(), 'caspio-proxy-kv-'));
  });
  after(async () => {
    await sandbox?.stop();
    await rm(kvPersist, { recursive: true, force: true });
  });

  test('20 concurrent requests on a cold deployment all succeed, none hangs', async (t) => {
    const proxy = await startGoProxy({ bindings: proxyBindings(sandbox.url), kvPersist });
    try {
      const started = performance.now();
      const one = async (i) => {
        const res = await proxy.dispatchFetch(`http://proxy.test/caspio/tables/Orders/records?q.pageSize=5&n=${i}`, {
          headers: { 'X-Proxy-Key': PROXY_KEY },
          signal: AbortSignal.timeout(20_000),
        });
        const body = await res.text();
        return { status: res.status, body };
      };
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => one(i)));
      for (const r of results) assert.equal(r.status, 200, r.body);
      const stats = await sandbox.stats();
      const logins = stats.token_requests.client_credentials ?? 0;
      t.diagnostic(`20 cold concurrent requests in ${Math.round(performance.now() - started)} ms; the sandbox counted ${logins} login(s), ${stats.token_requests.refresh_token ?? 0} refresh(es)`);
      assert.ok(logins >= 1 && logins <= 20, `logins: ${logins}`);
      // Once KV holds the token, a later request does not log in again.
      assert.equal((await proxy.dispatchFetch('http://proxy.test/caspio/tables/Orders/records?q.pageSize=5', { headers: { 'X-Proxy-Key': PROXY_KEY } }).then((r) => r.text().then(() => r.status))), 200);
      assert.equal((await sandbox.stats()).token_requests.client_credentials, logins);
    } finally {
      await proxy.dispose();
    }
  });
});
