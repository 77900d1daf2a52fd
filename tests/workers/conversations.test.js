// The conversation vectors (tests/vectors/conversations) in workerd, through Miniflare: a
// Worker bundled as wrangler bundles one (the package's "workerd" entry, caspio.wasm a
// module import) runs a case per request with tests/vectors/conversations/runner.js, the
// runner of Node and Chromium, so that the calls of a case share their request's timers
// and I/O. Every case that is not core_only runs, twice: one request after another, then all
// at once, so that one Go instance serves dozens of concurrent requests, each waiting on its
// own fetches, storage and timers (the hazard of docs/design.md: Go never awaits). With
// CASPIO_RELIABILITY_DIR set, the outcomes are written to workerd.json.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { Miniflare } from 'miniflare';
import { within } from './js-proxy-helpers.js';
import { FILES } from '../vectors/conversations/runner.js';
import { recordOutcomes } from '../js/helpers/reliability.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const vectors = join(root, 'tests', 'vectors', 'conversations');

const WORKER = `
import * as caspio from 'caspio-auth';
import { FILES, runConversations } from ${JSON.stringify(join(vectors, 'runner.js'))};
${FILES.map((f, i) => `import f${i} from ${JSON.stringify(join(vectors, f))};`).join('\n')}
const files = { ${FILES.map((f, i) => `${JSON.stringify(f)}: f${i}`).join(', ')} };

export default {
  async fetch(request) {
    const q = new URL(request.url).searchParams;
    const results = await runConversations({ caspio, files, select: (file, c) => file === q.get('file') && c.name === q.get('name') });
    return Response.json(results);
  },
};
`;

let dir;
let mf;
let output = '';
const cases = [];

before(async () => {
  for (const file of FILES) {
    for (const c of JSON.parse(await readFile(join(vectors, file), 'utf8')).cases) if (!c.core_only) cases.push({ file, name: c.name });
  }
  dir = await mkdtemp(join(tmpdir(), 'caspio-workers-conversations-'));
  await writeFile(join(dir, 'worker.js'), WORKER);
  await build({
    entryPoints: { index: join(dir, 'worker.js') },
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    conditions: ['workerd', 'worker', 'browser'],
    external: ['cloudflare:*'],
    loader: { '.wasm': 'copy' },
    nodePaths: [join(root, 'node_modules')], // caspio-auth: the package in js/, through its exports map
    outdir: join(dir, 'dist'),
    logLevel: 'error',
  });
  mf = new Miniflare({
    modulesRoot: join(dir, 'dist'),
    scriptPath: join(dir, 'dist', 'index.js'),
    modules: true,
    modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }, { type: 'ESModule', include: ['**/*.js'] }],
    compatibilityDate: '2026-04-01',
    handleRuntimeStdio(stdout, stderr) {
      stdout.setEncoding('utf8').on('data', (d) => { output += d; });
      stderr.setEncoding('utf8').on('data', (d) => { output += d; });
    },
  });
  await mf.ready;
});

after(async () => {
  await mf?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Runs one case in its own request. */
async function play({ file, name }) {
  const res = await within(60_000, mf.dispatchFetch(`http://conversations/?${new URLSearchParams({ file, name })}`), `${file}#${name}`);
  const text = await res.text();
  assert.equal(res.status, 200, `${name}: ${text}\n${output}`);
  const [result] = JSON.parse(text);
  assert.ok(result, `${name}: no result`);
  return result;
}

test('the conversation vectors in workerd, a request per case', async (t) => {
  const results = [];
  for (const c of cases) results.push(await play(c));
  for (const r of results) await t.test(`${r.file.replace('.json', '')}: ${r.name}`, () => assert.ok(r.ok, r.message));
  await recordOutcomes('workerd', results);
  t.diagnostic(`${results.filter((r) => r.ok).length} of ${results.length} cases end as in the core`);
});

test('the conversation vectors in workerd, every case at once: one Go instance, concurrent requests', async (t) => {
  // No request may wait on another's I/O: workerd cancels such a request as hung, and its
  // case then fails here. The time taken is shown, not judged: it depends on the machine.
  const started = performance.now();
  const results = await Promise.all(cases.map(play));
  const failed = results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.message}`);
  assert.deepEqual(failed, []);
  t.diagnostic(`${results.length} concurrent cases in ${Math.round(performance.now() - started)} ms`);
});
