// The conversation vectors (tests/vectors/conversations) replayed through the npm package in
// Node, by the runner Chromium and workerd run too: every case that is not core_only must
// end as its outcome says. With CASPIO_RELIABILITY_DIR set, the outcomes are written to
// $CASPIO_RELIABILITY_DIR/node.json for RELIABILITY.md (./build.sh reliability).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import * as caspio from 'caspio-auth';
import { FILES, runConversations } from '../vectors/conversations/runner.js';
import { recordOutcomes } from './helpers/reliability.js';

const dir = new URL('../vectors/conversations/', import.meta.url);
const files = {};
for (const file of FILES) files[file] = JSON.parse(await readFile(new URL(file, dir), 'utf8'));

test('every conversation file has a place in the runner', async () => {
  const found = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  assert.deepEqual(found, [...FILES].sort());
});

test('the conversation vectors, replayed in Node', async (t) => {
  const results = await runConversations({ caspio, files });
  assert.ok(results.length >= 50, `only ${results.length} cases`);
  for (const r of results) await t.test(`${r.file.replace('.json', '')}: ${r.name}`, () => assert.ok(r.ok, r.message));
  await recordOutcomes('node', results);
  t.diagnostic(`${results.filter((r) => r.ok).length} of ${results.length} cases end as in the core`);
});
