// Runs the shared vectors of this folder through the npm package's public API, as a program
// uses it: createClient with a scripted fetch (the token endpoint and the resource endpoint),
// a scripted storage and the `now` option, and apiErrorFromResponse. A plain ES module with
// no node: import, so that Node (tests/js/vectors.test.js), Chromium
// (tests/browser/vectors.test.js) and workerd (tests/workers/package.test.js) run the same
// checks; vectors_test.go runs the same files against the core. README.md says how each
// file's cases are played here, and which fields of a vector only the core shows.
//
//   const results = await runVectors({ caspio, files });
//   // caspio: the package's module (createClient, apiErrorFromResponse, the error classes);
//   // files: file name to the parsed JSON of that file, for every name in FILES.
//   // Optional: timeoutMs, per case.
//   // results: [{ file, name, ok, message }], one per case, in file order.

/** The vector files, each with its runner below. */
export const FILES = [
  'api_errors.json', 'config.json', 'decisions.json', 'records.json', 'resolve.json', 'retry_after.json',
  'states.json', 'token_requests.json', 'token_responses.json', 'unauthorized.json',
];

/**
 * @param {{caspio: any, files: Record<string, {cases: any[]}>, timeoutMs?: number}} input
 * @returns {Promise<{file: string, name: string, ok: boolean, message: string}[]>}
 */
export async function runVectors({ caspio, files, timeoutMs = 20_000 }) {
  const results = [];
  for (const file of FILES) {
    const cases = files[file]?.cases;
    if (!Array.isArray(cases) || cases.length === 0) {
      results.push({ file, name: '(cases)', ok: false, message: `${file} has no cases` });
      continue;
    }
    for (const c of cases) {
      try {
        await bounded(RUNNERS[file](c, caspio), timeoutMs, `${file}: ${c.name}`);
        results.push({ file, name: c.name, ok: true, message: '' });
      } catch (err) {
        results.push({ file, name: c.name, ok: false, message: err instanceof Error ? err.message : String(err) });
      }
    }
  }
  return results;
}

/** The time of the vectors that give none (their scripts start there). */
const NOW = 1_700_000_000_000;
const DAY_MS = 86_400_000;

// The core's retry policy (tokenresponse.go), for the waits that come from the client's own
// jitter rather than from a Retry-After: the n-th retry's backoff is 500 ms doubled n - 1
// times, at most 8 s, and the wait half of it plus up to as much again. A Retry-After over
// 30 s is not waited for.
const BACKOFF_BASE_MS = 500;
const BACKOFF_CAP_MS = 8_000;
const FIRST_BACKOFF_MS = [BACKOFF_BASE_MS / 2, BACKOFF_BASE_MS];
const MAX_RETRY_AFTER_MS = 30_000;

/** The runner's token endpoint where a case needs no particular answer: a final refusal, which ends the call at once. */
const REFUSAL = { status: 400, content_type: 'application/json', body_text: '{"error":"invalid_request"}' };
/** A failure that the client retries at once: how a case reaches its `attempt`. */
const RETRY_AT_ONCE = { status: 503, content_type: '', body_text: '', retry_after: '0' };

/** The client's view of the vectors' config: refreshMarginMs is the option refreshMargin, in seconds. */
function clientOptions(config) {
  const { refreshMarginMs, ...rest } = config;
  return refreshMarginMs === undefined ? rest : { ...rest, refreshMargin: refreshMarginMs / 1000 };
}

/** The JS option a field of the Go Config names (a CaspioConfigError's field is the option's name). */
const OPTION_NAMES = ['account', 'integrationUrl', 'tokenUrl', 'resourceUrl', 'apiVersion', 'clientId', 'clientSecret', 'credentials', 'refreshMargin'];
const optionName = (field) => OPTION_NAMES.find((o) => o.toLowerCase() === field.toLowerCase()) ?? field;

const RUNNERS = {
  'records.json': playRecords,
  async 'config.json'(c, caspio) {
    let client;
    try {
      client = await caspio.createClient({ ...clientOptions(c.config), storage: scriptedStorage(caspio, { text: null }), fetch: unreachable, now: () => NOW });
    } catch (err) {
      if (!c.error) throw new Error(`createClient failed: ${describe(err)}`);
      assertError(err, c.error, caspio);
      return;
    }
    try {
      ok(!c.error, `expected an error (${c.error?.kind}), got a client`);
      const d = client.toJSON();
      deepEqual({
        token_url: d.tokenUrl, resource_base: d.resourceBase, resource_origin: new URL(d.resourceBase).origin,
        api_version: d.apiVersion, credentials: d.credentials, refresh_margin_ms: client.status().refreshMargin * 1000,
      }, c.expect, 'description');
    } finally {
      client.close();
    }
  },

  async 'token_requests.json'(c, caspio) {
    const w = await world(caspio, c.config, { stored: c.state });
    try {
      await settle(w.client[c.action]());
      const req = w.tokenRequests[0];
      ok(req, 'no token request was made');
      deepEqual({ method: req.method, url: req.url, grant: req.grant, headers: req.headers, body: req.body }, c.expect, 'the token request');
    } finally {
      w.client.close();
    }
  },

  async 'token_responses.json'(c, caspio) {
    // The vector's response answers the token request that follows `attempt` failures the
    // client retries at once; after a retry is announced, the client is closed rather than
    // left to wait.
    const primed = Math.max(0, c.attempt ?? 0);
    const retryOf = (w, attempt) => w.events.find((e) => e.type === 'retry' && e.attempt === attempt);
    const w = await world(caspio, c.config, {
      stored: c.state, now: c.now,
      answer: () => (w.tokenRequests.length <= primed ? RETRY_AT_ONCE : w.tokenRequests.length === primed + 1 ? c.response : REFUSAL),
      onWrite: (_, i) => { if (i === primed && retryOf(w, primed + 1)) w.client.close(); },
    });
    try {
      const call = await settle(w.client[c.action]());
      for (let a = 1; a <= primed; a++) equal(retryOf(w, a)?.waitMs, 0, `the retry at once after attempt ${a}`);
      equal(w.tokenRequests.length, primed + 1, 'token requests');
      const grant = w.tokenRequests[primed].grant;
      deepEqual(w.writes[primed], countRequests(c.expect.state, grant, primed), 'the state written after the response');

      const retry = retryOf(w, primed + 1);
      equal(retry !== undefined, c.expect.retry ?? false, 'retry');
      if (c.expect.error) {
        assertError(retry ? retry.error : call.error, c.expect.error, caspio);
      } else {
        ok(call.value, `the call failed: ${describe(call.error)}`);
        equal(call.value.accessToken, c.expect.state.access_token, 'the access token');
        equal(call.value.expiresAt.getTime(), c.expect.state.expires_at, 'its expiry');
      }
      if (retry) assertWait(retry.waitMs, c.expect.wait_ms ?? 0, c.jitter);
    } finally {
      w.client.close();
    }
  },

  async 'decisions.json'(c, caspio) {
    const w = await world(caspio, c.config, { stored: c.state, now: c.now });
    try {
      const call = await settle(w.client.token());
      if (c.expect.action === 'lease') {
        ok(call.value, `no lease: ${describe(call.error)}`);
        equal(w.tokenRequests.length, 0, 'token requests');
        equal(`Bearer ${call.value.accessToken}`, c.expect.authorization, 'authorization');
        equal(call.value.validUntil.getTime(), c.expect.valid_until, 'validUntil');
      } else {
        ok(w.tokenRequests.length > 0, `no token request: the call ended with ${call.value ? 'a token' : describe(call.error)}`);
        equal(w.tokenRequests[0].grant === 'refresh_token' ? 'refresh' : 'authenticate', c.expect.action, 'action');
      }
    } finally {
      w.client.close();
    }
  },

  async 'unauthorized.json'(c, caspio) {
    await playUnauthorized(c, caspio);
  },

  async 'resolve.json'(c, caspio) {
    // Once without a token in memory (the core resolves the reference in its conversation),
    // once with one (the hot path asks the core to resolve it).
    for (const hot of [false, true]) {
      const path = hot ? 'with a token in memory' : 'without a token';
      const w = await world(caspio, c.config, { answer: (req) => (req.kind === 'token' ? w.token() : { status: 200 }) });
      try {
        if (hot) await w.client.token();
        const tokenRequests = w.tokenRequests.length;
        const call = await settle(w.client.fetch(c.ref));
        if (c.expect.error) {
          assertError(call.error, c.expect.error, caspio);
          equal(w.sends.length, 0, `${path}: requests sent`);
          equal(w.tokenRequests.length, tokenRequests, `${path}: token requests`);
        } else {
          ok(call.value, `${path}: ${describe(call.error)}`);
          equal(w.sends[0]?.url, c.expect.url, `${path}: url`);
        }
      } finally {
        w.client.close();
      }
    }
  },

  async 'states.json'(c, caspio) {
    // A client whose state the vectors' states are, told to log in: the token endpoint
    // refuses, and the state written then is the one it read, with one more request.
    const config = { account: 'c1abc123', clientId: 'id-1', clientSecret: 'SECRET-1' };
    const parsed = parse(c.text);
    if (c.decodes === false) {
      equal(parsed.ok, false, 'the text should not decode');
      ok(c.expect.error, 'a text that does not decode expects an error');
    } else {
      ok(parsed.ok, 'the text should decode');
    }
    const w = await world(caspio, config, { text: c.text });
    try {
      await settle(w.client.authenticate());
      const problems = w.events.filter((e) => e.type === 'state_discarded' || e.type === 'storage_error');
      const written = w.writes[0];
      ok(written, 'no state was written after the login');
      if (c.expect.error && parsed.ok && parsed.value === null) {
        // Storage.get() giving null means that nothing is stored, in Go's client as well:
        // the error is the core's alone (README.md).
        deepEqual(problems.map((e) => e.type), [], 'events');
        deepEqual(written, countRequests(fresh(w), 'client_credentials', 1), 'the state written');
      } else if (c.expect.error) {
        deepEqual(problems.map((e) => e.type), ['state_discarded'], 'events');
        assertError(problems[0].error, c.expect.error, caspio);
        deepEqual(written, countRequests(fresh(w), 'client_credentials', 1), 'the state written: nothing of the discarded one');
      } else {
        deepEqual(problems.map((e) => `${e.type}: ${e.error?.message}`), [], 'events');
        const stored = parsed.value;
        const counters = { client_credentials_requests: 0, refresh_token_requests: 0, logins: 0, refreshes: 0, ...stored.counters };
        const want = { counters };
        for (const key of STATE_FIELDS) if (stored[key] !== undefined) want[key] = stored[key];
        deepEqual(written, countRequests(want, 'client_credentials', 1), 'the state written: the one read, with one more login request');
      }
    } finally {
      w.client.close();
    }
  },

  async 'api_errors.json'(c, caspio) {
    const res = new Response(c.body_text, { status: c.status, headers: c.request_id_header ? { 'X-Caspio-Request-ID': c.request_id_header } : {} });
    const e = await caspio.apiErrorFromResponse(res);
    ok(e instanceof caspio.CaspioAPIError, `expected a CaspioAPIError, got ${describe(e)}`);
    equal(e.code, 'CASPIO_API_ERROR', 'code');
    equal(e.response, res, 'the response it came from');
    deepEqual({ status: e.status, code: e.Code, message: e.Message, resource: e.Resource, request_id: e.RequestId }, c.expect, 'fields');
  },

  async 'retry_after.json'(c, caspio) {
    // The value on a 503 answering the first login; the wait is the retry event's.
    const config = { account: 'c1abc123', clientId: 'id-1', clientSecret: 'SECRET-1' };
    const w = await world(caspio, config, {
      now: c.now,
      answer: () => (w.tokenRequests.length === 1 ? { status: 503, content_type: '', body_text: '', retry_after: c.value } : REFUSAL),
      onWrite: () => { if (w.events.some((e) => e.type === 'retry')) w.client.close(); },
    });
    try {
      const call = await settle(w.client.authenticate());
      const retry = w.events.find((e) => e.type === 'retry');
      if (c.expect.none) {
        ok(retry, 'no retry after the 503');
        ok(retry.waitMs >= FIRST_BACKOFF_MS[0] && retry.waitMs < FIRST_BACKOFF_MS[1], `wait: got ${retry.waitMs} ms, want the backoff of a first retry, ${FIRST_BACKOFF_MS[0]} to ${FIRST_BACKOFF_MS[1]} ms`);
      } else if (c.expect.wait_ms <= MAX_RETRY_AFTER_MS) {
        ok(retry, `no retry after the 503 (${describe(call.error)})`);
        equal(retry.waitMs, c.expect.wait_ms, 'wait');
      } else {
        equal(retry, undefined, `a retry, after ${retry?.waitMs} ms: a Retry-After of ${c.expect.wait_ms} ms is longer than the client waits`);
        ok(call.error, 'the call should fail');
        equal(w.tokenRequests.length, 1, 'token requests');
      }
    } finally {
      w.client.close();
    }
  },
};

/**
 * unauthorized.json: a 401 to a resource request that carried `sent`, when the client holds
 * `state`. How the client comes to send `sent` while holding `state`:
 * - the current token: the store holds the state, and the request carries its token;
 * - an older token: the store holds the state with that token; while the request is under
 *   way the store says it changed to the case's state, and token() adopts it;
 * - a token the state no longer holds: two requests carry it; the 401 to the first drops
 *   it (the refresh that follows is held), and the case's 401 answers the second;
 * - none: the request follows a redirect off the REST base, where the token is not sent.
 * Then: whether the access token in memory is dropped, whether a token request follows,
 * and the state as status() shows it, before and after the 401.
 */
async function playUnauthorized(c, caspio) {
  const { state, sent, expect } = c;
  const bearer = (token) => `Bearer ${token}`;
  const current = state.access_token ? bearer(state.access_token) : '';
  if (sent !== '' && !sent.startsWith('Bearer ')) throw new Error('sent is neither empty nor a Bearer value');
  const first = sent === '' || sent === current ? state
    : { ...state, access_token: sent.slice('Bearer '.length), obtained_at: state.obtained_at ?? NOW, expires_at: state.expires_at ?? NOW + DAY_MS };

  const io = inbox();
  const unanswered = new Set();
  const w = await world(caspio, c.config, {
    stored: first,
    answer: (request) => new Promise((resolve) => {
      const item = { request, resolve: (r) => { unanswered.delete(item); resolve(r); } };
      unanswered.add(item);
      io.push(item);
    }),
  });
  const { client } = w;
  const calls = [];
  const settled = new Set();
  const start = () => {
    const call = settle(client.fetch('tables'));
    calls.push(call);
    call.then(() => settled.add(call));
    return call;
  };
  const held = [];
  try {
    const target0 = start();
    const firstSend = await io.next();
    equal(firstSend.request.kind, 'send', 'the first request');
    let target = firstSend;
    let targetCall = target0;
    if (sent === '') {
      firstSend.resolve({ status: 302, location: `${new URL(client.toJSON().resourceBase).origin}/elsewhere` });
      target = await io.next();
    } else if (sent !== current && state.access_token) {
      w.text = JSON.stringify(state);
      w.notify?.();
      const token = await client.token();
      equal(bearer(token.accessToken), current, 'the token adopted while the request was under way');
    } else if (sent !== current) {
      targetCall = start();
      target = await io.next();
      firstSend.resolve({ status: 401 });
      const refresh = await io.next();
      equal(refresh.request.kind, 'token', 'what follows the first 401');
      held.push(refresh);
    }
    equal(target.request.kind, 'send', 'the request the 401 answers');
    equal(target.request.authorization, sent, 'the Authorization the 401 answers');

    const before = view(client.status());
    matchState(before, state, 'before the 401');
    target.resolve({ status: 401 });
    await quiet(() => io.size > 0 || settled.has(targetCall) || client.status().unauthorizedRetries > before.unauthorizedRetries, 'the client to take the 401');
    await ticks(5); // whatever the 401 leads to at once has been asked for
    const after = view(client.status());
    const following = io.size > 0 ? await io.next() : null;

    equal(before.accessTokenExpiresAt !== null && after.accessTokenExpiresAt === null, expect.revoked, 'the access token dropped');
    equal(following?.request.kind === 'token', expect.revoked, 'a token request after the 401');
    matchState(after, expect.state, 'after the 401');
    if (expect.state.refresh_issued_at === state.refresh_issued_at && expect.state.refresh_used_at === state.refresh_used_at) {
      equal(after.refreshTokenExpiresAt, before.refreshTokenExpiresAt, 'the refresh token\'s expiry');
    }
    const refreshed = following?.request.kind === 'token' ? following : held[0];
    if (refreshed) {
      // The refresh that the 401 led to, or the one under way that the state still holds.
      equal(refreshed.request.grant, expect.state.refresh_token ? 'refresh_token' : 'client_credentials', 'the grant after the 401');
      if (expect.state.refresh_token) equal(new URLSearchParams(refreshed.request.body).get('refresh_token'), expect.state.refresh_token, 'the refresh token sent');
    }
    if (following && following.request.kind !== 'token') {
      equal(following.request.authorization, expect.state.access_token ? bearer(expect.state.access_token) : '', 'the Authorization of the request sent again');
    }

    // The rest of the conversation: every request answered, until every call has ended.
    for (const r of [...held, ...(following ? [following] : [])]) r.resolve(r.request.kind === 'token' ? w.token() : { status: 200 });
    while (settled.size < calls.length) {
      await quiet(() => io.size > 0 || settled.size === calls.length, 'the calls to end');
      if (io.size > 0) {
        const r = await io.next();
        r.resolve(r.request.kind === 'token' ? w.token() : { status: 200 });
      }
    }
    const outcomes = await Promise.all(calls);
    for (const o of outcomes) ok(o.value, `a fetch failed: ${describe(o.error)}`);
    if (sent === '') equal(outcomes[0].value.status, 401, 'the 401 to a request without a token, handed back');

    // A token the 401 left in place is still the one sent.
    if (expect.state.access_token) {
      const next = start();
      const r = await io.next();
      equal(r.request.kind, 'send', 'the next request');
      equal(r.request.authorization, bearer(expect.state.access_token), 'the Authorization of the next request');
      r.resolve({ status: 200 });
      await next;
    }
    // A refresh token no refresh has used since the 401 is still the one a refresh sends.
    if (!refreshed && expect.state.refresh_token) {
      const refresh = settle(client.refresh());
      const r = await io.next();
      equal(r.request.grant, 'refresh_token', 'the grant of refresh()');
      equal(new URLSearchParams(r.request.body).get('refresh_token'), expect.state.refresh_token, 'the refresh token sent');
      r.resolve(w.token());
      ok((await refresh).value, 'refresh() failed');
    }
  } finally {
    client.close();
    for (const item of [...unanswered]) item.resolve({ status: 0, error: 'the case ended' });
  }
}

/** The fields of a stored state (state.go), besides its counters. */
const STATE_FIELDS = ['version', 'client_id', 'token_url', 'access_token', 'obtained_at', 'expires_at', 'refresh_token', 'refresh_issued_at', 'refresh_used_at'];

/** The state a client starts from: its own, with no token and no request made. */
function fresh(w) {
  const { tokenUrl, clientId } = w.client.toJSON();
  return { version: 1, client_id: clientId, token_url: tokenUrl, counters: { client_credentials_requests: 0, refresh_token_requests: 0, logins: 0, refreshes: 0 } };
}

/**
 * state with n more token requests of grant counted, as the client writes it: with the
 * revision the core gives every state it writes, the number of its token requests.
 */
function countRequests(state, grant, n) {
  const key = grant === 'refresh_token' ? 'refresh_token_requests' : 'client_credentials_requests';
  const counters = { ...state.counters, [key]: (state.counters?.[key] ?? 0) + n };
  return { ...state, counters, revision: (counters.client_credentials_requests ?? 0) + (counters.refresh_token_requests ?? 0) };
}

/**
 * A records case through the client's records API: a read's pages answered with records
 * that give the case's facts (count, the last PK_ID, TotalCount), checking each request's
 * URL and the records handed out, and that no request follows the last page; a write's URL
 * and method; what an insert's answer makes of its row; the table or field of an API error.
 */
async function playRecords(c, caspio) {
  const stored = { version: 1, client_id: 'id-1', token_url: 'https://c1abc123.caspio.com/oauth/token', counters: { client_credentials_requests: 1, refresh_token_requests: 0, logins: 1, refreshes: 0 }, access_token: 'SECRET-rec-at', obtained_at: NOW - 3_600_000, expires_at: NOW + 82_800_000, refresh_token: 'SECRET-rec-rt', refresh_issued_at: NOW - 3_600_000 };
  const config = { account: 'c1abc123', clientId: 'id-1', clientSecret: 'SECRET-1' };
  const base = 'https://c1abc123.caspio.com/rest/v2/';
  const answers = [];
  const w = await world(caspio, config, { stored, answer: () => REFUSAL });
  const sends = [];
  const fetch = async (url, init = {}) => {
    sends.push({ url: String(url), method: init.method ?? 'GET' });
    const a = answers.shift();
    if (a === undefined) throw new Error(`a request the case does not expect: ${init.method ?? 'GET'} ${url}`);
    if (a.status === 0) throw new TypeError('fetch failed: connection reset');
    return new Response(a.body === undefined ? null : JSON.stringify(a.body), { status: a.status, headers: { 'Content-Type': 'application/json', 'X-Caspio-Request-ID': 'req-1' } });
  };
  w.client.close();
  const client = await caspio.createClient({ ...config, storage: scriptedStorage(caspio, { text: JSON.stringify(stored) }), fetch, now: () => NOW });
  try {
    if (c.kind === 'read') {
      const pages = c.pages ?? [];
      for (const p of pages) {
        const { count, last_key: last, total } = p.answer;
        const start = last === '' ? 1 : Number(last) - count + 1;
        const Result = count < 0 ? undefined : Array.from({ length: count }, (_, i) => (last === '' ? { Name: `r${i}` } : { PK_ID: start + i }));
        answers.push({ status: 200, body: total >= 0 ? { Result, Pagination: { PageNumber: 1, PageSize: count, TotalCount: total } } : { Result } });
      }
      const got = [];
      let thrown;
      try {
        const read = (c.source === 'views' ? client.viewRecords : client.records).call(client, c.table, c.query);
        for await (const page of read.pages()) got.push(page.records.length);
      } catch (err) {
        thrown = err;
      }
      if (c.error) {
        assertError(thrown, c.error.kind === 'CONFIG_INVALID' ? { ...c.error, field: thrown?.field?.toLowerCase() === c.error.field.toLowerCase() ? thrown.field : c.error.field } : c.error, caspio);
        equal(sends.length, pages.length, 'requests before the error');
        return;
      }
      if (thrown) throw thrown;
      deepEqual(sends.map((s) => s.url), pages.map((p) => base + p.ref), 'the requests');
      deepEqual(got, pages.map((p) => p.keep).filter((k, i) => k > 0 || i === 0), 'records handed out per page');
    } else if (c.kind === 'write') {
      answers.push({ status: c.op === 'insert' ? 201 : 200, body: c.op === 'insert' ? undefined : { RecordsAffected: 1, Result: [] } });
      const call = { insert: () => client.insertRecords(c.table, [{ A: 1 }], { returnRows: c.return_rows }), update: () => client.updateRecords(c.table, c.where, { A: 1 }, { returnRows: c.return_rows }), delete: () => client.deleteRecords(c.table, c.where) }[c.op];
      const r = await settle(call());
      if (c.error) {
        assertError(r.error, c.error, caspio);
        equal(sends.length, 0, 'requests before the error');
        return;
      }
      if (r.error) throw r.error;
      deepEqual(sends, [{ url: base + c.ref, method: { insert: 'POST', update: 'PUT', delete: 'DELETE' }[c.op] }], 'the request');
    } else if (c.kind === 'insert') {
      answers.push({ status: c.status, body: c.status >= 200 && c.status < 300 ? undefined : { Code: 'X', Message: 'refused' } });
      const r = await client.insertRecords('Orders', [{ A: 1 }]);
      equal(r.results[0].outcome, c.outcome, 'outcome');
      equal(sends.length, 1, 'requests: a POST is sent once');
    } else if (c.kind === 'missing') {
      answers.push({ status: c.error_api.status, body: c.error_api.body });
      const r = await settle(client.records(c.table).toArray());
      ok(r.error instanceof caspio.CaspioAPIError, `expected a CaspioAPIError, got ${describe(r.error)}`);
      equal(r.error.table, c.missing.table, 'table');
      equal(r.error.field, c.missing.field, 'field');
    } else {
      throw new Error(`unknown kind ${c.kind}`);
    }
  } finally {
    client.close();
  }
}

/** What status() shows of the state in memory. */
function view(status) {
  return {
    accessTokenExpiresAt: status.accessTokenExpiresAt?.getTime() ?? null,
    refreshTokenExpiresAt: status.refreshTokenExpiresAt?.getTime() ?? null,
    tokenRequests: status.tokenRequests, logins: status.logins, refreshes: status.refreshes,
    unauthorizedRetries: status.unauthorizedRetries,
  };
}

/** Checks what status() shows against a state of the vectors. */
function matchState(v, state, what) {
  const n = state.counters ?? {};
  deepEqual(
    { accessTokenExpiresAt: v.accessTokenExpiresAt, refreshToken: v.refreshTokenExpiresAt !== null, tokenRequests: v.tokenRequests, logins: v.logins, refreshes: v.refreshes },
    {
      accessTokenExpiresAt: state.expires_at ?? null, refreshToken: Boolean(state.refresh_token),
      tokenRequests: { client_credentials: n.client_credentials_requests ?? 0, refresh_token: n.refresh_token_requests ?? 0 },
      logins: n.logins ?? 0, refreshes: n.refreshes ?? 0,
    },
    `the state ${what}`,
  );
}

/**
 * A wait the client announced against a vector's: the same; or, where the vector's is a
 * backoff with its jitter j (backoff/2 * (1 + j), backoff/2 one of the policy's), within
 * what that backoff gives for the client's own jitter: [backoff/2, backoff).
 */
function assertWait(got, want, jitter) {
  if (got === want) return;
  const j = typeof jitter === 'number' && jitter >= 0 && jitter < 1 ? jitter : 0.5;
  const half = want / (1 + j);
  const halves = [];
  for (let b = BACKOFF_BASE_MS; b <= BACKOFF_CAP_MS; b *= 2) halves.push(b / 2);
  if (!halves.some((h) => Math.abs(h - half) < 1e-6)) throw new Error(`wait: got ${got} ms, want ${want} ms`);
  ok(got >= half && got < 2 * half, `wait: got ${got} ms, want ${want} ms, or from ${half} to ${2 * half} ms for the client's own jitter`);
}

/**
 * A client of config whose storage and fetch are scripted, at the time now.
 * stored: the state in the store (null: none), or text: the stored text. answer(request):
 * the response to a token request ({kind: 'token', url, method, headers, body, grant}) or a
 * resource request ({kind: 'send', url, method, authorization}), or a promise of it; a
 * response is {status, content_type, body_text, retry_after, location}, status 0 with
 * error when none arrives. onWrite(state, index): after a write is recorded.
 */
async function world(caspio, config, { stored = null, text = stored === null ? null : JSON.stringify(stored), now = NOW, answer = () => REFUSAL, onWrite = () => {} } = {}) {
  let issued = 0;
  const w = {
    client: /** @type {any} */ (null), tokenRequests: [], sends: [], events: [], writes: [], text, notify: null,
    /** A new token, as a token endpoint answers a grant. */
    token: () => {
      issued++;
      return { status: 200, content_type: 'application/json', body_text: JSON.stringify({ access_token: `SECRET-vector-at${issued}`, token_type: 'bearer', expires_in: 86399, refresh_token: `SECRET-vector-rt${issued}` }) };
    },
  };
  const storage = scriptedStorage(caspio, w, onWrite);
  let tokenUrl = '';
  const fetch = async (url, init = {}) => {
    if (String(url) === tokenUrl) {
      const body = String(init.body ?? '');
      const request = { kind: 'token', url: String(url), method: init.method, headers: { ...init.headers }, body, grant: new URLSearchParams(body).get('grant_type') };
      w.tokenRequests.push(request);
      return tokenResponse(await answer(request));
    }
    const request = { kind: 'send', url: String(url), method: init.method ?? 'GET', authorization: new Headers(init.headers).get('authorization') ?? '' };
    w.sends.push(request);
    const r = await answer(request);
    if (r.status === 0) throw new TypeError(`fetch failed: ${r.error}`);
    return new Response(r.status === 200 ? '{}' : null, { status: r.status, headers: r.location ? { Location: r.location } : {} });
  };
  w.client = await caspio.createClient({ ...clientOptions(config), storage, fetch, now: () => now, onEvent: (e) => { w.events.push(e); } });
  tokenUrl = w.client.toJSON().tokenUrl;
  return w;
}

/** A storage over holder.text, the stored text: a text that is not JSON is a CaspioStateError, as the package's storages make it. */
function scriptedStorage(caspio, holder, onWrite = () => {}) {
  const writes = holder.writes ?? [];
  return {
    async get() {
      if (holder.text === null) return null;
      const parsed = parse(holder.text);
      if (!parsed.ok) throw new caspio.CaspioStateError('the stored state is not valid JSON');
      return parsed.value;
    },
    async set(state) {
      holder.text = JSON.stringify(state);
      writes.push(JSON.parse(holder.text));
      onWrite(writes[writes.length - 1], writes.length - 1);
    },
    async delete() { holder.text = null; },
    subscribe(onChange) {
      holder.notify = onChange;
      return () => { holder.notify = null; };
    },
  };
}

/** A token endpoint's response as the vectors give it; no Content-Type header stands for "" as in Go. */
function tokenResponse(r) {
  if (r.status === 0) throw new TypeError(`fetch failed: ${r.error ?? 'connection refused'}`);
  const headers = new Headers({ 'Content-Type': r.content_type ?? '' });
  if (r.retry_after !== undefined) headers.set('Retry-After', r.retry_after);
  if (r.location) headers.set('Location', r.location);
  return new Response(r.body_text ?? '', { status: r.status, headers });
}

async function unreachable() {
  throw new Error('this case makes no request');
}

/** Items in order, each waited for when not yet there. */
function inbox() {
  const items = [];
  const waiting = [];
  return {
    push(item) {
      const w = waiting.shift();
      if (w) w(item);
      else items.push(item);
    },
    next() {
      return items.length > 0 ? Promise.resolve(items.shift()) : new Promise((resolve) => { waiting.push(resolve); });
    },
    get size() { return items.length; },
  };
}

/** Waits, a timer tick at a time, until done() says so. */
async function quiet(done, what) {
  for (let i = 0; i < 2000; i++) {
    await ticks(1);
    if (done()) return;
  }
  throw new Error(`no end of waiting for ${what}`);
}

/** n timer ticks: the client has then done all it could do without waiting for I/O. */
async function ticks(n) {
  for (let i = 0; i < n; i++) await new Promise((resolve) => { setTimeout(resolve, 1); });
}

function settle(promise) {
  return promise.then((value) => ({ value, error: undefined }), (error) => ({ value: undefined, error }));
}

function bounded(promise, ms, what) {
  let timer;
  const late = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no end within ${ms} ms`)), ms); });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

function parse(text) {
  try {
    return { value: JSON.parse(text), ok: true };
  } catch {
    return { value: undefined, ok: false };
  }
}

/** The error class of each kind (index.d.ts). */
const CLASSES = {
  CONFIG_INVALID: 'CaspioConfigError', OAUTH_ERROR: 'CaspioOAuthError', CASPIO_API_ERROR: 'CaspioAPIError', RESPONSE_INVALID: 'CaspioResponseError',
  STATE_INVALID: 'CaspioStateError', URL_REFUSED: 'CaspioURLError', REDIRECT_REFUSED: 'CaspioRedirectError',
};

/**
 * Checks an error against a vector's expectation: its class and code, its fields, and that
 * neither its message nor any of its text fields (ref, location, ...) holds a secret or a
 * part of the input named in must_not_contain. A config error's field is the option's name.
 */
function assertError(err, want, caspio) {
  ok(err instanceof caspio.CaspioError, `expected a CaspioError (${want.kind}), got ${describe(err)}`);
  const texts = Object.getOwnPropertyNames(err).map((k) => err[k]).filter((v) => typeof v === 'string');
  for (const text of texts) {
    ok(!text.includes('SECRET'), `secret in the error: ${text}`);
    for (const part of want.must_not_contain ?? []) {
      ok(!text.includes(part), `${JSON.stringify(part)} of the input in the error: ${text}`);
    }
  }
  equal(err.code, want.kind, `code (${err.message})`);
  const Class = want.kind.startsWith('TOKEN_') ? 'CaspioTokenError' : CLASSES[want.kind];
  if (Class) ok(err instanceof caspio[Class], `expected a ${Class}, got ${err.name} (${err.message})`);
  if (want.field !== undefined) equal(err.field, want.kind === 'CONFIG_INVALID' ? optionName(want.field) : want.field, `field (${err.message})`);
  if (want.status !== undefined) equal(err.status, want.status, `status (${err.message})`);
  if (want.error_code !== undefined) equal(want.kind === 'CASPIO_API_ERROR' ? err.Code : err.error, want.error_code, `error (${err.message})`);
}

function describe(err) {
  if (err === undefined) return 'nothing';
  return err instanceof Error ? `${err.name}${err.code ? ` ${err.code}` : ''}: ${err.message}` : String(err);
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
