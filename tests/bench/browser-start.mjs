// Browser start: from navigation to a ready client (the page's modules loaded, caspio.wasm
// fetched, compiled and instantiated, Go's runtime started: `await createClient(...)`
// resolved) in headless Chromium on localhost, beside the baseline: a page that loads the
// same wasm_exec.js and an empty syscall/js program (tests/bench/empty-wasm.mjs) and runs it.
// The package is loaded unbundled (an import map: its modules arrive in a waterfall of
// requests) and bundled by esbuild (one module, caspio.wasm beside it).
// Each load is in a fresh browser context with an empty cache, and the server sends
// Cache-Control: no-store, so every load fetches and compiles everything (cold).
// Budget: at most 150 ms median over 10 loads, for either page.
//
//   node tests/bench/browser-start.mjs [loads]   (after ./build.sh; needs Chromium)
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { buildEmptyWasm } from './empty-wasm.mjs';
import { launchChromium } from '../browser/helpers/chromium.js';
import { startStaticServer } from '../browser/helpers/server.js';

const loads = Number(process.argv[2] ?? 10);
if (!Number.isInteger(loads) || loads < 1 || loads > 100) throw new TypeError('loads: give a whole number from 1 to 100');
const BUDGET_MS = 150;

const dir = mkdtempSync(join(tmpdir(), 'caspio-browser-start-'));
writeFileSync(join(dir, 'empty.wasm'), buildEmptyWasm());
// Both pages stop the clock the same way: performance.now() counts from the navigation.
writeFileSync(join(dir, 'ours.html'), `<!doctype html>
<meta charset="utf-8">
<script type="importmap">{"imports": {"caspio-auth": "/pkg/browser.js"}}</script>
<script type="module">
  import { createClient } from 'caspio-auth';
  globalThis.modules = performance.now();
  await createClient({ integrationUrl: 'http://127.0.0.1:9', clientId: 'id', clientSecret: 'secret' });
  globalThis.ready = performance.now();
</script>
`);
// The same page's script, bundled.
writeFileSync(join(dir, 'entry.js'), `
import { createClient } from 'caspio-auth';
globalThis.modules = performance.now();
await createClient({ integrationUrl: 'http://127.0.0.1:9', clientId: 'id', clientSecret: 'secret' });
globalThis.ready = performance.now();
`);
await esbuild.build({
  entryPoints: [join(dir, 'entry.js')], bundle: true, format: 'esm', platform: 'browser', outfile: join(dir, 'bundle.js'),
  nodePaths: [fileURLToPath(new URL('../../node_modules/', import.meta.url))], logLevel: 'silent',
});
copyFileSync(new URL('../../js/caspio.wasm', import.meta.url), join(dir, 'caspio.wasm'));
writeFileSync(join(dir, 'bundled.html'), '<!doctype html>\n<meta charset="utf-8">\n<script type="module" src="bundle.js"></script>\n');
writeFileSync(join(dir, 'baseline.html'), `<!doctype html>
<meta charset="utf-8">
<script type="module">
  import '/pkg/wasm_exec.js';
  globalThis.modules = performance.now();
  const module = await WebAssembly.compileStreaming(fetch('/bench/empty.wasm'));
  const go = new globalThis.Go();
  const instance = await WebAssembly.instantiate(module, go.importObject);
  await new Promise((resolve) => { globalThis.__empty_ready__ = resolve; go.run(instance); });
  globalThis.ready = performance.now();
</script>
`);

const browser = await launchChromium();
const server = await startStaticServer({ '/bench/': dir + '/' });

/** One load of page in a fresh context: the ms from navigation to ready. */
async function load(page) {
  const context = await browser.newContext();
  try {
    const tab = await context.newPage();
    await tab.goto(`${server.url}/bench/${page}`);
    await tab.waitForFunction(() => globalThis.ready !== undefined);
    return await tab.evaluate(() => ({ ready: globalThis.ready, modules: globalThis.modules }));
  } finally {
    await context.close();
  }
}

function summary(times) {
  const sorted = times.map((t) => t.ready).sort((a, b) => a - b);
  const modules = times.map((t) => t.modules).sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return { median: sorted[mid], min: sorted[0], max: sorted[sorted.length - 1], modules: modules[mid] };
}

try {
  // One load of each first, unmeasured, so that neither set pays for Chromium warming up;
  // then the two alternate, so that both see the same load on the machine.
  const pages = ['baseline.html', 'ours.html', 'bundled.html'];
  for (const page of pages) await load(page);
  const times = Object.fromEntries(pages.map((page) => [page, []]));
  for (let i = 0; i < loads; i++) {
    for (const page of pages) times[page].push(await load(page));
  }
  const baseline = summary(times['baseline.html']);
  const ours = summary(times['ours.html']);
  const bundled = summary(times['bundled.html']);
  const ms = (n) => n.toFixed(1) + ' ms';
  const signed = (n) => (n < 0 ? '' : '+') + ms(n);
  console.log(`${loads} loads each, headless Chromium ${browser.version()}, a fresh context (empty cache) per load, Cache-Control: no-store\n`);
  console.log('| from navigation to ready | median | min | max | of which modules loaded (median) |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  console.log(`| empty syscall/js program (baseline) | ${ms(baseline.median)} | ${ms(baseline.min)} | ${ms(baseline.max)} | ${ms(baseline.modules)} |`);
  console.log(`| caspio-auth createClient, import map | ${ms(ours.median)} | ${ms(ours.min)} | ${ms(ours.max)} | ${ms(ours.modules)} |`);
  console.log(`| import map minus baseline (medians) | ${signed(ours.median - baseline.median)} | | | ${signed(ours.modules - baseline.modules)} |`);
  console.log(`| caspio-auth createClient, esbuild bundle | ${ms(bundled.median)} | ${ms(bundled.min)} | ${ms(bundled.max)} | ${ms(bundled.modules)} |`);
  console.log(`| bundle minus baseline (medians) | ${signed(bundled.median - baseline.median)} | | | ${signed(bundled.modules - baseline.modules)} |`);
  console.log(`| budget | ${ms(BUDGET_MS)} | | | |`);
  const within = ours.median <= BUDGET_MS && bundled.median <= BUDGET_MS;
  console.log(within ? '\nwithin budget' : '\nOVER BUDGET');
  process.exitCode = within ? 0 : 1;
} finally {
  await browser.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}
