// Writes the table of the conversation vectors' outcomes per runtime into RELIABILITY.md,
// between the lines <!-- conversations:begin --> and <!-- conversations:end --> (added at
// the end of the file when missing); the rest of the file stays as it is.
//
//   node tests/vectors/conversations/report.mjs DIR [RELIABILITY.md]
//
// DIR holds one <runtime>.json per runtime, as the runners write them when
// CASPIO_RELIABILITY_DIR is set: {"runtime", "cases": {"<file>#<case name>": {"outcome":
// "recovered" or the error's code, per call, joined with ", "; "token_requests":
// {"client_credentials", "refresh_token"}; "resource_requests" (optional)}}}. Each cell is
// compared with the vector's own outcome, which the core's runner checks step by step: a
// cell that differs is marked, and so is its row.
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The runtimes in the order of their columns; others follow by name. */
const ORDER = ['go-core', 'go-client', 'node', 'chromium', 'workerd', 'chromium-fetch'];

const NOTES = {
  'go-core': 'the Machine, step by step (conversation_test.go)',
  'go-client': 'the Go client over net/http (client/)',
  node: 'the npm package in Node, a scripted fetch',
  chromium: 'the npm package in Chromium, a scripted fetch',
  workerd: 'the npm package in workerd (Miniflare), a request per case',
  'chromium-fetch': 'redirects.json in Chromium with the browser\'s own fetch, which follows redirects itself and hides them from the client: where it differs, it is the browser that decides',
};

const [dir, target = 'RELIABILITY.md'] = process.argv.slice(2);
if (!dir) {
  console.error('usage: node tests/vectors/conversations/report.mjs DIR [RELIABILITY.md]');
  process.exit(2);
}
const here = new URL('./', import.meta.url);

// The cases, in file order, with the outcome each vector states.
const expected = new Map();
for (const file of (await readdir(here)).filter((f) => f.endsWith('.json')).sort()) {
  for (const c of JSON.parse(await readFile(new URL(file, here), 'utf8')).cases) {
    const calls = c.script.filter((e) => e.start).map((e) => c.outcome.calls[e.start]?.result);
    expected.set(`${file}#${c.name}`, {
      coreOnly: Boolean(c.core_only),
      outcome: calls.join(', '),
      token_requests: { client_credentials: c.outcome.token_requests?.client_credentials ?? 0, refresh_token: c.outcome.token_requests?.refresh_token ?? 0 },
      resource_requests: c.outcome.resource_requests,
    });
  }
}

const runs = {};
for (const name of (await readdir(dir)).filter((f) => f.endsWith('.json'))) {
  const run = JSON.parse(await readFile(join(dir, name), 'utf8'));
  runs[run.runtime ?? name.replace(/\.json$/, '')] = run.cases ?? {};
}
const runtimes = Object.keys(runs).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
if (runtimes.length === 0) {
  console.error(`report.mjs: no <runtime>.json in ${dir}`);
  process.exit(1);
}

const cell = (r) => `${r.outcome} · ${r.token_requests?.client_credentials ?? 0} cc, ${r.token_requests?.refresh_token ?? 0} rt`;
const same = (r, want) => r.outcome === want.outcome &&
  (r.token_requests?.client_credentials ?? 0) === want.token_requests.client_credentials &&
  (r.token_requests?.refresh_token ?? 0) === want.token_requests.refresh_token &&
  (r.resource_requests === undefined || want.resource_requests === undefined || r.resource_requests === want.resource_requests);

const rows = [];
const differ = {};
let played = 0;
for (const [key, want] of expected) {
  const cells = runtimes.map((rt) => {
    const r = runs[rt][key];
    if (!r) return want.coreOnly && rt !== 'go-core' ? 'core only' : '–';
    played++;
    if (same(r, want)) return cell(r);
    (differ[rt] ??= []).push(key);
    return `**≠ ${cell(r)}**`;
  });
  const marked = cells.some((c) => c.startsWith('**'));
  const [file, name] = key.split('#');
  rows.push(`| ${marked ? '**≠** ' : ''}${file.replace('.json', '')}: ${name.replace(/\|/g, '\\|')} | ${cell(want)} | ${cells.join(' | ')} |`);
}

const date = new Date().toISOString().slice(0, 10);
const agree = runtimes.filter((rt) => !differ[rt]);
const lines = [
  `Last run: ${date}, \`./build.sh reliability\`: ${expected.size} cases, ${played} replays in ${runtimes.length} runtimes.`,
  '',
  'Each cell: the outcome of each call of the case ("recovered", or the error\'s code), and the token requests by grant (cc: client_credentials, rt: refresh_token). "expected" is the vector\'s outcome; a cell marked ≠ differs from it (the resource requests are compared too), "–" is a case its runtime did not play.',
  '',
  ...runtimes.map((rt) => `- ${rt}: ${NOTES[rt] ?? 'a runner\'s results'}; ${differ[rt] ? `**differs on ${differ[rt].length} case${differ[rt].length > 1 ? 's' : ''}**` : 'as expected on every case it played'}.`),
  '',
  `| case | expected | ${runtimes.join(' | ')} |`,
  `| --- | --- | ${runtimes.map(() => '---').join(' | ')} |`,
  ...rows,
  '',
  agree.length === runtimes.length ? 'Every runtime ends every case it played as the vectors say.'
    : `As the vectors say on every case they played: ${agree.join(', ') || 'none'}.`,
];

const begin = '<!-- conversations:begin -->';
const end = '<!-- conversations:end -->';
let text = await readFile(target, 'utf8').catch(() => '# Reliability\n');
if (!text.includes(begin) || !text.includes(end)) text = `${text.trimEnd()}\n\n${begin}\n${end}\n`;
const before = text.slice(0, text.indexOf(begin) + begin.length);
const after = text.slice(text.indexOf(end));
await writeFile(target, `${before}\n${lines.join('\n')}\n${after}`);
console.log(`report.mjs: ${target}: ${expected.size} cases x ${runtimes.length} runtimes (${runtimes.join(', ')})${Object.keys(differ).length ? `; differ: ${Object.entries(differ).map(([rt, k]) => `${rt} ${k.length}`).join(', ')}` : ''}`);

function rank(runtime) {
  const i = ORDER.indexOf(runtime);
  return i < 0 ? ORDER.length : i;
}
