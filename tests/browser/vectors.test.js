// The shared vectors of tests/vectors in Chromium: a page starts the core from
// /pkg/core.js (through an import map, as the browser entry does) and runs the vector files
// that a driver reaches through the core's exports (tests/js/helpers/core-api.js) through
// tests/vectors/runner.js, as tests/js/vectors.test.js does in Node. Every such case must
// pass, with the same cases and results as in Node, and as many cases per file as the Go
// suite (vectors_test.go) runs natively.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { launchChromium, collectErrors } from './helpers/chromium.js';
import { startStaticServer } from './helpers/server.js';
import { startCore } from '../../js/core.js';
import { CaspioError } from '../../js/errors.js';
import { FILES, runVectors } from '../vectors/runner.js';
import { REACHABLE, coreAPI } from '../js/helpers/core-api.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** The Go suite's test of each vector file. */
const GO_TESTS = {
  'api_errors.json': 'TestVectorsAPIErrors',
  'config.json': 'TestVectorsConfig',
  'decisions.json': 'TestVectorsDecisions',
  'resolve.json': 'TestVectorsResolve',
  'retry_after.json': 'TestVectorsRetryAfter',
  'states.json': 'TestVectorsStates',
  'token_requests.json': 'TestVectorsTokenRequests',
  'token_responses.json': 'TestVectorsTokenResponses',
  'unauthorized.json': 'TestVectorsUnauthorized',
};

let browser;
let server;
before(async () => {
  [browser, server] = await Promise.all([launchChromium(), startStaticServer()]);
});
after(async () => {
  await browser?.close();
  await server?.close();
});

/** The runner's results in Node, as tests/js/vectors.test.js gets them. */
async function nodeResults() {
  const core = await startCore(async () => WebAssembly.compile(await readFile(new URL('../../js/caspio.wasm', import.meta.url))));
  const files = {};
  for (const file of FILES) files[file] = JSON.parse(await readFile(new URL(`../vectors/${file}`, import.meta.url), 'utf8'));
  return runVectors({ core: coreAPI(core), CaspioError, files });
}

/** Passed subtests per Go vector test, from go test -json. */
async function goCounts() {
  const { stdout } = await promisify(execFile)('go', ['test', '-count=1', '-run', '^TestVectors', '-json', '.'], { cwd: root, maxBuffer: 64 << 20 });
  const counts = {};
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const e = JSON.parse(line);
    const [top, sub] = (e.Test ?? '').split('/');
    if (e.Action === 'fail') assert.fail(`go test: ${e.Test} failed`);
    if (e.Action === 'pass' && sub !== undefined) counts[top] = (counts[top] ?? 0) + 1;
  }
  return counts;
}

test('every vector passes in Chromium, as in Node and Go', async (t) => {
  const page = await browser.newPage();
  const errors = collectErrors(page);
  try {
    await page.goto(`${server.url}/pages/vectors.html`);
    await page.waitForFunction(() => globalThis.results !== undefined);
    const all = await page.evaluate(() => globalThis.results);
    assert.ok(Array.isArray(all), `the page failed: ${JSON.stringify(all)}`);
    const results = all.filter((r) => REACHABLE.includes(r.file));

    const failed = results.filter((r) => !r.ok).map((r) => `${r.file} ${r.name}: ${r.message}`);
    assert.deepEqual(failed, []);
    assert.deepEqual(all, await nodeResults(), 'the same cases and results as in Node');

    const perFile = {};
    for (const r of results) perFile[r.file] = (perFile[r.file] ?? 0) + 1;
    const go = await goCounts();
    for (const file of REACHABLE) {
      assert.equal(perFile[file], go[GO_TESTS[file]], `${file}: cases in Chromium and in Go`);
    }
    assert.ok(results.length > 100, `only ${results.length} cases`);
    t.diagnostic(`${results.length} cases in ${REACHABLE.length} files pass in Chromium, Node and Go: ${REACHABLE.map((f) => `${f} ${perFile[f]}`).join(', ')}`);
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
  }
});
