// Node cold start: from `import` of the package to a ready client (caspio.wasm compiled,
// instantiated and Go's runtime started, the config checked), in fresh processes, beside
// the baseline: the same steps for an empty syscall/js program with the same wasm_exec.js.
// Budget: at most 35 ms median over 20 fresh processes.
//
//   node tests/bench/coldstart.mjs [runs]   (after ./build.sh)
import { execFileSync } from 'node:child_process';
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

const ourScript = join(dir, 'ours.mjs');
writeFileSync(ourScript, `
const t0 = performance.now();
const { createClient } = await import(${JSON.stringify(entry)});
const client = await createClient({ integrationUrl: 'http://127.0.0.1:9', clientId: 'id', clientSecret: 'secret' });
const t1 = performance.now();
process.stdout.write(String(t1 - t0));
client.close();
process.exit(0);
`);

const emptyWasm = join(dir, 'empty.wasm');
writeFileSync(emptyWasm, buildEmptyWasm());
const baselineScript = join(dir, 'baseline.mjs');
writeFileSync(baselineScript, `
const t0 = performance.now();
await import(${JSON.stringify(wasmExec)});
const { readFile } = await import('node:fs/promises');
const module = await WebAssembly.compile(await readFile(${JSON.stringify(emptyWasm)}));
const go = new globalThis.Go();
const instance = await WebAssembly.instantiate(module, go.importObject);
await new Promise((resolve) => { globalThis.__empty_ready__ = resolve; go.run(instance); });
const t1 = performance.now();
process.stdout.write(String(t1 - t0));
process.exit(0);
`);

function measure(script) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    times.push(Number(execFileSync(process.execPath, [script], { encoding: 'utf8', timeout: 30_000 })));
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)], min: times[0], max: times[times.length - 1] };
}

try {
  // Interleave nothing: each set runs back to back in fresh processes, baseline first.
  const baseline = measure(baselineScript);
  const ours = measure(ourScript);
  const ms = (n) => n.toFixed(1) + ' ms';
  console.log(`${runs} fresh Node ${process.version} processes each\n`);
  console.log('| from import to ready | median | min | max |');
  console.log('| --- | ---: | ---: | ---: |');
  console.log(`| empty syscall/js program (baseline) | ${ms(baseline.median)} | ${ms(baseline.min)} | ${ms(baseline.max)} |`);
  console.log(`| caspio-auth createClient | ${ms(ours.median)} | ${ms(ours.min)} | ${ms(ours.max)} |`);
  console.log(`| budget | ${ms(35)} | | |`);
  const within = ours.median <= 35;
  console.log(within ? '\nwithin budget' : '\nOVER BUDGET');
  process.exitCode = within ? 0 : 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
