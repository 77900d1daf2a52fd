// The shared vectors of tests/vectors, run through the WebAssembly core as the JS shim
// drives it. vectors_test.go runs the same files natively: the results must be the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { startCore, call } from '../../js/core.js';
import { CaspioError } from '../../js/errors.js';

const dir = new URL('../vectors/', import.meta.url);
const core = await startCore(async () => WebAssembly.compile(await readFile(new URL('../../js/caspio.wasm', import.meta.url))));

async function cases(name) {
  const { cases } = JSON.parse(await readFile(new URL(name, dir), 'utf8'));
  assert.ok(cases.length > 0, name);
  return cases;
}

function open(config) {
  return call(core.open, config);
}

function openWithState(config, state) {
  const h = open(config);
  if (state) call(core.restore, h, state);
  return h;
}

/** Checks an error against a vector's expectation, and that it holds no secret. */
function assertError(err, want) {
  assert.ok(err instanceof CaspioError, `expected a CaspioError, got ${err}`);
  assert.ok(!err.message.includes('SECRET'), `secret in message: ${err.message}`);
  assert.equal(err.code, want.kind, err.message);
  if (want.field !== undefined) assert.equal(err.field, want.field, err.message);
  if (want.status !== undefined) assert.equal(err.status, want.status, err.message);
  if (want.error_code !== undefined) assert.equal(err.error, want.error_code, err.message);
}

function parse(text) {
  try {
    return { value: JSON.parse(text), ok: true };
  } catch {
    return { value: undefined, ok: false };
  }
}

test('every vector file has a runner here', async () => {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  assert.deepEqual(files, ['api_errors.json', 'config.json', 'decisions.json', 'resolve.json', 'retry_after.json',
    'states.json', 'token_requests.json', 'token_responses.json', 'unauthorized.json']);
});

test('config.json', async (t) => {
  for (const c of await cases('config.json')) {
    await t.test(c.name, () => {
      let h;
      try {
        h = open(c.config);
      } catch (err) {
        if (!c.error) throw err;
        assertError(err, c.error);
        return;
      }
      assert.equal(c.error, undefined, 'expected an error');
      const d = core.describe(h);
      assert.deepEqual({
        token_url: d.tokenUrl, resource_base: d.resourceBase, resource_origin: d.resourceOrigin,
        api_version: d.apiVersion, credentials: d.credentials, refresh_margin_ms: d.refreshMarginMs,
      }, c.expect);
    });
  }
});

test('token_requests.json', async (t) => {
  for (const c of await cases('token_requests.json')) {
    await t.test(c.name, () => {
      const req = core.tokenRequest(openWithState(c.config, c.state), c.action);
      assert.deepEqual({ method: req.method, url: req.url, grant: req.grant, headers: { ...req.headers }, body: req.body }, c.expect);
    });
  }
});

test('token_responses.json', async (t) => {
  for (const c of await cases('token_responses.json')) {
    await t.test(c.name, () => {
      const h = open(c.config);
      if (c.state) core.restore(h, c.state); // another client's state is not adopted, as in Go
      const r = c.response;
      const response = { status: r.status, contentType: r.content_type ?? '', retryAfter: r.retry_after ?? '', location: r.location ?? '' };
      if (r.status === 0) {
        response.error = 'connection refused';
      } else {
        const body = parse(r.body_text ?? '');
        response.body = body.value;
        response.notJSON = !body.ok;
      }
      const res = core.handleTokenResponse(h, c.action, response, c.now, c.attempt, c.jitter);
      assert.deepEqual(res.state, c.expect.state);
      if (c.expect.error) assertError(res.error, c.expect.error);
      else assert.equal(res.error, undefined);
      assert.equal(res.retry, c.expect.retry ?? false, 'retry');
      assert.equal(res.waitMs, c.expect.wait_ms ?? 0, 'wait');
    });
  }
});

test('decisions.json', async (t) => {
  for (const c of await cases('decisions.json')) {
    await t.test(c.name, () => {
      const h = open(c.config);
      if (c.state) core.restore(h, c.state);
      const d = core.decide(h, c.now);
      assert.equal(d.action, c.expect.action);
      assert.equal(d.authorization, c.expect.authorization);
      assert.equal(d.validUntil, c.expect.valid_until);
    });
  }
});

test('unauthorized.json', async (t) => {
  for (const c of await cases('unauthorized.json')) {
    await t.test(c.name, () => {
      const h = openWithState(c.config, c.state);
      assert.equal(core.unauthorized(h, c.sent), c.expect.revoked);
      assert.deepEqual(core.state(h), c.expect.state);
    });
  }
});

test('resolve.json', async (t) => {
  for (const c of await cases('resolve.json')) {
    await t.test(c.name, () => {
      const h = open(c.config);
      if (c.expect.error) {
        assert.throws(() => call(core.resolve, h, c.ref), (err) => { assertError(err, c.expect.error); return true; });
      } else {
        assert.equal(call(core.resolve, h, c.ref), c.expect.url);
      }
    });
  }
});

test('states.json', async (t) => {
  // A client whose state the vectors' states belong to.
  const config = { account: 'c1abc123', clientId: 'id-1', clientSecret: 'SECRET-1' };
  for (const c of await cases('states.json')) {
    await t.test(c.name, () => {
      const parsed = parse(c.text);
      if (c.decodes === false) {
        assert.equal(parsed.ok, false, 'the text should not decode');
        assert.ok(c.expect.error);
        return;
      }
      assert.ok(parsed.ok);
      const h = open(config);
      if (c.expect.error) {
        assert.throws(() => call(core.restore, h, parsed.value), (err) => { assertError(err, c.expect.error); return true; });
        return;
      }
      assert.equal(call(core.restore, h, parsed.value), true);
      const stored = core.state(h);
      for (const key of ['version', 'client_id', 'token_url', 'access_token', 'expires_at', 'refresh_token', 'refresh_issued_at', 'refresh_used_at']) {
        assert.equal(stored[key], parsed.value[key], key);
      }
    });
  }
});

test('api_errors.json', async (t) => {
  for (const c of await cases('api_errors.json')) {
    await t.test(c.name, () => {
      const body = parse(c.body_text);
      const e = core.apiError(c.status, c.request_id_header, body.value);
      assert.equal(e.code, 'CASPIO_API_ERROR');
      assert.deepEqual({ status: e.status, code: e.Code, message: e.Message, resource: e.Resource, request_id: e.RequestId }, c.expect);
    });
  }
});

test('retry_after.json', async (t) => {
  for (const c of await cases('retry_after.json')) {
    await t.test(c.name, () => {
      const wait = core.retryAfter(c.value, c.now);
      if (c.expect.none) assert.equal(wait, null);
      else assert.equal(wait, c.expect.wait_ms);
    });
  }
});
