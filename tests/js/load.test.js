// Many concurrent requests: one token request for 1,000 first calls, and exactly one
// refresh for 5,000 requests across a token expiry.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from 'caspio-auth';
import { startSandbox } from './helpers/sandbox.js';
import { eventLog } from './helpers/recorder.js';

let sandbox;
before(async () => { sandbox = await startSandbox(); });
after(async () => { await sandbox?.stop(); });
beforeEach(async () => { await sandbox.reset(); });

test('1,000 concurrent first fetch calls make one token request', async () => {
  const log = eventLog();
  const client = await createClient(sandbox.options({ onEvent: log.onEvent }));
  const statuses = await Promise.all(Array.from({ length: 1000 }, async () => {
    const res = await client.fetch('tables');
    await res.arrayBuffer();
    return res.status;
  }));
  assert.deepEqual(new Set(statuses), new Set([200]));
  assert.deepEqual((await sandbox.stats()).token_requests, { client_credentials: 1 });
  assert.deepEqual(log.types(), ['token_request', 'login']);
  assert.equal((await sandbox.stats()).resource_requests, 1000);
  client.close();
});

test('5,000 fetches, 50 at a time, across a token expiry: no failure, exactly one refresh', async () => {
  const client = await createClient(sandbox.options());
  const total = 5000;
  let next = 0;
  let done = 0;
  let advanced;
  const failures = [];
  const worker = async () => {
    while (next < total) {
      const i = next++;
      if (i === total / 2) advanced = sandbox.advance('25h'); // every token in flight expires
      const res = await client.fetch(`tables/Products/records?q.limit=1&i=${i % 10}`);
      await res.arrayBuffer();
      if (res.status !== 200) failures.push(res.status);
      done++;
    }
  };
  await Promise.all(Array.from({ length: 50 }, worker));
  await advanced;
  assert.equal(done, total);
  assert.deepEqual(failures, []);
  const stats = await sandbox.stats();
  assert.deepEqual(stats.token_requests, { client_credentials: 1, refresh_token: 1 });
  assert.ok(stats.unauthorized >= 1, 'the expiry was seen');
  assert.equal(client.stats().refreshes, 1);
  assert.equal(client.stats().unauthorizedRetries, stats.unauthorized);
  client.close();
});
