// caspio-auth beside what a Node user would pick instead, in one run, against the Caspio
// sandbox on 127.0.0.1: @badgateway/oauth2-client (its OAuth2Fetch wrapper), oauth4webapi
// (with a token kept by hand: it keeps none itself), and the limit, plain fetch with a fixed
// Authorization header. Figures:
//   - CPU per request under load: requests at a concurrency, the variants taking turns
//     round by round; the resource server runs in another process, so only the client's
//     CPU counts. The median of the rounds.
//   - token requests for concurrent cold callers: a fresh client, and every caller makes
//     one authenticated request at once; the sandbox counts the token requests.
//   - logins over hourly restarts: each start a new client that gets a token, the clock
//     moved an hour between starts (the sandbox's, and Date.now here); each library keeps
//     its token where it can: caspio-auth in fileStorage, @badgateway/oauth2-client through
//     its getStoredToken and storeToken hooks in a JSON file, oauth4webapi nowhere.
//   - Node start, in fresh processes (median): import to ready, and import to the first
//     authenticated response with a token already stored where the library can store one.
//   - package size: the files npm installs (unpacked), and the package's entry bundled for
//     Node by esbuild with minify, then brotli (quality 11); for caspio-auth the brotli size
//     of caspio.wasm is added, as the entry loads it at start.
// It writes the figures as JSON (--out), which tests/bench/report.mjs turns into
// BENCHMARKS.md's peer tables and docs/bench-peers.svg.
//
//   node tests/bench/peers.mjs [--requests 5000] [--concurrency 50] [--rounds 5]
//     [--callers 1000] [--starts 720] [--runs 20] [--out bench-results/peers-node.json]
//   (after ./build.sh)
import { execFileSync, fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { brotliCompressSync, constants } from 'node:zlib';
import { OAuth2Client, OAuth2Fetch } from '@badgateway/oauth2-client';
import * as esbuild from 'esbuild';
import * as oauth from 'oauth4webapi';
import { createClient, fileStorage } from 'caspio-auth';
import { CLIENT_ID, CLIENT_SECRET, startSandbox } from '../js/helpers/sandbox.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const { values: args } = parseArgs({
  options: {
    requests: { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '5' },
    callers: { type: 'string', default: '1000' },
    starts: { type: 'string', default: '720' },
    runs: { type: 'string', default: '20' },
    out: { type: 'string', default: join(root, 'bench-results', 'peers-node.json') },
  },
});
const whole = (name, lo, hi) => {
  const n = Number(args[name]);
  if (!Number.isInteger(n) || n < lo || n > hi) throw new TypeError(`--${name}: give a whole number from ${lo} to ${hi}`);
  return n;
};
const REQUESTS = whole('requests', 100, 100_000);
const CONCURRENCY = whole('concurrency', 1, 500);
const ROUNDS = whole('rounds', 1, 50);
const CALLERS = whole('callers', 1, 5000);
const STARTS = whole('starts', 1, 10_000);
const RUNS = whole('runs', 1, 200);
const HOUR = 3_600_000;

// The variants; the IDs are what report.mjs reads.
const PLAIN = { id: 'plain', name: 'plain fetch, fixed Authorization header (the limit)' };
const CASPIO = { id: 'caspio-auth', name: 'caspio-auth (client.fetch)' };
const BADGATEWAY = { id: 'badgateway', name: '@badgateway/oauth2-client (OAuth2Fetch)' };
const OAUTH4 = { id: 'oauth4webapi', name: 'oauth4webapi (protectedResourceRequest), token kept by hand' };

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** @badgateway/oauth2-client as its README sets it up for client_credentials. */
function badgateway(tokenUrl, hooks = {}) {
  const client = new OAuth2Client({ tokenEndpoint: tokenUrl, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  // No refresh timer: it would keep this process alive for a day, and no figure waits for it.
  return new OAuth2Fetch({ client, getNewToken: () => client.clientCredentials(), scheduleRefresh: false, ...hooks });
}

/**
 * oauth4webapi with the token kept in a variable, as a user writes it: the library has
 * calls for the grant and for resource requests, and keeps no token. Callers that find no
 * token each log in (nothing shares a login in flight).
 */
function oauth4webapi(tokenUrl) {
  const as = { issuer: new URL(tokenUrl).origin, token_endpoint: tokenUrl };
  const client = { client_id: CLIENT_ID };
  const auth = oauth.ClientSecretPost(CLIENT_SECRET);
  const options = { [oauth.allowInsecureRequests]: true }; // the sandbox is plain HTTP on loopback
  let token = null;
  async function accessToken() {
    if (token === null || token.expiresAt <= Date.now()) {
      const response = await oauth.clientCredentialsGrantRequest(as, client, auth, new URLSearchParams(), options);
      const result = await oauth.processClientCredentialsResponse(as, client, response);
      token = { value: result.access_token, expiresAt: Date.now() + result.expires_in * 1000 };
    }
    return token.value;
  }
  return {
    accessToken,
    fetch: async (url) => oauth.protectedResourceRequest(await accessToken(), 'GET', new URL(url), undefined, null, options),
  };
}

async function ok(responsePromise) {
  const res = await responsePromise;
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`status ${res.status}`);
}

/** n requests, `inFlight` at a time; the first failure stops it. */
async function load(send, n, inFlight) {
  let started = 0;
  const worker = async () => {
    while (started < n) {
      started++;
      await ok(send());
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, n) }, worker));
}

async function cpuPerRequest(sandbox) {
  const server = fork(fileURLToPath(new URL('./resource-server.mjs', import.meta.url)), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const [port] = await once(server, 'message');
    const resourceUrl = `http://127.0.0.1:${port}/rest/v2`;
    const tables = `${resourceUrl}/tables`;
    const tokenUrl = `${sandbox.url}/oauth/token`;
    const caspio = await createClient({ tokenUrl, resourceUrl, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
    const { accessToken } = await caspio.token();
    const plainHeaders = { Authorization: `Bearer ${accessToken}` };
    const bg = badgateway(tokenUrl);
    const o4 = oauth4webapi(tokenUrl);
    const variants = [
      [PLAIN, () => fetch(tables, { headers: plainHeaders })],
      [CASPIO, () => caspio.fetch('tables')],
      [BADGATEWAY, () => bg.fetch(tables)],
      [OAUTH4, () => o4.fetch(tables)],
    ];
    const warmup = Math.min(1000, REQUESTS);
    for (const [, send] of variants) await load(send, warmup, CONCURRENCY);
    const samples = new Map(variants.map(([v]) => [v.id, []]));
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 ? [...variants].reverse() : variants; // no variant always follows the same one
      for (const [v, send] of order) {
        const before = process.cpuUsage();
        await load(send, REQUESTS, CONCURRENCY);
        const used = process.cpuUsage(before);
        samples.get(v.id).push((used.user + used.system) / REQUESTS);
      }
    }
    const stats = await sandbox.stats();
    caspio.close();
    return {
      requests: REQUESTS, concurrency: CONCURRENCY, rounds: ROUNDS, warmup,
      // Of all the variants together, by grant: one login each is expected.
      tokenRequests: stats.token_requests,
      variants: variants.map(([v]) => ({ ...v, samplesUs: samples.get(v.id), medianUs: median(samples.get(v.id)) })),
    };
  } finally {
    server.kill();
  }
}

async function coldCallers(sandbox) {
  const tables = `${sandbox.url}/rest/v2/tables`;
  const tokenUrl = `${sandbox.url}/oauth/token`;
  const kinds = [
    [CASPIO, async () => {
      const client = await createClient(sandbox.options());
      return { send: () => client.fetch('tables'), close: () => client.close() };
    }],
    [BADGATEWAY, async () => {
      const client = badgateway(tokenUrl);
      return { send: () => client.fetch(tables) };
    }],
    [OAUTH4, async () => {
      const client = oauth4webapi(tokenUrl);
      return { send: () => client.fetch(tables) };
    }],
  ];
  const variants = [];
  for (const [v, make] of kinds) {
    await sandbox.reset();
    const client = await make();
    const results = await Promise.allSettled(Array.from({ length: CALLERS }, () => ok(client.send())));
    client.close?.();
    const failed = results.filter((r) => r.status === 'rejected');
    if (failed.length) throw new Error(`${v.name}: ${failed.length} of ${CALLERS} callers failed, the first with ${failed[0].reason}`);
    const stats = await sandbox.stats();
    const logins = stats.token_requests.client_credentials ?? 0;
    variants.push({ ...v, tokenRequests: logins + (stats.token_requests.refresh_token ?? 0), logins });
  }
  return { callers: CALLERS, variants };
}

async function restarts(sandbox, dir) {
  const tokenUrl = `${sandbox.url}/oauth/token`;
  const kinds = [
    [CASPIO, 'fileStorage', async (file) => {
      const client = await createClient(sandbox.options({ storage: fileStorage(file) }));
      await client.token();
      client.close();
    }],
    [BADGATEWAY, 'getStoredToken and storeToken hooks, a JSON file', async (file) => {
      const client = badgateway(tokenUrl, {
        getStoredToken: () => {
          try {
            return JSON.parse(readFileSync(file, 'utf8'));
          } catch {
            return null;
          }
        },
        storeToken: (token) => writeFileSync(file, JSON.stringify(token), { mode: 0o600 }),
      });
      await client.getAccessToken();
    }],
    [OAUTH4, 'none (it has no token store)', async () => {
      await oauth4webapi(tokenUrl).accessToken();
    }],
  ];
  // The libraries without a clock option read Date.now, so the hours pass here as on the
  // sandbox: Date.now runs ahead by the time the sandbox was moved.
  const realNow = Date.now;
  let offset = 0;
  Date.now = () => realNow() + offset;
  const variants = [];
  try {
    for (const [v, store, start] of kinds) {
      await sandbox.reset();
      offset = 0;
      const file = join(dir, `restarts-${v.id}.json`);
      const t0 = performance.now();
      for (let i = 0; i < STARTS; i++) {
        await start(file);
        await sandbox.advance('1h');
        offset += HOUR;
      }
      const wallMs = performance.now() - t0;
      const stats = await sandbox.stats();
      variants.push({
        ...v, store, logins: stats.token_requests.client_credentials ?? 0, refreshes: stats.token_requests.refresh_token ?? 0,
        refreshMinted: stats.refresh_tokens_minted, wallMs,
      });
    }
  } finally {
    Date.now = realNow;
  }
  return { starts: STARTS, every: '1h', variants };
}

async function nodeStart(sandbox, dir) {
  await sandbox.reset();
  const tokenUrl = `${sandbox.url}/oauth/token`;
  const tables = `${sandbox.url}/rest/v2/tables`;
  // The stored tokens, written by each library itself.
  const caspioFile = join(dir, 'start-caspio.json');
  const stored = await createClient(sandbox.options({ storage: fileStorage(caspioFile) }));
  // A fetch, as a program makes one: the state then holds the lease the core writes with it,
  // for the URL of tables, which a client started later sends with before its core starts.
  await (await stored.fetch('tables')).arrayBuffer();
  const { accessToken } = await stored.token();
  stored.close();
  const badgatewayFile = join(dir, 'start-badgateway.json');
  await badgateway(tokenUrl, { storeToken: (token) => writeFileSync(badgatewayFile, JSON.stringify(token), { mode: 0o600 }) }).getAccessToken();

  const url = (specifier) => JSON.stringify(import.meta.resolve(specifier));
  const json = JSON.stringify;
  const setup = {
    caspio: `const { createClient, fileStorage } = await import(${url('caspio-auth')});`,
    badgateway: `const { OAuth2Client, OAuth2Fetch } = await import(${url('@badgateway/oauth2-client')});
const client = new OAuth2Client({ tokenEndpoint: ${json(tokenUrl)}, clientId: ${json(CLIENT_ID)}, clientSecret: ${json(CLIENT_SECRET)} });`,
    oauth4webapi: `const oauth = await import(${url('oauth4webapi')});
const as = { issuer: ${json(sandbox.url)}, token_endpoint: ${json(tokenUrl)} };
const client = { client_id: ${json(CLIENT_ID)} };
const options = { [oauth.allowInsecureRequests]: true };`,
  };
  const check = `await res.arrayBuffer();\nif (res.status !== 200) throw new Error('status ' + res.status);`;
  const script = (name, body) => {
    const path = join(dir, `${name}.mjs`);
    writeFileSync(path, `const t0 = performance.now();\n${body}\nprocess.stdout.write(String(performance.now() - t0));\nprocess.exit(0);\n`);
    return path;
  };
  const groups = {
    ready: [
      [CASPIO, script('ready-caspio', `${setup.caspio}
const caspio = await createClient({ integrationUrl: ${json(sandbox.url)}, clientId: ${json(CLIENT_ID)}, clientSecret: ${json(CLIENT_SECRET)} });`)],
      [BADGATEWAY, script('ready-badgateway', `${setup.badgateway}
const wrapper = new OAuth2Fetch({ client, getNewToken: () => client.clientCredentials() });`)],
      [OAUTH4, script('ready-oauth4webapi', setup.oauth4webapi)],
    ],
    response: [
      [PLAIN, script('response-plain', `const res = await fetch(${json(tables)}, { headers: { Authorization: ${json(`Bearer ${accessToken}`)} } });\n${check}`)],
      [CASPIO, script('response-caspio', `${setup.caspio}
const caspio = await createClient({ integrationUrl: ${json(sandbox.url)}, clientId: ${json(CLIENT_ID)}, clientSecret: ${json(CLIENT_SECRET)}, storage: fileStorage(${json(caspioFile)}) });
const res = await caspio.fetch('tables');\n${check}`)],
      [BADGATEWAY, script('response-badgateway', `${setup.badgateway}
const { readFile } = await import('node:fs/promises');
const wrapper = new OAuth2Fetch({
  client, getNewToken: () => client.clientCredentials(),
  getStoredToken: async () => JSON.parse(await readFile(${json(badgatewayFile)}, 'utf8')),
});
const res = await wrapper.fetch(${json(tables)});\n${check}`)],
      [OAUTH4, script('response-oauth4webapi', `${setup.oauth4webapi}
const grant = await oauth.clientCredentialsGrantRequest(as, client, oauth.ClientSecretPost(${json(CLIENT_SECRET)}), new URLSearchParams(), options);
const token = await oauth.processClientCredentialsResponse(as, client, grant);
const res = await oauth.protectedResourceRequest(token.access_token, 'GET', new URL(${json(tables)}), undefined, null, options);\n${check}`)],
    ],
  };
  const tokenAtStart = { [PLAIN.id]: 'fixed', [CASPIO.id]: 'stored', [BADGATEWAY.id]: 'stored', [OAUTH4.id]: 'logs in (no store)' };
  const figures = { runs: RUNS, node: process.version };
  for (const [group, variants] of Object.entries(groups)) {
    const times = new Map(variants.map(([v]) => [v.id, []]));
    for (let i = 0; i < RUNS; i++) {
      const order = i % 2 ? [...variants].reverse() : variants;
      for (const [v, path] of order) {
        times.get(v.id).push(Number(execFileSync(process.execPath, [path], { encoding: 'utf8', timeout: 30_000 })));
      }
    }
    figures[group] = variants.map(([v]) => {
      const xs = times.get(v.id);
      return { ...v, token: group === 'response' ? tokenAtStart[v.id] : undefined, medianMs: median(xs), minMs: Math.min(...xs), maxMs: Math.max(...xs) };
    });
  }
  return figures;
}

async function packageSizes() {
  const quality = { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } };
  const packages = [
    [CASPIO, 'caspio-auth'],
    [BADGATEWAY, '@badgateway/oauth2-client'],
    [OAUTH4, 'oauth4webapi'],
  ];
  const sizes = [];
  for (const [v, name] of packages) {
    // The package's folder, found from its package.json (exported by all three).
    const dir = dirname(realpathSync(fileURLToPath(import.meta.resolve(`${name}/package.json`))));
    const [packed] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 60_000 }));
    const bundle = await esbuild.build({
      stdin: { contents: `export * from ${JSON.stringify(name)};`, resolveDir: root, loader: 'js' },
      bundle: true, minify: true, format: 'esm', platform: 'node', write: false, logLevel: 'silent',
    });
    const { dependencies = {} } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const js = bundle.outputFiles[0].contents;
    const jsBrotli = brotliCompressSync(js, quality).length;
    let wasmBrotli = 0;
    if (name === 'caspio-auth') wasmBrotli = brotliCompressSync(readFileSync(join(dir, 'caspio.wasm')), quality).length;
    sizes.push({
      ...v, package: name, version: packed.version, dependencies: Object.keys(dependencies).length,
      installedBytes: packed.unpackedSize, files: packed.entryCount,
      minBytes: js.length, minBrotliBytes: jsBrotli, wasmBrotliBytes: wasmBrotli, totalBrotliBytes: jsBrotli + wasmBrotli,
    });
  }
  return { bundler: `esbuild ${esbuild.version}`, platform: 'node', brotliQuality: 11, packages: sizes };
}

const dir = mkdtempSync(join(tmpdir(), 'caspio-peers-'));
const sandbox = await startSandbox();
const results = { bench: 'peers-node', runtime: `Node ${process.version}`, cpus: cpus().length, date: new Date().toISOString() };
try {
  console.error('peers: CPU per request under load');
  results.cpu = await cpuPerRequest(sandbox);
  console.error('peers: cold callers');
  results.coldCallers = await coldCallers(sandbox);
  console.error('peers: restarts');
  results.restarts = await restarts(sandbox, dir);
  console.error('peers: Node start');
  results.start = await nodeStart(sandbox, dir);
  console.error('peers: package sizes');
  results.size = await packageSizes();
} finally {
  await sandbox.stop();
  rmSync(dir, { recursive: true, force: true });
}

mkdirSync(dirname(args.out), { recursive: true });
writeFileSync(args.out, JSON.stringify(results, null, 2) + '\n');

const us = (n) => `${n.toFixed(1)} µs`;
const ms = (n) => `${n.toFixed(1)} ms`;
const kb = (n) => `${(n / 1000).toFixed(1)} KB`;
const c = results.cpu;
console.log(`${results.runtime}, ${results.cpus} CPUs\n`);
console.log(`CPU per request: ${c.requests} requests at concurrency ${c.concurrency}, ${c.rounds} rounds taking turns\n`);
console.log('| variant | CPU per request (median) | x the limit | rounds (µs) |');
console.log('| --- | ---: | ---: | --- |');
for (const v of c.variants) console.log(`| ${v.name} | ${us(v.medianUs)} | ${(v.medianUs / c.variants[0].medianUs).toFixed(2)} | ${v.samplesUs.map((x) => x.toFixed(0)).join(', ')} |`);
console.log(`\nToken requests for ${results.coldCallers.callers} concurrent cold callers\n\n| variant | token requests | of which logins |\n| --- | ---: | ---: |`);
for (const v of results.coldCallers.variants) console.log(`| ${v.name} | ${v.tokenRequests} | ${v.logins} |`);
console.log(`\n${results.restarts.starts} starts, one an hour\n\n| variant | store | logins | refreshes |\n| --- | --- | ---: | ---: |`);
for (const v of results.restarts.variants) console.log(`| ${v.name} | ${v.store} | ${v.logins} | ${v.refreshes} |`);
console.log(`\nNode start, ${results.start.runs} fresh processes each (median)\n\n| variant | import to ready | import to first response |\n| --- | ---: | ---: |`);
for (const v of results.start.response) {
  const ready = results.start.ready.find((r) => r.id === v.id);
  console.log(`| ${v.name} | ${ready ? ms(ready.medianMs) : '-'} | ${ms(v.medianMs)} (${v.token}) |`);
}
console.log('\n| package | installed | min + brotli |\n| --- | ---: | ---: |');
for (const p of results.size.packages) console.log(`| ${p.package} ${p.version} | ${kb(p.installedBytes)} | ${kb(p.totalBrotliBytes)} |`);
console.log(`\nfigures written to ${args.out}`);
