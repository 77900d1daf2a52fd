// Turns the figures of one peer benchmark run (the JSON that tests/bench/peers.mjs and
// `caspio-bench peers -json` write) into BENCHMARKS.md's peer tables, between the lines
// "<!-- peers:begin -->" and "<!-- peers:end -->" (the rest of the file is kept as it is),
// and into docs/bench-peers.svg: a bar chart, one bar per library and figure, of each
// figure's ratio to the limit (plain requests with a fixed Authorization header = 1).
// A run with fewer requests, callers, starts or processes than ./build.sh bench uses is
// labelled a smoke run in both.
//
//   node tests/bench/report.mjs [--results bench-results] [--benchmarks BENCHMARKS.md] [--svg docs/bench-peers.svg]
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('../../', import.meta.url));
const { values: args } = parseArgs({
  options: {
    results: { type: 'string', default: join(root, 'bench-results') },
    benchmarks: { type: 'string', default: join(root, 'BENCHMARKS.md') },
    svg: { type: 'string', default: join(root, 'docs', 'bench-peers.svg') },
  },
});

// The counts of a full run (./build.sh bench); fewer make a smoke run.
const FULL = { requests: 5000, concurrency: 50, rounds: 5, callers: 1000, starts: 720, runs: 20 };

// How each library is named and coloured, in every figure. caspio-auth has one colour in
// both runtimes.
const LIBRARIES = {
  'caspio-auth': { label: 'caspio-auth (Node)', color: '#1f6feb' },
  badgateway: { label: '@badgateway/oauth2-client (Node)', color: '#d4760a' },
  oauth4webapi: { label: 'oauth4webapi, token kept by hand (Node)', color: '#1a7f5a' },
  'caspio-go': { label: 'caspio-auth (Go)', color: '#1f6feb' },
  'x-oauth2': { label: 'golang.org/x/oauth2 (Go)', color: '#8250df' },
};

function readResults(name, bench) {
  const path = join(args.results, name);
  let data;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`report: cannot read ${path} (${err.code ?? err.message}): run the peer benchmarks first (./build.sh bench)`);
  }
  if (data.bench !== bench) throw new Error(`report: ${path} holds ${JSON.stringify(data.bench)} figures, not ${bench}`);
  return data;
}

const node = readResults('peers-node.json', 'peers-node');
const go = readResults('peers-go.json', 'peers-go');
// Both halves must come from one run: a figure measured today beside one of last week
// would compare two machines' moods.
if (Math.abs(Date.parse(node.date) - Date.parse(go.date)) > 3 * 3_600_000) {
  throw new Error(`report: the Node figures (${node.date}) and the Go figures (${go.date}) are from different runs; run ./build.sh bench`);
}

const counts = {
  requests: Math.min(node.cpu.requests, go.cpu.requests),
  concurrency: Math.min(node.cpu.concurrency, go.cpu.concurrency),
  rounds: Math.min(node.cpu.rounds, go.cpu.rounds),
  callers: Math.min(node.coldCallers.callers, go.coldCallers.callers),
  starts: Math.min(node.restarts.starts, go.restarts.starts),
  runs: node.start.runs,
};
const smoke = Object.keys(FULL).some((k) => counts[k] < FULL[k]);

// Formatting.
const int = (n) => Math.round(n).toLocaleString('en-US');
const ratio = (r) => (r >= 10 || Number.isInteger(r) ? int(r) : r.toFixed(2)) + 'x';
const us = (n) => `${n.toFixed(1)} µs`;
const ms = (n) => `${n.toFixed(1)} ms`;
const kb = (n) => `${(n / 1000).toFixed(1)} KB`;
const plural = (n, one, many = one + 's') => `${int(n)} ${n === 1 ? one : many}`;
const byId = (list, id) => {
  const found = list.find((v) => v.id === id);
  if (!found) throw new Error(`report: no figure for ${id} in the results`);
  return found;
};

// The figures, as rows that both the tables and the chart use.
const cpuRows = [
  ...node.cpu.variants.map((v) => ({ runtime: 'Node', ...v, ratio: v.medianUs / byId(node.cpu.variants, 'plain').medianUs })),
  ...go.cpu.variants.map((v) => ({ runtime: 'Go', ...v, ratio: v.medianUs / byId(go.cpu.variants, 'go-plain').medianUs })),
];
const coldRows = [
  ...node.coldCallers.variants.map((v) => ({ runtime: 'Node', ...v })),
  ...go.coldCallers.variants.map((v) => ({ runtime: 'Go', ...v })),
];
const restartRows = [
  ...node.restarts.variants.map((v) => ({ runtime: 'Node', ...v })),
  ...go.restarts.variants.map((v) => ({ runtime: 'Go', ...v })),
];
const plainStart = byId(node.start.response, 'plain').medianMs;
const startRows = node.start.response.map((v) => ({ ...v, ready: node.start.ready.find((r) => r.id === v.id), ratio: v.medianMs / plainStart }));
const sizeRows = node.size.packages;
const date = node.date.slice(0, 10);
const machine = `${node.runtime} and ${go.runtime}, ${node.cpus} CPUs`;

function markdown() {
  const lines = [];
  const add = (...xs) => lines.push(...xs);
  if (smoke) {
    add(`**Smoke run with reduced counts** (${counts.requests} requests, ${counts.rounds} rounds, ${counts.callers} callers, ${counts.starts} starts, ${counts.runs} processes):`,
      'these figures only show that the benchmarks work; `./build.sh bench` writes the real ones.', '');
  }
  add(`Last run: ${date}, ${machine}; @badgateway/oauth2-client ${byId(sizeRows, 'badgateway').version}, oauth4webapi ${byId(sizeRows, 'oauth4webapi').version},`,
    `golang.org/x/oauth2 ${go.xOAuth2Version}. The limit is plain requests with a fixed Authorization header (a token`,
    'obtained once), which a client library can at best match: every ratio is to it, so the limit is 1 (a timing ratio',
    'a little under 1 is the machine\'s noise).', '',
    '![caspio-auth beside @badgateway/oauth2-client, oauth4webapi and golang.org/x/oauth2: ratios to the limit](docs/bench-peers.svg)', '');

  add('### CPU per request under load', '',
    `${int(node.cpu.requests)} requests at concurrency ${node.cpu.concurrency} per round, ${node.cpu.rounds} rounds with the variants taking turns, after ${int(node.cpu.warmup)} warm-up`,
    'requests each; the median of the rounds. The resource server runs in another process, so only the client\'s CPU',
    'counts. Node: `fetch` through undici; oauth4webapi sends with its `protectedResourceRequest`, the token kept in a',
    'variable. Go: `net/http` with the same keep-alive transport for each (as many idle connections as requests in flight).', '',
    '| runtime | variant | CPU per request | x the limit | rounds |', '| --- | --- | ---: | ---: | --- |');
  for (const v of cpuRows) add(`| ${v.runtime} | ${v.name} | ${us(v.medianUs)} | ${v.ratio.toFixed(2)} | ${v.samplesUs.map((x) => x.toFixed(v.runtime === 'Go' ? 1 : 0)).join(', ')} |`);

  add('', `### Token requests for ${int(counts.callers)} concurrent cold callers`, '',
    `A fresh client; ${int(counts.callers)} callers each make one authenticated request at once, and the sandbox counts the token`,
    'requests. The limit is 1: one token, shared.', '',
    '| runtime | variant | token requests | of which logins | x the limit |', '| --- | --- | ---: | ---: | ---: |');
  for (const v of coldRows) add(`| ${v.runtime} | ${v.name} | ${int(v.tokenRequests)} | ${int(v.logins)} | ${ratio(v.tokenRequests)} |`);

  add('', `### Logins over ${int(counts.starts)} hourly restarts`, '',
    `A program that starts every hour (${int(counts.starts)} starts, ${int(counts.starts / 24)} days on the sandbox clock), each start a new client that gets a`,
    'token, kept where the library can keep it. Every login mints one of the account\'s 1,000 refresh tokens. The limit is',
    '1 login.', '',
    '| runtime | variant | token store | logins | refreshes | refresh tokens minted | x the limit |', '| --- | --- | --- | ---: | ---: | ---: | ---: |');
  for (const v of restartRows) add(`| ${v.runtime} | ${v.name} | ${v.store} | ${int(v.logins)} | ${int(v.refreshes)} | ${int(v.refreshMinted)} | ${ratio(v.logins)} |`);

  add('', '### Node start', '',
    `${node.start.runs} fresh Node ${node.start.node} processes per variant, taking turns; the median (min to max). From the first line of the`,
    'script: import to a ready client, and import to the first authenticated response with the token already stored where',
    'the library can store one (caspio-auth: `fileStorage`; @badgateway/oauth2-client: its `getStoredToken` hook reading a',
    'JSON file; oauth4webapi stores nothing, so it logs in first).', '',
    '| variant | import to ready | import to first authenticated response | token at start | x the limit |', '| --- | ---: | ---: | --- | ---: |');
  const span = (v) => `${ms(v.medianMs)} (${v.minMs.toFixed(0)} to ${v.maxMs.toFixed(0)})`;
  for (const v of startRows) add(`| ${v.name} | ${v.ready ? span(v.ready) : '-'} | ${span(v)} | ${v.token} | ${v.ratio.toFixed(2)} |`);

  add('', '### Package size', '',
    'Installed: the package\'s own files as npm installs them, unpacked (the dependencies it declares would add theirs).',
    `Min + brotli: the package's entry, every export, bundled for Node by ${node.size.bundler} with minify, then brotli`,
    `(quality ${node.size.brotliQuality}); caspio-auth's entry loads caspio.wasm at start, so its brotli size is added.`, '',
    '| package | dependencies | installed (files) | entry, min | entry, min + brotli | caspio.wasm, brotli | total, min + brotli |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const p of sizeRows) {
    add(`| ${p.package} ${p.version} | ${p.dependencies} | ${kb(p.installedBytes)} (${p.files}) | ${kb(p.minBytes)} | ${kb(p.minBrotliBytes)} | ${p.wasmBrotliBytes ? kb(p.wasmBrotliBytes) : '-'} | ${kb(p.totalBrotliBytes)} |`);
  }
  return lines.join('\n');
}

/** Rewrites what stands between the markers of name in file; adds the markers at its end if missing. */
function replaceRegion(file, name, content) {
  const begin = `<!-- ${name}:begin -->`;
  const end = `<!-- ${name}:end -->`;
  let text = readFileSync(file, 'utf8');
  if (!text.includes(begin) || !text.includes(end)) text = text.replace(/\n*$/, `\n\n${begin}\n${end}\n`);
  const head = text.slice(0, text.indexOf(begin) + begin.length);
  const tail = text.slice(text.indexOf(end));
  writeFileSync(file, `${head}\n${content}\n${tail}`);
}

// The chart.
const W = 960;
const LABEL_END = 292; // bar labels end here
const X0 = 304; // the bars start here
const PLOT_W = 420;
const BAR_H = 20;
const BAR_STEP = 28;
const FONT = `-apple-system, BlinkMacSystemFont, 'Segoe UI', Helvetica, Arial, sans-serif`;
const INK = '#1f2328';
const MUTED = '#59636e';

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const text = (x, y, s, attrs = '') => `<text x="${x}" y="${y}"${attrs ? ' ' + attrs : ''}>${esc(s)}</text>`;

/** Tick values of a linear axis from 0 to at least top: 4 to 6 round steps. */
function linearTicks(top) {
  const steps = [0.1, 0.2, 0.25, 0.5, 1, 2, 2.5, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000];
  const step = steps.find((s) => top / s <= 5) ?? 10 ** Math.ceil(Math.log10(top / 5));
  const ticks = [];
  for (let t = 0; t < top + step * 0.999; t += step) ticks.push(Number(t.toFixed(6)));
  return ticks;
}

/**
 * One figure: a title, a note, and a bar per library. scale 'linear' (from 0) or 'log'
 * (from 1); limit: draw the limit, 1, as a dashed line.
 */
function panel(y, { title, note, scale, limit, bars, tick }) {
  const out = [];
  out.push(text(24, y + 18, title, `font-size="15" font-weight="600" fill="${INK}"`));
  out.push(text(24, y + 37, note, `font-size="12" fill="${MUTED}"`));
  const top = y + 64;
  const bottom = top + bars.length * BAR_STEP;
  const max = Math.max(...bars.map((b) => b.value), 1);
  let ticks, x;
  if (scale === 'log') {
    const decades = Math.max(1, Math.ceil(Math.log10(max) - 1e-9));
    ticks = Array.from({ length: decades + 1 }, (_, i) => 10 ** i);
    x = (v) => X0 + (Math.log10(Math.max(v, 1)) / decades) * PLOT_W;
  } else {
    ticks = linearTicks(max * 1.08);
    const end = ticks[ticks.length - 1];
    x = (v) => X0 + (v / end) * PLOT_W;
  }
  for (const t of ticks) {
    const tx = x(t).toFixed(1);
    out.push(`<line x1="${tx}" y1="${top - 6}" x2="${tx}" y2="${bottom}" stroke="#e6e9ed" stroke-width="1"/>`);
    out.push(text(tx, bottom + 16, tick(t), `font-size="11" fill="${MUTED}" text-anchor="middle"`));
  }
  out.push(`<line x1="${X0}" y1="${bottom}" x2="${X0 + PLOT_W}" y2="${bottom}" stroke="#afb8c1" stroke-width="1"/>`);
  // The limit over the bars, so that it shows where 1 falls inside a longer bar; the values
  // over the line.
  const values = [];
  bars.forEach((b, i) => {
    const by = top + i * BAR_STEP;
    const lib = LIBRARIES[b.id];
    const width = Math.max(x(b.value) - X0, 3); // a bar at the axis' origin stays visible
    out.push(text(LABEL_END, by + BAR_H / 2 + 4, lib.label, `font-size="13" fill="${INK}" text-anchor="end"`));
    out.push(`<rect x="${X0}" y="${by}" width="${width.toFixed(1)}" height="${BAR_H}" rx="3" fill="${lib.color}"/>`);
    // A white box behind the value, as wide as 12px text of this length at most, hides the
    // lines behind it.
    const vx = X0 + width + 7;
    values.push(`<rect x="${(vx - 3).toFixed(1)}" y="${by + 2}" width="${(b.label.length * 6.8 + 6).toFixed(1)}" height="${BAR_H - 4}" fill="#ffffff"/>`);
    values.push(text(vx.toFixed(1), by + BAR_H / 2 + 4, b.label, `font-size="12" fill="${INK}"`));
  });
  if (limit) {
    const lx = x(1).toFixed(1);
    out.push(`<line x1="${lx}" y1="${top - 8}" x2="${lx}" y2="${bottom}" stroke="${INK}" stroke-width="1.5" stroke-dasharray="4 3"/>`);
    out.push(text(lx, top - 12, 'limit', `font-size="11" fill="${INK}" text-anchor="middle"`));
  }
  out.push(...values);
  return { svg: out.join('\n'), height: bottom + 30 - y };
}

function chart() {
  const times = (r) => ratio(r).replace(/x$/, '×');
  const cpuBar = (v) => ({ id: v.id, value: v.ratio, label: `${times(v.ratio)} · ${us(v.medianUs)}` });
  const panels = [
    {
      title: `CPU per request under load (${int(counts.requests)} requests at concurrency ${counts.concurrency}, ${counts.rounds} rounds)`,
      note: `Ratio to plain requests with a fixed header in the same runtime (Node ${us(byId(node.cpu.variants, 'plain').medianUs)}, Go ${us(byId(go.cpu.variants, 'go-plain').medianUs)} per request)`,
      scale: 'linear', limit: true, tick: (t) => `${t}×`,
      bars: cpuRows.filter((v) => LIBRARIES[v.id]).map(cpuBar),
    },
    {
      title: `Token requests for ${int(counts.callers)} concurrent cold callers`,
      note: 'Ratio to the limit, 1 token request (one token, shared by all callers); log scale',
      scale: 'log', limit: true, tick: (t) => `${int(t)}×`,
      bars: coldRows.map((v) => ({ id: v.id, value: v.tokenRequests, label: `${times(v.tokenRequests)} · ${plural(v.tokenRequests, 'token request')}` })),
    },
    {
      title: `Logins over ${int(counts.starts)} hourly restarts`,
      note: 'Ratio to the limit, 1 login; each start is a new client, its token kept where the library can keep it; log scale',
      scale: 'log', limit: true, tick: (t) => `${int(t)}×`,
      bars: restartRows.map((v) => ({ id: v.id, value: v.logins, label: `${times(v.logins)} · ${plural(v.logins, 'login')}${v.refreshes ? `, ${plural(v.refreshes, 'refresh', 'refreshes')}` : ''}` })),
    },
    {
      title: 'Node: import to the first authenticated response',
      note: `Ratio to plain fetch with a fixed header (${ms(plainStart)}); token stored where the library can store one (oauth4webapi logs in); median of ${node.start.runs} runs`,
      scale: 'linear', limit: true, tick: (t) => `${t}×`,
      bars: startRows.filter((v) => LIBRARIES[v.id]).map((v) => ({ id: v.id, value: v.ratio, label: `${times(v.ratio)} · ${ms(v.medianMs)}` })),
    },
    {
      title: 'Package size, min + brotli',
      note: 'KB of the entry bundled for Node, minified and brotli-compressed (caspio-auth: with caspio.wasm); plain fetch ships nothing',
      scale: 'linear', limit: false, tick: (t) => `${t} KB`,
      bars: sizeRows.map((p) => ({
        id: p.id, value: p.totalBrotliBytes / 1000,
        label: p.wasmBrotliBytes ? `${kb(p.totalBrotliBytes)} (JS ${kb(p.minBrotliBytes)} + caspio.wasm ${kb(p.wasmBrotliBytes)})` : kb(p.totalBrotliBytes),
      })),
    },
  ];

  const head = [];
  let y = 20;
  head.push(text(24, y + 22, 'caspio-auth beside what users would pick instead', `font-size="20" font-weight="600" fill="${INK}"`));
  head.push(text(24, y + 44, 'Lower is better. Each figure is a ratio to the limit, plain requests with a fixed Authorization header (= 1, dashed).', `font-size="13" fill="${INK}"`));
  head.push(text(24, y + 62, `One run of ./build.sh bench on ${date}: ${machine}. Tables: BENCHMARKS.md.`, `font-size="12" fill="${MUTED}"`));
  y += 70;
  if (smoke) {
    head.push(text(24, y + 14, 'SMOKE RUN with reduced counts: these bars only show that the benchmarks work, not figures to quote.', `font-size="13" font-weight="600" fill="#cf222e"`));
    y += 22;
  }
  y += 14;
  const body = [];
  for (const p of panels) {
    const drawn = panel(y, p);
    body.push(`<g>\n${drawn.svg}\n</g>`);
    y += drawn.height + 14;
  }
  const height = Math.ceil(y + 6);
  const summary = 'caspio-auth beside @badgateway/oauth2-client, oauth4webapi and golang.org/x/oauth2: ratios to plain requests with a fixed Authorization header';
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" role="img" aria-labelledby="title">
<title id="title">${esc(summary)}</title>
<!-- Generated by tests/bench/report.mjs from one run of ./build.sh bench; do not edit. -->
<rect x="0.5" y="0.5" width="${W - 1}" height="${height - 1}" rx="8" fill="#ffffff" stroke="#d1d9e0"/>
<g font-family="${esc(FONT)}">
${head.join('\n')}
${body.join('\n')}
</g>
</svg>
`;
}

replaceRegion(args.benchmarks, 'peers', markdown());
writeFileSync(args.svg, chart());
console.log(`report: ${smoke ? 'smoke-run ' : ''}peer tables written to ${args.benchmarks}, chart to ${args.svg}`);
