// CPU per proxied request, warm, in workerd: the JS proxy (proxy/, caspio-auth's workerd
// entry) beside the Go example (examples/go-proxy, syumai/workers), in the same run,
// against the sandbox on loopback. Each Worker runs alone in its own Miniflare (one workerd
// process, found among this process's children in /proc) and is called on a direct socket
// of its own (no Miniflare entry Worker in between, as in production). After a warm-up (the
// login included) N requests are sent, 8 at a time, each with its own query (as real
// traffic has), and the CPU time of the workerd process over them (utime + stime of all its
// threads, /proc/<pid>/stat) is divided by N; three rounds, the median. The sandbox and this process are other
// processes and are not counted. What workerd spends per request besides the Worker (HTTP
// in and out) is shown by two baselines run the same way: a Worker that answers at once,
// and one that passes the request to the sandbox unchecked with a fixed token.
// Budget: the JS proxy at most 1 ms per request.
//
//   node tests/bench/proxy-cpu.mjs [requests]   (after ./build.sh; Linux, for /proc)
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Miniflare } from 'miniflare';
import { startLoggedSandbox, workerdPids } from '../workers/helpers.js';
import { bundleWorker } from '../workers/js-proxy-helpers.js';
import { PROXY_KEY, proxyBindings } from '../workers/proxy-conformance.js';

const requests = Number(process.argv[2] ?? 500);
if (!(requests >= 100 && requests <= 100_000)) throw new TypeError('give requests from 100 to 100000');
const warmup = 50;
const rounds = 3;
const concurrency = 8;
const budgetMs = 1;
const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
const root = fileURLToPath(new URL('../../', import.meta.url));
const path = '/caspio/tables/Orders/records?q.pageSize=5';

const work = await mkdtemp(join(tmpdir(), 'caspio-proxy-cpu-'));
const sandbox = await startLoggedSandbox();

function median(xs) {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

/** utime + stime of a process, in milliseconds. */
async function cpuMs(pid) {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND; // fields 14 and 15 of stat(5)
}

/**
 * Reads the Worker's output and drops it: the proxies log a line per request, and a pipe
 * nobody reads fills up and stops workerd.
 */
function drain(stdout, stderr) {
  stdout.resume();
  stderr.resume();
}

/**
 * Runs one Worker alone in Miniflare and measures its workerd process.
 * @param {string} name
 * @param {object} worker Miniflare worker options
 */
async function measure(name, worker, { sameURL = false } = {}) {
  const before = new Set(await workerdPids());
  const shared = { compatibilityDate: '2026-04-01', kvPersist: join(work, name, 'kv'), durableObjectsPersist: join(work, name, 'do'), handleRuntimeStdio: drain };
  const direct = { unsafeDirectSockets: [{ host: '127.0.0.1', port: 0 }] };
  // A Worker with others beside it (a Durable Object's own Worker) is given as {workers}: the
  // first is the one measured and sent to; all run in the one workerd process measured.
  const mf = new Miniflare(worker.workers
    ? { ...shared, workers: worker.workers.map((w, i) => ({ compatibilityDate: shared.compatibilityDate, ...w, ...(i === 0 ? direct : {}) })) }
    : { ...worker, ...direct, ...shared });
  try {
    await mf.ready;
    const pids = (await workerdPids()).filter((p) => !before.has(p));
    if (pids.length !== 1) throw new Error(`expected one new workerd process, found ${pids.length}`);
    const [pid] = pids;
    const directURL = await mf.unsafeGetDirectURL();
    const send = async (n) => {
      const res = await fetch(new URL(sameURL ? path : `${path}&n=${n}`, directURL), { headers: { 'X-Proxy-Key': PROXY_KEY } });
      const body = await res.text();
      if (res.status !== 200) throw new Error(`${name}: ${res.status} ${body}`);
    };
    const wave = async (count) => {
      let next = 0;
      await Promise.all(Array.from({ length: concurrency }, async () => {
        while (next < count) await send(next++);
      }));
    };
    await wave(warmup);
    const cpu = [];
    const wall = [];
    for (let round = 0; round < rounds; round++) {
      const cpu0 = await cpuMs(pid);
      const t0 = performance.now();
      await wave(requests);
      wall.push((performance.now() - t0) / requests);
      cpu.push(((await cpuMs(pid)) - cpu0) / requests);
    }
    return { name, cpuPerRequest: median(cpu), wallPerRequest: median(wall), spread: [Math.min(...cpu), Math.max(...cpu)] };
  } finally {
    await mf.dispose();
  }
}

const modulesRules = [{ type: 'CompiledWasm', include: ['**/*.wasm'] }, { type: 'ESModule', include: ['**/*.js', '**/*.mjs'] }];
const rows = [];
try {
  // The Go example, built as tests/workers/go-proxy.test.js builds it (into a folder of its own).
  const goDir = join(work, 'go-proxy');
  const exampleDir = join(root, 'examples', 'go-proxy');
  const go = (args, env = {}) => execFileSync('go', args, { cwd: exampleDir, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
  go(['run', 'github.com/syumai/workers/cmd/workers-assets-gen', '-mode=go', '-o', goDir]);
  go(['build', '-trimpath', '-ldflags=-s -w', '-o', join(goDir, 'app.wasm'), '.'], { GOOS: 'js', GOARCH: 'wasm' });

  const jsDir = await bundleWorker(join(root, 'proxy', 'src', 'index.js'), join(work, 'js-proxy'));
  await writeFile(join(work, 'answer.mjs'), 'export default { fetch() { return new Response(\'{"Result":[]}\', { headers: { "Content-Type": "application/json" } }); } };');
  await writeFile(join(work, 'pass.mjs'), `export default { async fetch(request, env) {
  const url = new URL(request.url);
  const res = await fetch(env.UPSTREAM + url.pathname.slice('/caspio'.length) + url.search, { headers: { Accept: 'application/json', Authorization: env.AUTH } });
  return new Response(res.body, { status: res.status, headers: { 'Content-Type': res.headers.get('Content-Type') ?? '' } });
} };`);
  // The pass-through baseline sends a real token, so that the sandbox answers as it does the proxies.
  const token = await (await fetch(`${sandbox.url}/oauth/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: proxyBindings('').CASPIO_CLIENT_ID, client_secret: proxyBindings('').CASPIO_CLIENT_SECRET }),
  })).json();

  const bindings = proxyBindings(sandbox.url);
  rows.push(await measure('baseline: a Worker that answers at once', { modules: true, modulesRoot: work, scriptPath: join(work, 'answer.mjs') }));
  rows.push(await measure('baseline: pass-through fetch, no checks, fixed token', {
    modules: true, modulesRoot: work, scriptPath: join(work, 'pass.mjs'), bindings: { UPSTREAM: `${sandbox.url}/rest/v2`, AUTH: `Bearer ${token.access_token}` },
  }));
  const js = { modules: true, modulesRoot: jsDir, scriptPath: join(jsDir, 'index.js'), modulesRules, bindings };
  rows.push(await measure('JS proxy (proxy/, caspio-auth), KV', { ...js, kvNamespaces: ['CASPIO_TOKENS'] }));
  rows.push(await measure('JS proxy (proxy/, caspio-auth), TokenBroker', { ...js, durableObjects: { CASPIO_BROKER: 'TokenBroker' } }));
  rows.push(await measure('JS proxy, KV, one URL repeated (no call into the core)', { ...js, kvNamespaces: ['CASPIO_TOKENS'] }, { sameURL: true }));
  // The Go proxy serves with the TokenBroker only (with KV alone it refuses: examples/go-proxy's
  // README): the broker Worker of examples/go-proxy/broker runs beside it.
  const brokerDir = await bundleWorker(join(root, 'examples', 'go-proxy', 'broker', 'src', 'index.js'), join(work, 'go-broker'));
  const broker = { className: 'TokenBroker', scriptName: 'caspio-token-broker' };
  rows.push(await measure('Go proxy (examples/go-proxy, syumai/workers), TokenBroker', { workers: [
    { name: 'go-proxy', modules: true, modulesRoot: goDir, scriptPath: join(goDir, 'worker.mjs'), modulesRules, bindings, durableObjects: { CASPIO_BROKER: broker } },
    { name: 'caspio-token-broker', modules: true, modulesRoot: brokerDir, scriptPath: join(brokerDir, 'index.js'), modulesRules, durableObjects: { CASPIO_BROKER: 'TokenBroker' } },
  ] }));
} finally {
  await sandbox.stop();
  await rm(work, { recursive: true, force: true });
}

const ms = (n) => n.toFixed(3) + ' ms';
console.log(`${requests} warm requests per Worker (after ${warmup}), ${concurrency} at a time, ${rounds} rounds (median, and the range); CPU of the workerd process (${TICKS_PER_SECOND} Hz ticks)\n`);
console.log('| Worker | CPU per request | range | wall per request |');
console.log('| --- | ---: | ---: | ---: |');
for (const r of rows) console.log(`| ${r.name} | ${ms(r.cpuPerRequest)} | ${r.spread.map((x) => x.toFixed(2)).join('-')} | ${ms(r.wallPerRequest)} |`);
const budgeted = rows.filter((r) => r.name.startsWith('JS proxy (proxy/'));
const pass = rows.find((r) => r.name.includes('pass-through'));
console.log(`| JS proxy (KV) minus pass-through | +${ms(budgeted[0].cpuPerRequest - pass.cpuPerRequest)} | | |`);
console.log(`| budget: the JS proxy | ${ms(budgetMs)} | | |`);
const within = budgeted.every((r) => r.cpuPerRequest <= budgetMs);
console.log(within ? '\nwithin budget' : '\nOVER BUDGET');
process.exitCode = within ? 0 : 1;
