// The shared vectors of tests/vectors in Chromium: a page imports the browser entry (through
// an import map, as a page without a bundler does) and runs every vector file through the
// package's public API by tests/vectors/runner.js, as tests/js/vectors.test.js does in Node.
// Every case must pass, with the same cases and results as in Node, and as many cases per
// file as the Go suite (vectors_test.go) runs against the core.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as caspio from 'caspio-auth';
import { launchChromium, collectErrors } from './helpers/chromium.js';
import { startStaticServer } from './helpers/server.js';
import { FILES, runVectors } from '../vectors/runner.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** The Go suite's test of each vector file. */
const GO_TESTS = {
  'api_errors.json': 'TestVectorsAPIErrors',
  'config.json': 'TestVectorsConfig',
  'decisions.json': 'TestVectorsDecisions',
  'records.json': 'TestVectorsRecords',
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
  const files = {};
  for (const file of FILES) files[file] = JSON.parse(await readFile(new URL(`../vectors/${file}`, import.meta.url), 'utf8'));
  return runVectors({ caspio, files });
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
    const results = await page.evaluate(() => globalThis.results);
    assert.ok(Array.isArray(results), `the page failed: ${JSON.stringify(results)}`);

    for (const file of FILES) {
      await t.test(file, async (t) => {
        for (const r of results.filter((x) => x.file === file)) await t.test(r.name, () => assert.ok(r.ok, r.message));
      });
    }
    const [node, go] = await Promise.all([nodeResults(), goCounts()]);
    await t.test('the same cases and results as in Node', () => assert.deepEqual(results, node));
    const perFile = {};
    for (const r of results) perFile[r.file] = (perFile[r.file] ?? 0) + 1;
    await t.test('as many cases per file as in Go', () => {
      for (const file of FILES) assert.equal(perFile[file], go[GO_TESTS[file]], `${file}: cases in Chromium and in Go`);
    });
    const passed = results.filter((r) => r.ok).length;
    t.diagnostic(`${passed} of ${results.length} cases in ${FILES.length} files pass in Chromium: ${FILES.map((f) => `${f} ${perFile[f]}`).join(', ')}`);
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
  }
});
