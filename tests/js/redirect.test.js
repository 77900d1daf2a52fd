// Redirects of resource requests: followed by hand, with the bearer token only on the REST
// base; never to another origin.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { createClient, CaspioURLError, CaspioRedirectError } from 'caspio-auth';
import { startSandbox } from './helpers/sandbox.js';
import { startRecorder, recordingFetch } from './helpers/recorder.js';

let sandbox;
let elsewhere;
before(async () => {
  sandbox = await startSandbox();
  elsewhere = await startRecorder();
});
after(async () => {
  await sandbox?.stop();
  await elsewhere?.close();
});
beforeEach(async () => {
  await sandbox.reset();
  elsewhere.requests.length = 0;
});

test('a redirect to another origin is followed without the bearer token', async () => {
  for (const status of [301, 302, 303, 307, 308]) {
    elsewhere.requests.length = 0;
    const client = await createClient(sandbox.options());
    await client.token();
    await sandbox.fault({ route: '/rest/v2/tables', status, location: `${elsewhere.url}/landing?s=${status}` });
    const res = await client.fetch('tables', { headers: { 'X-Custom': 'kept' } });
    assert.equal(res.status, 200, `${status}`);
    assert.deepEqual(await res.json(), { recorded: true });
    assert.equal(elsewhere.requests.length, 1);
    const [got] = elsewhere.requests;
    assert.equal(got.url, `/landing?s=${status}`);
    assert.equal(got.headers.authorization, undefined, `${status}: the token went to another origin`);
    assert.equal(got.headers['x-custom'], 'kept');
    client.close();
  }
});

test('a POST redirected with 307 to another origin keeps its body, not the token', async () => {
  const client = await createClient(sandbox.options());
  await sandbox.fault({ route: '/rest/v2/tables/Orders/records', status: 307, location: `${elsewhere.url}/moved` });
  const res = await client.fetch('tables/Orders/records', { method: 'POST', body: '{"a":1}', headers: { 'Content-Type': 'application/json' } });
  assert.equal(res.status, 200);
  const [got] = elsewhere.requests;
  assert.equal(got.method, 'POST');
  assert.equal(got.body, '{"a":1}');
  assert.equal(got.headers.authorization, undefined);
  client.close();
});

test('a 302 after a POST becomes a GET without the body', async () => {
  const client = await createClient(sandbox.options());
  await sandbox.fault({ route: '/rest/v2/tables/Orders/records', status: 302, location: `${elsewhere.url}/seeother` });
  await client.fetch('tables/Orders/records', { method: 'POST', body: '{"a":1}', headers: { 'Content-Type': 'application/json' } });
  const [got] = elsewhere.requests;
  assert.equal(got.method, 'GET');
  assert.equal(got.body, '');
  assert.equal(got.headers['content-type'], undefined);
  client.close();
});

test('a redirect within the REST base keeps the token', async () => {
  const rec = recordingFetch();
  const client = await createClient(sandbox.options({ fetch: rec.fetch }));
  await sandbox.fault({ route: '/rest/v2/tables', status: 301, location: '/rest/v2/tables/Products/records?q.limit=2' });
  const res = await client.fetch('tables');
  assert.equal(res.status, 200, 'the sandbox answers 401 without the token');
  assert.equal((await res.json()).Result.length, 2);
  const hop = rec.calls.at(-1);
  assert.equal(hop.url, `${sandbox.url}/rest/v2/tables/Products/records?q.limit=2`);
  assert.match(hop.headers.get('authorization'), /^Bearer /);
  client.close();
});

test('a redirect to the resource origin outside the REST base goes without the token', async () => {
  const rec = recordingFetch();
  const client = await createClient(sandbox.options({ fetch: rec.fetch }));
  await sandbox.fault({ route: '/rest/v2/tables', status: 302, location: '/oauth/token' });
  await client.fetch('tables');
  const hop = rec.calls.at(-1);
  assert.equal(hop.url, `${sandbox.url}/oauth/token`);
  assert.equal(hop.headers.get('authorization'), null);
  client.close();
});

test('redirect modes: manual returns the redirect, error refuses it, and at most 10 are followed', async () => {
  const client = await createClient(sandbox.options());
  await sandbox.fault({ route: '/rest/v2/tables', status: 302, location: `${elsewhere.url}/x` });
  const manual = await client.fetch('tables', { redirect: 'manual' });
  assert.equal(manual.status, 302);
  assert.equal(manual.headers.get('location'), `${elsewhere.url}/x`);

  await sandbox.fault({ route: '/rest/v2/tables', status: 302, location: `${elsewhere.url}/x` });
  await assert.rejects(client.fetch('tables', { redirect: 'error' }), (err) => {
    assert.ok(err instanceof CaspioRedirectError, `${err}`);
    assert.equal(err.code, 'REDIRECT_REFUSED');
    assert.equal(err.status, 302);
    return true;
  });

  await sandbox.fault({ route: '/rest/v2/tables', status: 302, location: '/rest/v2/tables', count: 11 });
  await assert.rejects(client.fetch('tables'), (err) => err instanceof CaspioRedirectError && /stopped after 10 redirects/.test(err.message));
  assert.equal(elsewhere.requests.length, 0);
  await sandbox.fault({ route: '/rest/v2/tables', status: 302, location: '/rest/v2/tables', count: 10 });
  assert.equal((await client.fetch('tables')).status, 200, 'ten redirects are followed');
  client.close();
});

test('a redirect with credentials, or not to an http(s) URL, is refused with a CaspioURLError that shows none of it', async () => {
  const host = new URL(elsewhere.url).host;
  const cases = [
    ['user info', `http://id-7:Zq8vKx1mN0@${host}/landing?code=Zq8vCode`, ['Zq8vKx1mN0', 'id-7', 'Zq8vCode']],
    ['user info with a slash in the password', `http://id-7:Zq8v/Kx1mN0@${host}/landing`, ['Zq8v', 'Kx1mN0', 'id-7']],
    ['user info without slashes', `http:id-7:Zq8vKx1mN0@${host}/landing`, ['Zq8vKx1mN0', 'id-7']],
    ['user info on the resource origin', `${sandbox.url.replace('//', '//id-7:Zq8vKx1mN0@')}/rest/v2/tables`, ['Zq8vKx1mN0', 'id-7']],
    ['a data: URL', 'data:text/plain,Zq8vKx1mN0', ['Zq8vKx1mN0']],
    ['http: without //', `http:${host}/landing`, []],
    ['a Location that does not parse', `http://${host}:Zq8vKx1mN0/landing`, ['Zq8vKx1mN0']],
  ];
  const client = await createClient(sandbox.options());
  for (const [name, location, hidden] of cases) {
    await sandbox.fault({ route: '/rest/v2/tables', status: 302, location });
    const err = await client.fetch('tables').then(() => null, (e) => e);
    assert.ok(err instanceof CaspioURLError, `${name}: ${err}`);
    assert.equal(err.code, 'URL_REFUSED', name);
    for (const text of [err.message, err.ref, JSON.stringify(err)]) {
      for (const part of hidden) assert.ok(!text.includes(part), `${name}: ${JSON.stringify(part)} shows in ${text}`);
    }
  }
  assert.equal(elsewhere.requests.length, 0, 'a refused redirect reached its target');
  client.close();
});
