// Node cold start, each figure beside its baseline, in fresh processes of one run:
//   - import to ready: from `import` of the package to a ready client (caspio.wasm read,
//     compiled and instantiated, Go's runtime started, the config checked), beside an empty
//     syscall/js program started with the same wasm_exec.js. Target: at most 1.2x.
//   - import to the first authenticated response, with a token already stored (fileStorage):
//     beside plain fetch with a fixed Authorization header. Target: at most 2x.
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
const wasmExec = new URL('../../js/wasm_exec.js', import.meta.url).href;
const dir = mkdtempSync(join(tmpdir(), 'caspio-coldstart-'));
const server = fork(fileURLToPath(new URL('./resource-server.mjs', import.meta.url)), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
const [port] = await once(server, 'message');
const origin = `http://127.0.0.1:${port}`;

// A token file as a client stores it, valid for a day: the client makes no token request.
const tokenFile = join(dir, 'token.json');
const now = Date.now();
writeFileSync(tokenFile, JSON.stringify({
  version: 1, client_id: 'id', token_url: `${origin}/oauth/token`, access_token: 'bench-token', obtained_at: now, expires_at: now + 86_399_000,
  refresh_token: 'bench-refresh', refresh_issued_at: now, counters: { client_credentials_requests: 1, refresh_token_requests: 0, logins: 1, refreshes: 0 },
}), { mode: 0o600 });

const script = (name, body) => {
  const path = join(dir, `${name}.mjs`);
  writeFileSync(path, `const t0 = performance.now();\n${body}\nprocess.stdout.write(String(performance.now() - t0));\nprocess.exit(0);\n`);
  return path;
};

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
    'caspio-auth createClient': script('ready', `
const { createClient } = await import(${JSON.stringify(entry)});
const client = await createClient({ integrationUrl: ${JSON.stringify(origin)}, clientId: 'id', clientSecret: 'secret' });`),
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
};

const ms = (n) => `${n.toFixed(1)} ms`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const targets = { ready: 1.2, response: 2 };
const titles = { ready: 'from import to ready', response: 'from import to the first authenticated response' };
let within = true;
try {
  console.log(`${runs} fresh Node ${process.version} processes per variant, alternating\n`);
  for (const [group, scripts] of Object.entries(variants)) {
    const times = Object.fromEntries(Object.keys(scripts).map((name) => [name, []]));
    for (let i = 0; i < runs; i++) {
      const names = Object.keys(scripts);
      if (i % 2) names.reverse();
      for (const name of names) times[name].push(Number(execFileSync(process.execPath, [scripts[name]], { encoding: 'utf8', timeout: 30_000 })));
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
