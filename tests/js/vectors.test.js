// The shared vectors of tests/vectors, run through the WebAssembly core as the JS shim
// drives it, by tests/vectors/runner.js: tests/browser/vectors.test.js runs the same runner
// in Chromium, and vectors_test.go runs the same files natively. The results must be the
// same everywhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { startCore } from '../../js/core.js';
import { CaspioError } from '../../js/errors.js';
import { FILES, runVectors } from '../vectors/runner.js';

const dir = new URL('../vectors/', import.meta.url);
const core = await startCore(async () => WebAssembly.compile(await readFile(new URL('../../js/caspio.wasm', import.meta.url))));

const files = {};
for (const file of FILES) files[file] = JSON.parse(await readFile(new URL(file, dir), 'utf8'));
const results = runVectors({ core, CaspioError, files });

test('every vector file has a runner here', async () => {
  const found = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  assert.deepEqual(found, [...FILES].sort());
});

for (const file of [...FILES].sort((a, b) => order(a) - order(b))) {
  test(file, async (t) => {
    const mine = results.filter((r) => r.file === file);
    assert.equal(mine.length, files[file].cases.length, `${file}: one result per case`);
    for (const r of mine) {
      await t.test(r.name, () => assert.ok(r.ok, r.message));
    }
  });
}

/** The order the suites ran in before runner.js, so that the report reads the same. */
function order(file) {
  return ['config.json', 'token_requests.json', 'token_responses.json', 'decisions.json', 'unauthorized.json',
    'resolve.json', 'states.json', 'api_errors.json', 'retry_after.json'].indexOf(file);
}
