// Records through the JS client against the sandbox: iterating all of Orders on v2 and v3,
// a filter and an order, stopping early, a 429 and a 401 mid-iteration, writes with and
// without returned rows, and the bad inputs. The paging rules themselves are the core's
// and the shared vectors (tests/vectors/records.json) check them in every runtime.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { createClient, CaspioAPIError, CaspioConfigError } from 'caspio-auth';
import { startSandbox } from './helpers/sandbox.js';

let sandbox;
before(async () => { sandbox = await startSandbox(); });
after(async () => { await sandbox?.stop(); });
beforeEach(async () => { await sandbox.reset(); });

/** A client whose fetch counts the records reads it sends. */
async function client(extra = {}) {
  const sent = [];
  const events = [];
  const c = await createClient(sandbox.options({
    fetch: (url, init) => { if (String(url).includes('/records')) sent.push({ url: String(url), method: init?.method ?? 'GET' }); return fetch(url, init); },
    onEvent: (e) => events.push(e),
    ...extra,
  }));
  return { c, sent, events };
}

for (const apiVersion of ['v2', 'v3']) {
  test(`every Order once, in PK_ID order, on ${apiVersion}`, async () => {
    const { c, sent } = await client({ apiVersion });
    const keys = [];
    for await (const row of c.records('Orders')) keys.push(row.PK_ID);
    assert.equal(keys.length, 2500);
    keys.forEach((k, i) => assert.equal(k, i + 1));
    assert.equal(sent.length, 3, 'pages of 1,000, the last one short');
    c.close();
  });
}

test('a filter in key order, and the caller\'s order with a limit', async () => {
  const { c } = await client({ apiVersion: 'v3' });
  const all = await c.records('Orders').toArray();
  const shipped = await c.records('Orders', { where: "Status = 'Shipped'", select: ['PK_ID', 'Total'], pageSize: 50 }).toArray();
  assert.deepEqual(shipped.map((r) => r.PK_ID), all.filter((r) => r.Status === 'Shipped').map((r) => r.PK_ID));
  assert.deepEqual(Object.keys(shipped[0]).sort(), ['PK_ID', 'Total']);
  const latest = await c.records('Orders', { orderBy: 'OrderDate DESC', pageSize: 500 }).toArray({ limit: 1200 });
  assert.equal(latest.length, 1200);
  for (let i = 1; i < latest.length; i++) assert.ok(latest[i - 1].OrderDate >= latest[i].OrderDate);
  const pages = [];
  for await (const page of c.records('Orders', { orderBy: 'Total', pageSize: 1000 }).pages()) pages.push([page.pageNumber, page.records.length, page.total, page.last]);
  assert.deepEqual(pages, [[1, 1000, 2500, false], [2, 1000, 2500, false], [3, 500, 2500, true]]);
  c.close();
});

test('break stops the read: no further page is fetched', async () => {
  const { c, sent } = await client();
  let n = 0;
  for await (const row of c.records('Orders', { pageSize: 100 })) {
    assert.ok(row.PK_ID);
    if (++n === 150) break;
  }
  assert.equal(sent.length, 2);
  c.close();
});

test('a 429 mid-iteration is recovered, and reported', async () => {
  const { c, sent, events } = await client();
  let n = 0;
  for await (const row of c.records('Orders')) {
    assert.equal(row.PK_ID, ++n);
    if (n === 1000) await sandbox.fault({ route: '/rest/v2/tables/Orders/records', status: 429, retry_after: '0' });
  }
  assert.equal(n, 2500);
  assert.equal(sent.length, 4);
  assert.deepEqual(events.filter((e) => e.type === 'resource_retry').map((e) => [e.status, e.attempt]), [[429, 1]]);
  c.close();
});

test('a 401 mid-iteration refreshes once', async () => {
  const { c } = await client();
  let n = 0;
  for await (const row of c.records('Orders')) {
    assert.equal(row.PK_ID, ++n);
    if (n === 1000) await sandbox.fault({ route: '/rest/v2/tables/Orders/records', status: 401 });
  }
  assert.equal(n, 2500);
  assert.deepEqual((await sandbox.stats()).token_requests, { client_credentials: 1, refresh_token: 1 });
  assert.equal(c.stats().unauthorizedRetries, 1);
  c.close();
});

test('retry: false hands a 503 back', async () => {
  const { c, sent } = await client();
  await sandbox.fault({ route: '/rest/v2/tables', status: 503, retry_after: '0' });
  const res = await c.fetch('tables', { retry: false });
  assert.equal(res.status, 503);
  await res.body?.cancel();
  assert.equal(sent.length, 0);
  c.close();
});

test('insert, update and delete, with and without returned rows', async () => {
  const { c } = await client();
  const one = await c.insertRecords('Orders', [{ CustomerID: 1, Product: 'Widget', Quantity: 2, Total: 9.5, Status: 'New' }]);
  assert.deepEqual(one, { inserted: 1, results: [{ outcome: 'inserted' }] });
  const two = await c.insertRecords('Orders', [{ CustomerID: 2, Product: 'Gadget', Quantity: 1, Total: 3.25, Status: 'New' }, { NoSuchField: 1 }], { returnRows: true });
  assert.equal(two.inserted, 1);
  assert.equal(two.results[0].outcome, 'inserted');
  assert.equal(two.results[0].record.PK_ID, 2502);
  assert.equal(two.results[1].outcome, 'refused');
  assert.ok(two.results[1].error instanceof CaspioAPIError);

  const up = await c.updateRecords('Orders', 'PK_ID >= 2501', { Status: 'Paid' }, { returnRows: true });
  assert.equal(up.recordsAffected, 2);
  assert.deepEqual(up.records.map((r) => r.Status), ['Paid', 'Paid']);
  assert.deepEqual(await c.updateRecords('Orders', 'PK_ID = 2501', { Quantity: 3 }), { recordsAffected: 1, records: [] });
  assert.deepEqual(await c.deleteRecords('Orders', "Status = 'Paid' AND PK_ID > 2500"), { recordsAffected: 2 });
  assert.equal((await c.records('Orders', { where: 'PK_ID > 2490' }).toArray()).length, 10);
  c.close();
});

test('an insert whose answer is lost is unknown, and not sent again', async () => {
  const { c, sent } = await client();
  await c.token();
  await sandbox.fault({ route: '/rest/v2/tables/Orders/records', status: 503, retry_after: '0' });
  const r = await c.insertRecords('Orders', [{ CustomerID: 3, Product: 'Widget', Quantity: 1, Total: 1, Status: 'New' }]);
  assert.equal(r.results[0].outcome, 'unknown');
  assert.equal(sent.length, 1);
  c.close();
});

test('bad input', async () => {
  const { c, sent } = await client();
  await assert.rejects(c.records('NoSuchTable').toArray(), (err) => err instanceof CaspioAPIError && err.table === 'NoSuchTable' && err.field === '' && err.Code === 'ObjectNotFound');
  await assert.rejects(c.records('Orders', { select: ['Colour'] }).toArray(), (err) => err instanceof CaspioAPIError && err.field === 'Colour');
  await assert.rejects(c.records('Orders', { where: "Colour = 'red'" }).toArray(), (err) => err.field === 'Colour' && err.table === 'Orders');
  await assert.rejects(c.records('Orders', { where: "Status = = 'x'" }).toArray(), (err) => err instanceof CaspioAPIError && err.field === '' && err.RequestId !== '' && err.Message !== '');
  const before = sent.length;
  assert.throws(() => c.records('Orders', { pageSize: 3 }), (err) => err instanceof CaspioConfigError && err.field === 'pageSize');
  assert.throws(() => c.records('Orders', { pageSize: 1001 }), CaspioConfigError);
  await assert.rejects(c.updateRecords('Orders', ' ', { Status: 'x' }), (err) => err instanceof CaspioConfigError && err.field === 'where');
  await assert.rejects(c.deleteRecords('Orders', ''), CaspioConfigError);
  assert.equal(sent.length, before, 'refused before any request');
  await assert.rejects(c.records('Orders/../Customers').toArray(), (err) => err.table === 'Orders/../Customers' && err.Code === 'ObjectNotFound');
  assert.match(sent.at(-1).url, /\/tables\/Orders%2F\.\.%2FCustomers\/records\?/);
  c.close();
});
