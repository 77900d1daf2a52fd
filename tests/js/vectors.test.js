// The shared vectors of tests/vectors in Node, through the npm package's public API
// (createClient with a scripted fetch, storage and clock; apiErrorFromResponse), by
// tests/vectors/runner.js: every case of every file. tests/browser/vectors.test.js runs the
// same in Chromium, tests/workers/package.test.js in workerd, and vectors_test.go every file
// against the core. The results must be the same everywhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import * as caspio from 'caspio-auth';
import { FILES, runVectors } from '../vectors/runner.js';

const dir = new URL('../vectors/', import.meta.url);
const files = {};
for (const file of FILES) files[file] = JSON.parse(await readFile(new URL(file, dir), 'utf8'));
const results = await runVectors({ caspio, files });

test('every vector file has a runner here', async () => {
  const found = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  assert.deepEqual(found, [...FILES].sort());
});

for (const file of FILES) {
  test(file, async (t) => {
    const mine = results.filter((r) => r.file === file);
    assert.equal(mine.length, files[file].cases.length, `${file}: one result per case`);
    for (const r of mine) {
      await t.test(r.name, () => assert.ok(r.ok, r.message));
    }
  });
}
