// Runs the shared vectors of this folder through the WebAssembly core, as the JS shim drives
// it. A plain ES module with no node: import, so that Node (tests/js/vectors.test.js) and a
// page in Chromium (tests/browser/vectors.test.js) run the same checks; vectors_test.go
// runs the same files natively. The results must be the same everywhere.
//
//   const results = runVectors({ core, CaspioError, files });
//   // core: the core's exports (startCore); CaspioError: the class the core's errors are
//   // instances of (from the errors.js the core was started with); files: file name to the
//   // parsed JSON of that file, for every name in FILES.
//   // results: [{ file, name, ok, message }], one per case, in file order.

/** The vector files, each with its runner below. */
export const FILES = [
  'api_errors.json', 'config.json', 'decisions.json', 'resolve.json', 'retry_after.json',
  'states.json', 'token_requests.json', 'token_responses.json', 'unauthorized.json',
];

/**
 * @param {{core: any, CaspioError: Function, files: Record<string, {cases: any[]}>}} input
 * @returns {{file: string, name: string, ok: boolean, message: string}[]}
 */
export function runVectors({ core, CaspioError, files }) {
  const results = [];
  for (const file of FILES) {
    const cases = files[file]?.cases;
    if (!Array.isArray(cases) || cases.length === 0) {
      results.push({ file, name: '(cases)', ok: false, message: `${file} has no cases` });
      continue;
    }
    const check = RUNNERS[file];
    for (const c of cases) {
      try {
        check(c, { core, CaspioError });
        results.push({ file, name: c.name, ok: true, message: '' });
      } catch (err) {
        results.push({ file, name: c.name, ok: false, message: err instanceof Error ? err.message : String(err) });
      }
    }
  }
  return results;
}

const RUNNERS = {
  'config.json'(c, { core, CaspioError }) {
    let h;
    try {
      h = call(core.open, c.config);
    } catch (err) {
      if (!c.error) throw err;
      assertError(err, c.error, CaspioError);
      return;
    }
    equal(c.error, undefined, 'expected an error');
    const d = core.describe(h);
    deepEqual({
      token_url: d.tokenUrl, resource_base: d.resourceBase, resource_origin: d.resourceOrigin,
      api_version: d.apiVersion, credentials: d.credentials, refresh_margin_ms: d.refreshMarginMs,
    }, c.expect, 'description');
  },

  'token_requests.json'(c, { core }) {
    const req = core.tokenRequest(openWithState(core, c.config, c.state), c.action);
    deepEqual({ method: req.method, url: req.url, grant: req.grant, headers: { ...req.headers }, body: req.body }, c.expect, 'request');
  },

  'token_responses.json'(c, { core, CaspioError }) {
    const h = call(core.open, c.config);
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
    deepEqual(res.state, c.expect.state, 'state');
    if (c.expect.error) assertError(res.error, c.expect.error, CaspioError);
    else equal(res.error, undefined, 'error');
    equal(res.retry, c.expect.retry ?? false, 'retry');
    equal(res.waitMs, c.expect.wait_ms ?? 0, 'wait');
  },

  'decisions.json'(c, { core }) {
    const h = call(core.open, c.config);
    if (c.state) core.restore(h, c.state);
    const d = core.decide(h, c.now);
    equal(d.action, c.expect.action, 'action');
    equal(d.authorization, c.expect.authorization, 'authorization');
    equal(d.validUntil, c.expect.valid_until, 'validUntil');
  },

  'unauthorized.json'(c, { core }) {
    const h = openWithState(core, c.config, c.state);
    equal(core.unauthorized(h, c.sent), c.expect.revoked, 'revoked');
    deepEqual(core.state(h), c.expect.state, 'state');
  },

  'resolve.json'(c, { core, CaspioError }) {
    const h = call(core.open, c.config);
    if (c.expect.error) {
      assertError(thrown(() => call(core.resolve, h, c.ref)), c.expect.error, CaspioError);
    } else {
      equal(call(core.resolve, h, c.ref), c.expect.url, 'url');
    }
  },

  'states.json'(c, { core, CaspioError }) {
    // A client whose state the vectors' states belong to.
    const config = { account: 'c1abc123', clientId: 'id-1', clientSecret: 'SECRET-1' };
    const parsed = parse(c.text);
    if (c.decodes === false) {
      equal(parsed.ok, false, 'the text should not decode');
      ok(c.expect.error, 'a text that does not decode expects an error');
      return;
    }
    ok(parsed.ok, 'the text should decode');
    const h = call(core.open, config);
    if (c.expect.error) {
      assertError(thrown(() => call(core.restore, h, parsed.value)), c.expect.error, CaspioError);
      return;
    }
    equal(call(core.restore, h, parsed.value), true, 'restored');
    const stored = core.state(h);
    for (const key of ['version', 'client_id', 'token_url', 'access_token', 'expires_at', 'refresh_token', 'refresh_issued_at', 'refresh_used_at']) {
      equal(stored[key], parsed.value[key], key);
    }
  },

  'api_errors.json'(c, { core }) {
    const body = parse(c.body_text);
    const e = core.apiError(c.status, c.request_id_header, body.value);
    equal(e.code, 'CASPIO_API_ERROR', 'code');
    deepEqual({ status: e.status, code: e.Code, message: e.Message, resource: e.Resource, request_id: e.RequestId }, c.expect, 'fields');
  },

  'retry_after.json'(c, { core }) {
    const wait = core.retryAfter(c.value, c.now);
    if (c.expect.none) equal(wait, null, 'wait');
    else equal(wait, c.expect.wait_ms, 'wait');
  },
};

/** Calls a core function and throws the error it returns, as js/core.js does. */
function call(fn, ...args) {
  const result = fn(...args);
  if (result instanceof Error) throw result;
  return result;
}

function openWithState(core, config, state) {
  const h = call(core.open, config);
  if (state) call(core.restore, h, state);
  return h;
}

function parse(text) {
  try {
    return { value: JSON.parse(text), ok: true };
  } catch {
    return { value: undefined, ok: false };
  }
}

function thrown(fn) {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error, got none');
}

/**
 * Checks an error against a vector's expectation, and that neither its message nor any of
 * its fields (ref, location, ...) holds a secret or a part of the input named in
 * must_not_contain.
 */
function assertError(err, want, CaspioError) {
  ok(err instanceof CaspioError, `expected a CaspioError, got ${err}`);
  const texts = Object.getOwnPropertyNames(err).map((k) => err[k]).filter((v) => typeof v === 'string');
  for (const text of texts) {
    ok(!text.includes('SECRET'), `secret in the error: ${text}`);
    for (const part of want.must_not_contain ?? []) {
      ok(!text.includes(part), `${JSON.stringify(part)} of the input in the error: ${text}`);
    }
  }
  equal(err.code, want.kind, `code (${err.message})`);
  if (want.field !== undefined) equal(err.field, want.field, `field (${err.message})`);
  if (want.status !== undefined) equal(err.status, want.status, `status (${err.message})`);
  if (want.error_code !== undefined) equal(err.error, want.error_code, `error (${err.message})`);
}

function ok(value, what) {
  if (!value) throw new Error(what);
}

function equal(actual, expected, what) {
  if (!Object.is(actual, expected)) throw new Error(`${what}: got ${show(actual)}, want ${show(expected)}`);
}

/** Strict deep equality, as node:assert/strict's deepEqual: same prototypes, same own keys, Object.is leaves. */
function deepEqual(actual, expected, what) {
  const diff = difference(actual, expected, '');
  if (diff !== null) throw new Error(`${what}: differs at ${diff || '(top)'}: got ${show(actual)}, want ${show(expected)}`);
}

/** The path of the first difference, or null when there is none. */
function difference(a, b, path) {
  if (Object.is(a, b)) return null;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return path;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return path;
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  if (ka.length !== kb.length || ka.some((k, i) => k !== kb[i])) return path;
  for (const k of ka) {
    const d = difference(a[k], b[k], `${path}.${k}`);
    if (d !== null) return d;
  }
  return null;
}

function show(value) {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
