// The conversation vectors (tests/vectors/conversations) in Chromium, through the browser
// entry and the runner Node and workerd use. Two passes in one page:
// - every case that is not core_only, with a scripted fetch as in Node: the outcomes must be
//   those of the vectors, and the same as in Node;
// - the cases of redirects.json with the browser's own fetch against local servers (the
//   platform follows redirects and hides them from the client; the only ones it changes).
//   Their outcomes are recorded as the runtime "chromium-fetch", not asserted: where the
//   browser decides (a loop, a refused Location, the manual and error modes, a stream body)
//   it answers as browsers do, not as the core does. And the client sees only the last
//   response: a 401 from a redirect's target on the resource origin (where the browser keeps
//   the token) reads as a 401 to the token. The test checks that what the browser follows
//   ends as the vectors do.
// With CASPIO_RELIABILITY_DIR set, both are written there (chromium.json, chromium-fetch.json).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import * as caspio from 'caspio-auth';
import { launchChromium, collectErrors } from './helpers/chromium.js';
import { startScriptServers } from './helpers/script-server.js';
import { FILES, runConversations } from '../vectors/conversations/runner.js';
import { recordOutcomes } from '../js/helpers/reliability.js';

let browser;
let servers;
before(async () => {
  [browser, servers] = await Promise.all([launchChromium(), startScriptServers()]);
});
after(async () => {
  await browser?.close();
  await servers?.close();
});

/** The cases whose redirects a browser follows as the core does. */
const FOLLOWED = [
  'redirect off the resource origin and back', 'redirect 303 after a POST: a GET without the body',
  'redirect 302 after a POST: a GET; 302 after a PUT: kept', 'redirect 308 keeps the method and the body',
  'resource reference off the REST base: refused before any step',
  // The browser follows it itself; the send result says where the 401 came from, and the
  // core hands it back without a refresh, as where the core follows the redirect.
  'redirect on the origin but off the REST base: no bearer token',
];

test('the conversation vectors in Chromium: scripted as in Node, and redirects through the browser\'s fetch', async (t) => {
  const page = await browser.newPage();
  const errors = collectErrors(page);
  try {
    await page.goto(`${servers.url}/pages/conversations.html`);
    await page.waitForFunction(() => globalThis.results !== undefined);
    const { scripted, platform, error } = await page.evaluate(async () => globalThis.results, undefined, { timeout: 300_000 });
    assert.equal(error, undefined, `the page failed: ${error}`);

    for (const r of scripted) await t.test(`${r.file.replace('.json', '')}: ${r.name}`, () => assert.ok(r.ok, r.message));
    const files = {};
    for (const file of FILES) files[file] = JSON.parse(await readFile(new URL(`../vectors/conversations/${file}`, import.meta.url), 'utf8'));
    const node = await runConversations({ caspio, files });
    const outcomes = (results) => results.map((r) => [r.file, r.name, r.outcome]);
    assert.deepEqual(outcomes(scripted), outcomes(node), 'the same cases and outcomes as in Node');

    const byName = Object.fromEntries(platform.map((r) => [r.name, r]));
    assert.equal(platform.length, files['redirects.json'].cases.filter((c) => !c.core_only).length);
    for (const name of FOLLOWED) assert.ok(byName[name]?.ok, `${name}: ${byName[name]?.message}`);
    const differ = platform.filter((r) => !r.ok).map((r) => `${r.name}: ${r.message}`);
    t.diagnostic(`${scripted.length} cases scripted, as in Node; redirects through the browser's fetch: ${platform.length - differ.length} as in the core, ${differ.length} as browsers do:\n${differ.join('\n')}`);
    await recordOutcomes('chromium', scripted);
    await recordOutcomes('chromium-fetch', platform);
    // Chromium logs the requests it refused (a javascript: Location, a stream over HTTP/1.1).
    assert.deepEqual(errors.filter((e) => !/Failed to load resource|ERR_|blocked by CORS policy/.test(e)), []);
  } finally {
    await page.close();
  }
});
