// The shared vectors of tests/vectors, run through the WebAssembly core by
// tests/vectors/runner.js, over the core functions a driver reaches through the core's
// conversation exports (helpers/core-api.js says which files those are, and where the others
// run). tests/browser/vectors.test.js runs the same in Chromium, and vectors_test.go every
// file natively. The results must be the same everywhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { startCore } from '../../js/core.js';
import { CaspioError } from '../../js/errors.js';
import { FILES, runVectors } from '../vectors/runner.js';
import { REACHABLE, coreAPI } from './helpers/core-api.js';

const dir = new URL('../vectors/', import.meta.url);
const core = await startCore(async () => WebAssembly.compile(await readFile(new URL('../../js/caspio.wasm', import.meta.url))));

const files = {};
for (const file of FILES) files[file] = JSON.parse(await readFile(new URL(file, dir), 'utf8'));
const results = runVectors({ core: coreAPI(core), CaspioError, files });

test('every vector file has a runner here', async () => {
  const found = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  assert.deepEqual(found, [...FILES].sort());
});

for (const file of REACHABLE) {
  test(file, async (t) => {
    const mine = results.filter((r) => r.file === file);
    assert.equal(mine.length, files[file].cases.length, `${file}: one result per case`);
    for (const r of mine) {
      await t.test(r.name, () => assert.ok(r.ok, r.message));
    }
  });
}
