// The JS proxy's configuration with the placeholder that proxy/wrangler.jsonc ships still in
// place: the problem says it is a placeholder, not what its characters are.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { loadProxy } from '../../proxy/src/config.js';

test('the shipped placeholder Client ID is named as a placeholder', async (t) => {
  const wrangler = await readFile(new URL('../../proxy/wrangler.jsonc', import.meta.url), 'utf8');
  const shipped = /"CASPIO_CLIENT_ID":\s*"([^"]*)"/.exec(wrangler)?.[1];
  assert.match(shipped ?? '', /^<.+>$/, 'wrangler.jsonc ships a placeholder in angle brackets');
  t.mock.method(console, 'log', () => {}); // loadProxy logs each problem
  const env = {
    CASPIO_INTEGRATION_URL: 'https://c1abc123.caspio.com',
    CASPIO_CLIENT_SECRET: 'a-secret-of-the-profile',
    PROXY_ALLOW: 'PUBLIC GET /tables/Orders/records',
  };
  const cases = [
    [shipped, "CASPIO_CLIENT_ID still holds the placeholder of wrangler.jsonc (text in angle brackets); replace it with the Client ID of the account's Web services profile"],
    ['an id with spaces', 'CASPIO_CLIENT_ID has a space at character 3 of 17; copy the Client ID again without surrounding white space'],
  ];
  for (const [clientId, want] of cases) {
    const proxy = await loadProxy({ ...env, CASPIO_CLIENT_ID: clientId });
    assert.deepEqual(proxy.problems, [want]);
    proxy.client?.close();
  }
});
