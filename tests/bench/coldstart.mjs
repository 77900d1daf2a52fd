// Node cold start, each figure beside its baseline, in fresh processes of one run:
//   - import to ready: from `import` of the package to a client whose core has started
//     (initialize(): caspio.wasm read, compiled and instantiated, Go's runtime started; then
//     createClient checks the config), beside an empty syscall/js program started with the
//     same wasm_exec.js. Target: at most 1.2x. Shown too: createClient alone with a lease
//     stored, which hands the client out before the core starts.
//   - import to the first authenticated response, with a token already stored (fileStorage,
//     written by a client that logged in once, so with the lease its core writes): beside
//     plain fetch with a fixed Authorization header. Target: at most 1.5x.
//   - the command line with a cached token, spawn to exit: `caspio-auth fetch tables`
//     (js/cli.js, its token file the default one, filled by an earlier call) beside a plain
//     Node script making the same GET with a fixed header. Target: at most 1.3x.
// Runs alternate between the variants, so that neither always meets a warmer machine.
// caspio-auth is imported as Node users get it: js/node.js, the entry that build.sh bundles.
//
//   node tests/bench/coldstart.mjs [runs]   (after ./build.sh)
import { execFileSync, fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildEmptyWasm } from './empty-wasm.mjs';

const runs = Number(process.argv[2] ?? 20);
if (!Number.isInteger(runs) || runs < 1 || runs > 200) throw new TypeError('runs: give a whole number from 1 to 200');

const entry = new URL('../../js/node.js', import.meta.url).href;
const cli = fileURLToPath(new URL('../../js/cli.js', import.meta.url));
const wasmExec = new URL('../../js/wasm_exec.js', import.meta.url).href;
const dir = mkdtempSync(join(tmpdir(), 'caspio-coldstart-'));
const server = fork(fileURLToPath(new URL('./resource-server.mjs', import.meta.url)), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
const [port] = await once(server, 'message');
const origin = `http://127.0.0.1:${port}`;

// The token file as a client stores it: one process logs in (the server answers the token
// request with a token valid for a day) and fetches tables, so that the state holds the lease
// its core wrote. The command line's default token file is filled the same way.
const tokenFile = join(dir, 'token.json');
const login = `
const { createClient, fileStorage } = await import(${JSON.stringify(entry)});
const client = await createClient({ integrationUrl: ${JSON.stringify(origin)}, clientId: 'id', clientSecret: 'secret', storage: fileStorage(${JSON.stringify(tokenFile)}) });
const res = await client.fetch('tables');
if (res.status !== 200) throw new Error('status ' + res.status);
client.close();`;
execFileSync(process.execPath, ['--input-type=module', '-e', login], { timeout: 60_000 });
const cliEnv = {
  PATH: process.env.PATH, HOME: dir, XDG_CONFIG_HOME: join(dir, 'config'),
  CASPIO_INTEGRATION_URL: origin, CASPIO_CLIENT_ID: 'id', CASPIO_CLIENT_SECRET: 'secret',
};
execFileSync(process.execPath, [cli, 'fetch', 'tables'], { env: cliEnv, timeout: 60_000 });

const file = (name, text) => {
  const path = join(dir, `${name}.mjs`);
  writeFileSync(path, text);
  return path;
};
const script = (name, body) => file(name, `const t0 = performance.now();\n${body}\nprocess.stdout.write(String(performance.now() - t0));\nprocess.exit(0);\n`);

const emptyWasm = join(dir, 'empty.wasm');
writeFileSync(emptyWasm, buildEmptyWasm());
const variants = {
  ready: {
    'empty syscall/js program (baseline)': script('empty', `
await import(${JSON.stringify(wasmExec)});
const { readFile } = await import('node:fs/promises');
const module = await WebAssembly.compile(await readFile(${JSON.stringify(emptyWasm)}));
const go = new globalThis.Go();
const instance = await WebAssembly.instantiate(module, go.importObject);
await new Promise((resolve) => { globalThis.__empty_ready__ = resolve; go.run(instance); });`),
    'caspio-auth initialize, createClient': script('ready', `
const { createClient, initialize, fileStorage } = await import(${JSON.stringify(entry)});
await initialize();
const client = await createClient({ integrationUrl: ${JSON.stringify(origin)}, clientId: 'id', clientSecret: 'secret', storage: fileStorage(${JSON.stringify(tokenFile)}) });`),
    'caspio-auth createClient, lease stored (the core not started yet)': script('lease', `
const { createClient, fileStorage } = await import(${JSON.stringify(entry)});
const client = await createClient({ integrationUrl: ${JSON.stringify(origin)}, clientId: 'id', clientSecret: 'secret', storage: fileStorage(${JSON.stringify(tokenFile)}) });`),
  },
  response: {
    'plain fetch, fixed Authorization (baseline)': script('plain', `
const res = await fetch(${JSON.stringify(`${origin}/rest/v2/tables`)}, { headers: { Authorization: 'Bearer bench-token' } });
await res.arrayBuffer();
if (res.status !== 200) throw new Error('status ' + res.status);`),
    'caspio-auth, token stored': script('first', `
const { createClient, fileStorage } = await import(${JSON.stringify(entry)});
const client = await createClient({ integrationUrl: ${JSON.stringify(origin)}, clientId: 'id', clientSecret: 'secret', storage: fileStorage(${JSON.stringify(tokenFile)}) });
const res = await client.fetch('tables');
await res.arrayBuffer();
if (res.status !== 200) throw new Error('status ' + res.status);`),
  },
  cli: {
    // Ends as the command line ends: when nothing is left to do, not by process.exit.
    'plain Node script, one GET with a fixed Authorization (baseline)': { argv: [file('plain-get', `
const res = await fetch(${JSON.stringify(`${origin}/rest/v2/tables`)}, { headers: { Authorization: 'Bearer bench-token', Accept: 'application/json' } });
const bytes = new Uint8Array(await res.arrayBuffer());
if (res.status !== 200) throw new Error('status ' + res.status);
await new Promise((resolve) => { process.stdout.write(bytes, resolve); });`)], spawned: true },
    'caspio-auth fetch tables, token cached': { argv: [cli, 'fetch', 'tables'], spawned: true, env: cliEnv },
  },
};

/** One run of a variant: the script's own figure, or (spawned) the time from spawn to exit. */
function measure(variant) {
  if (typeof variant === 'string') return Number(execFileSync(process.execPath, [variant], { encoding: 'utf8', timeout: 30_000 }));
  const t0 = performance.now();
  execFileSync(process.execPath, variant.argv, { env: variant.env ?? process.env, stdio: ['ignore', 'ignore', 'inherit'], timeout: 30_000 });
  return performance.now() - t0;
}

const ms = (n) => `${n.toFixed(1)} ms`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const targets = { ready: 1.2, response: 1.5, cli: 1.3 };
const titles = {
  ready: 'from import to ready',
  response: 'from import to the first authenticated response',
  cli: 'the command line, spawn to exit',
};
let within = true;
try {
  console.log(`${runs} fresh Node ${process.version} processes per variant, alternating\n`);
  for (const [group, scripts] of Object.entries(variants)) {
    const times = Object.fromEntries(Object.keys(scripts).map((name) => [name, []]));
    for (let i = 0; i < runs; i++) {
      const names = Object.keys(scripts);
      if (i % 2) names.reverse();
      for (const name of names) times[name].push(measure(scripts[name]));
    }
    console.log(`| ${titles[group]} | median | min | max |`);
    console.log('| --- | ---: | ---: | ---: |');
    for (const [name, xs] of Object.entries(times)) console.log(`| ${name} | ${ms(median(xs))} | ${ms(Math.min(...xs))} | ${ms(Math.max(...xs))} |`);
    const [base, ours] = Object.values(times).map(median);
    const ratio = ours / base;
    within &&= ratio <= targets[group];
    console.log(`\nratio ${ratio.toFixed(2)} (target ${targets[group]}): ${ratio <= targets[group] ? 'within' : 'OVER'}\n`);
  }
  process.exitCode = within ? 0 : 1;
} finally {
  server.kill();
  rmSync(dir, { recursive: true, force: true });
}
