// Browser start: from navigation to the first authenticated response (the end of the page's
// first GET /rest/v2/tables, from its PerformanceResourceTiming) with a token already in
// localStorage, in headless Chromium, served by `caspio-demo -serve` (the admin page, the
// sandbox and the package on one origin, with the demo's caching headers: no-cache and
// Last-Modified, so that a warm load revalidates each file and gets 304s). Pages:
// - plain (the baseline): reads the stored state's access token and fetches with it;
// - caspio-auth: createClient with webStorage(localStorage) over the same stored state, then
//   client.fetch('tables'), the package through an import map as the admin page loads it;
// - the admin page (web/index.html) restoring its session, and the same page with its
//   <link rel="preload"> of caspio.wasm toggled, to show what the preload does; these two
//   again over an emulated network (latency and bandwidth), where the download costs time.
// Cold: the first load of a fresh browser profile (empty HTTP cache and code caches). Warm:
// the next load in that profile. The pages take turns, so that all see the same load on the
// machine. Then one traced cold and warm load of the caspio-auth page and the admin page
// (CDP tracing: V8's wasm events) tell whether the warm load used Chromium's cache of
// compiled wasm code (v8.wasm.moduleCacheHit), whether a load wrote it (v8.wasm.cachedModule),
// and how many functions of caspio.wasm V8 compiled on first call.
// Goal: the caspio-auth page's first authenticated response within 2 x the plain page's
// (median), cold and warm, as for Node.
//
//   node tests/bench/browser-start.mjs [rounds]   (after ./build.sh; needs Chromium)
import { spawn, execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM } from '../browser/helpers/chromium.js';

const rounds = Number(process.argv[2] ?? 7);
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 50) throw new TypeError('rounds: give a whole number from 1 to 50');
const GOAL = 2;
const root = fileURLToPath(new URL('../../', import.meta.url));
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-default-apps', '--disable-extensions'];
const PRELOAD = '<link rel="preload" href="/caspio-auth/caspio.wasm" as="fetch" crossorigin>';

const work = mkdtempSync(join(tmpdir(), 'caspio-browser-start-'));
// The admin page's folder as it is, with the bench's pages beside it.
const web = join(work, 'web');
cpSync(join(root, 'web'), web, { recursive: true });
const index = readFileSync(join(web, 'index.html'), 'utf8');
const hasPreload = index.includes('rel="preload" href="/caspio-auth/caspio.wasm"');
writeFileSync(join(web, 'toggled.html'), hasPreload
  ? index.replace(/\n?<link rel="preload" href="\/caspio-auth\/caspio\.wasm"[^>]*>/, '')
  : index.replace('<link rel="stylesheet"', `${PRELOAD}\n<link rel="stylesheet"`));
writeFileSync(join(web, 'plain.html'), `<!doctype html>
<meta charset="utf-8">
<script type="module">
  const key = localStorage.getItem('caspio-bench:key');
  const { access_token: token } = JSON.parse(localStorage.getItem(key));
  const res = await fetch('/rest/v2/tables', { headers: { Authorization: 'Bearer ' + token } });
  globalThis.tables = (await res.json()).Result;
</script>
`);
writeFileSync(join(web, 'caspio.html'), `<!doctype html>
<meta charset="utf-8">
<script type="importmap">{"imports": {"caspio-auth": "/caspio-auth/browser.js"}}</script>
<script type="module">
  import { createClient, webStorage } from 'caspio-auth';
  const key = localStorage.getItem('caspio-bench:key');
  const client = await createClient({ integrationUrl: location.origin, clientId: 'sandbox-client', clientSecret: 'sandbox-secret', storage: webStorage(localStorage, key) });
  const res = await client.fetch('tables');
  globalThis.tables = (await res.json()).Result;
</script>
`);

const PAGES = {
  plain: { path: 'plain.html', name: 'plain fetch with the stored token (baseline)' },
  caspio: { path: 'caspio.html', name: 'caspio-auth: createClient + client.fetch' },
  admin: { path: '', name: `admin page (web/index.html, ${hasPreload ? 'with' : 'without'} the wasm preload)` },
  toggled: { path: 'toggled.html', name: `admin page ${hasPreload ? 'without' : 'with'} the wasm preload` },
  // The same two over an emulated network: on loopback a download costs next to nothing.
  adminNet: { path: '', network: true, name: `admin page ${hasPreload ? 'with' : 'without'} the wasm preload, 40 ms latency, 20 Mbit/s` },
  toggledNet: { path: 'toggled.html', network: true, name: `admin page ${hasPreload ? 'without' : 'with'} the wasm preload, 40 ms latency, 20 Mbit/s` },
};
/** What Chromium emulates for the pages marked network (CDP Network.emulateNetworkConditions). */
const NETWORK = { offline: false, latency: 40, downloadThroughput: 20e6 / 8, uploadThroughput: 5e6 / 8 };

const bin = join(work, 'caspio-demo');
execFileSync('go', ['build', '-o', bin, './cmd/caspio-demo'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
const demo = spawn(bin, ['-serve', '-addr', '127.0.0.1:0', '-web', web, '-js', join(root, 'js')], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
const origin = await new Promise((resolve, reject) => {
  let out = '';
  const timer = setTimeout(() => reject(new Error(`caspio-demo printed no "admin page at" line within 60 s:\n${out}`)), 60_000);
  demo.stdout.setEncoding('utf8').on('data', (d) => {
    out += d;
    const m = /^admin page at (http:\/\/\S+)\/$/m.exec(out);
    if (m) {
      clearTimeout(timer);
      resolve(m[1]);
    }
  });
  demo.once('exit', (code) => { clearTimeout(timer); reject(new Error(`caspio-demo exited (${code}):\n${out}`)); });
});

const profiles = [];
/** A browser with a fresh profile of its own: empty HTTP cache and code caches. */
async function freshBrowser() {
  const dir = mkdtempSync(join(work, 'profile-'));
  profiles.push(dir);
  return chromium.launchPersistentContext(dir, { executablePath: CHROMIUM, headless: true, args: ARGS });
}

/** The admin page's localStorage after connecting with tokens kept "on this device". */
async function connectOnce() {
  const context = await freshBrowser();
  try {
    const page = context.pages()[0] ?? await context.newPage();
    await page.goto(`${origin}/`);
    await page.waitForSelector('body[data-ready=true]', { state: 'attached' });
    await page.selectOption('#token-storage', 'local');
    await page.click('#connect-button');
    await page.waitForFunction(() => localStorage.getItem('caspio-auth-admin:settings') !== null
      && Object.keys(localStorage).some((k) => k.startsWith('caspio-auth:http')));
    return await page.evaluate(() => {
      const seed = Object.fromEntries(Object.keys(localStorage).map((k) => [k, localStorage.getItem(k)]));
      seed['caspio-bench:key'] = Object.keys(localStorage).find((k) => k.startsWith('caspio-auth:http'));
      return seed;
    });
  } finally {
    await context.close();
  }
}

/** Loads path in a new tab of context; the ms from navigation to the end of the first GET /rest/v2/tables. */
async function load(context, path, network = false) {
  const tab = await context.newPage();
  if (network) {
    const cdp = await context.newCDPSession(tab);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', NETWORK);
  }
  try {
    await tab.goto(`${origin}/${path}`);
    const handle = await tab.waitForFunction(() => {
      const e = performance.getEntriesByType('resource').find((r) => r.name.endsWith('/rest/v2/tables'));
      return e && e.responseEnd > 0 ? { end: e.responseEnd, status: e.responseStatus, wasm: performance.getEntriesByType('resource').filter((r) => r.name.endsWith('/caspio.wasm')).length } : null;
    }, null, { timeout: 60_000 });
    const r = await handle.jsonValue();
    if (r.status !== 200) throw new Error(`${path || 'index.html'}: GET /rest/v2/tables answered ${r.status}`);
    if (r.wasm > 1) throw new Error(`${path || 'index.html'} fetched caspio.wasm ${r.wasm} times: the preload was not used`);
    return r.end;
  } finally {
    await tab.close();
  }
}

/** A cold load (fresh profile, after seeding its storage) and then a warm one. */
async function coldAndWarm(path, seed, { trace = null, network = false } = {}) {
  const context = await freshBrowser();
  try {
    const tab = context.pages()[0] ?? await context.newPage();
    await tab.goto(`${origin}/__bench/seed`); // the demo's 404: an empty page of the origin
    await tab.evaluate((entries) => { for (const [k, v] of Object.entries(entries)) localStorage.setItem(k, v); }, seed);
    const cold = trace ? await trace(context, path) : await load(context, path, network);
    await new Promise((resolve) => { setTimeout(resolve, 500); }); // caches written
    const warm = trace ? await trace(context, path) : await load(context, path, network);
    return { cold, warm };
  } finally {
    await context.close();
  }
}

/** One load traced through CDP: V8's wasm events. */
async function traced(context, path) {
  const tab = await context.newPage();
  const cdp = await context.newCDPSession(tab);
  const events = [];
  cdp.on('Tracing.dataCollected', (e) => events.push(...e.value));
  const complete = new Promise((resolve) => { cdp.once('Tracing.tracingComplete', resolve); });
  await cdp.send('Tracing.start', { traceConfig: { includedCategories: ['v8.wasm', 'disabled-by-default-devtools.timeline'] }, transferMode: 'ReportEvents' });
  try {
    await tab.goto(`${origin}/${path}`);
    await tab.waitForFunction(() => performance.getEntriesByType('resource').some((r) => r.name.endsWith('/rest/v2/tables') && r.responseEnd > 0), null, { timeout: 60_000 });
    await new Promise((resolve) => { setTimeout(resolve, 3000); }); // Chromium caches wasm code 2 s after the last tier-up
  } finally {
    await cdp.send('Tracing.end');
    await complete;
    await tab.close();
  }
  const count = (name) => events.filter((e) => e.name === name).length;
  const lazy = events.filter((e) => e.name === 'wasm.CompileLazy');
  return {
    hit: count('v8.wasm.moduleCacheHit'), cached: count('v8.wasm.cachedModule'), tieredUp: count('wasm.TopTierCompilation'),
    lazy: lazy.length, lazyMs: lazy.reduce((sum, e) => sum + (e.dur ?? 0), 0) / 1000,
  };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

try {
  const seed = await connectOnce();
  const times = Object.fromEntries(Object.keys(PAGES).map((k) => [k, { cold: [], warm: [] }]));
  for (let i = 0; i < rounds; i++) {
    for (const [key, { path, network }] of Object.entries(PAGES)) {
      const { cold, warm } = await coldAndWarm(path, seed, { network });
      times[key].cold.push(cold);
      times[key].warm.push(warm);
    }
  }
  const checks = { caspio: await coldAndWarm(PAGES.caspio.path, seed, { trace: traced }), admin: await coldAndWarm(PAGES.admin.path, seed, { trace: traced }) };

  const version = (await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS }).then(async (b) => { const v = b.version(); await b.close(); return v; }));
  const ms = (n) => `${n.toFixed(1)} ms`;
  const plain = { cold: median(times.plain.cold), warm: median(times.plain.warm) };
  console.log(`${rounds} rounds, headless Chromium ${version}, caspio-demo -serve on loopback; a fresh profile per cold load, the next load in it warm\n`);
  console.log('| from navigation to the first authenticated response | cold, median (min-max) | x plain | warm, median (min-max) | x plain |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const [key, { name }] of Object.entries(PAGES)) {
    const t = times[key];
    const span = (xs) => `${ms(median(xs))} (${Math.min(...xs).toFixed(0)}-${Math.max(...xs).toFixed(0)})`;
    const x = (when) => (PAGES[key].network ? '-' : (median(t[when]) / plain[when]).toFixed(2));
    console.log(`| ${name} | ${span(t.cold)} | ${x('cold')} | ${span(t.warm)} | ${x('warm')} |`);
  }
  console.log('\n| traced load: caspio.wasm in V8 | code cache hit | code cache written | functions compiled on first call | their compile time | functions tiered up |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const [key, { cold, warm }] of Object.entries(checks)) {
    for (const [when, c] of [['cold', cold], ['warm', warm]]) {
      console.log(`| ${PAGES[key].name}, ${when} | ${c.hit ? 'yes' : 'no'} | ${c.cached ? 'yes' : 'no'} | ${c.lazy} | ${ms(c.lazyMs)} | ${c.tieredUp} |`);
    }
  }
  const ratios = ['cold', 'warm'].map((when) => median(times.caspio[when]) / plain[when]);
  console.log(`\ngoal: the caspio-auth page within ${GOAL} x the plain page, cold and warm: ${ratios.map((r) => r.toFixed(2)).join(' and ')}`);
  const within = ratios.every((r) => r <= GOAL);
  console.log(within ? 'within the goal' : 'OVER');
  process.exitCode = within ? 0 : 1;
} finally {
  demo.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
}
