// Replays the conversation vectors of this folder (README.md) through the npm package's
// public API: createClient with a scripted fetch (the token endpoint and, unless a platform
// transport is given, the resource endpoint), a scripted storage and a clock that the script
// moves. A plain ES module with no node: import, so that Node (tests/js/conversations.test.js),
// Chromium (tests/browser/conversations.test.js) and workerd
// (tests/workers/conversations.test.js) run the same replay; conversation_test.go plays the
// same files against the core, step by step.
//
//   const results = await runConversations({ caspio, files });
//   // caspio: the package's module (createClient, CaspioStateError); files: file name to its
//   // parsed JSON, for the names in FILES. Optional: select(file, case) to run some cases
//   // only; resource, a transport that sends resource requests through the platform (see
//   // below); timeoutMs per case.
//   // results: [{file, name, ok, message, outcome: {outcome, token_requests, resource_requests}}]
//
// How a case is replayed (the README's "Replaying through a driver"):
// - Each call of the script starts at its `start` entry; a call whose script ended before
//   that entry is awaited first, and calls that overlap in the script run concurrently.
// - The n-th token request gets the n-th token_request result's response, the n-th resource
//   request the n-th send result's, the n-th read, lock, write and unlock of the storage the
//   n-th result of that kind (status 0 or an error: the operation fails).
// - The clock: the client's `now` option, set to a start entry's `now` when the call starts,
//   and to a result's `now` when the fake answers with it. So a read that "answers after the
//   lease lapsed" does, and the client sees what the core saw. Waits (Retry-After, backoff)
//   take real time: the jitter is the client's own, and only the outcome is compared.
// - The outcome: per call, "recovered" or the error's code (a platform's error, which has
//   none, by its name: "TypeError"), the token requests by grant and the resource requests.
//
// A platform transport (Chromium: the browser's own fetch, which follows redirects itself)
// is {config(config) -> the client's config, pointed at its server; load(sends) -> Promise,
// the send results to answer with; fetch(url, init); served() -> Promise<number>, the
// requests its servers answered}; its answers carry the result's now in X-Script-Now.

/** The conversation files. */
export const FILES = [
  'cold_start.json', 'expiry.json', 'hold.json', 'misuse.json', 'modes.json', 'redirects.json', 'refresh_refused.json',
  'reissued.json', 'resource_retry.json', 'stampede.json', 'start_lease.json', 'stored_state.json', 'token_endpoint.json', 'unauthorized.json',
];

/**
 * @param {{caspio: any, files: Record<string, {cases: any[]}>, select?: (file: string, c: any) => boolean, resource?: any, timeoutMs?: number}} input
 */
export async function runConversations({ caspio, files, select = () => true, resource, timeoutMs = 30_000 }) {
  const results = [];
  for (const file of FILES) {
    for (const c of files[file]?.cases ?? []) {
      if (c.core_only || !select(file, c)) continue;
      let outcome;
      try {
        outcome = await bounded(replay(caspio, c, resource), timeoutMs, c.name);
        const message = compare(c.outcome, outcome);
        results.push({ file, name: c.name, ok: message === '', message, outcome: outcome.record });
      } catch (err) {
        results.push({ file, name: c.name, ok: false, message: `the replay failed: ${err?.stack ?? err}`, outcome: outcome?.record });
      }
    }
  }
  return results;
}

/** Plays case c through a new client; returns what each call ended with and what was sent. */
async function replay(caspio, c, resource) {
  const queues = { token_request: [], send: [], read: [], lock: [], write: [], unlock: [] };
  for (const e of c.script) if (e.feed && queues[e.result.kind]) queues[e.result.kind].push(e.result);
  const starts = c.script.filter((e) => e.start);
  let clock = starts[0].now;
  const take = (kind) => {
    const r = queues[kind].shift();
    if (r) clock = r.now;
    return r;
  };
  const grants = { client_credentials: 0, refresh_token: 0 };
  let sends = 0;
  if (resource) await resource.load(queues.send);

  const fail = (r) => { if (r?.error) throw new Error(r.error); };
  const storage = {
    async get() {
      const r = take('read');
      fail(r);
      if (r?.stored_text === null || r?.stored_text === undefined) return null;
      let state;
      try {
        state = JSON.parse(r.stored_text);
      } catch {
        throw new caspio.CaspioStateError('the stored state is not valid JSON');
      }
      if (moved && state?.token_url === moved.from) state.token_url = moved.to; // the client's, on the transport's server
      return state;
    },
    async set() { fail(take('write')); },
    async delete() {},
  };
  if (c.options?.lock) {
    storage.lock = async () => {
      fail(take('lock'));
      return async () => { fail(take('unlock')); };
    };
  }
  let tokenUrl = '';
  const fetch = async (url, init = {}) => {
    if (String(url) === tokenUrl) {
      const grant = new URLSearchParams(String(init.body)).get('grant_type');
      grants[grant] = (grants[grant] ?? 0) + 1;
      const r = take('token_request')?.response ?? { status: 0, error: 'the script has no more token responses' };
      if (r.status === 0) throw new TypeError(`fetch failed: ${r.error}`);
      const headers = { 'Content-Type': r.content_type ?? 'application/json' };
      if (r.retry_after) headers['Retry-After'] = r.retry_after;
      if (r.location) headers.Location = r.location;
      return new Response(r.body_text ?? '', { status: r.status, headers });
    }
    if (resource) {
      const res = await resource.fetch(url, init);
      if (Number(res.headers.get('x-script-now')) > 0) clock = Number(res.headers.get('x-script-now'));
      return res;
    }
    sends++;
    if (init.body instanceof ReadableStream) await new Response(init.body).arrayBuffer();
    const r = take('send')?.response ?? { status: 0, error: 'the script has no more resource responses' };
    if (r.status === 0) throw new TypeError(`fetch failed: ${r.error}`);
    const headers = r.location ? { Location: r.location } : {};
    if (r.retry_after) headers['Retry-After'] = r.retry_after;
    return new Response(r.status === 200 || r.status === 201 ? '{}' : null, { status: r.status, headers });
  };

  const config = resource ? resource.config(c.config) : c.config;
  const options = { ...config, storage, fetch, now: () => clock, hold: c.options?.hold || undefined };
  if (c.options?.token_timeout_ms) options.tokenTimeout = c.options.token_timeout_ms;
  const client = await caspio.createClient(options);
  tokenUrl = client.toJSON().tokenUrl;
  let moved;
  if (resource) {
    const original = await caspio.createClient({ ...c.config, storage: caspio.memoryStorage() });
    moved = { from: original.toJSON().tokenUrl, to: tokenUrl };
    original.close();
  }

  const ends = {};
  c.script.forEach((e, i) => {
    const id = e.start ?? e.feed;
    if (id && ['done', 'fail'].includes(e.expect?.kind)) ends[id] = i;
  });
  const calls = {};
  const running = {};
  try {
    for (const [i, e] of c.script.entries()) {
      if (!e.start) continue;
      await Promise.all(Object.keys(running).filter((id) => ends[id] < i).map((id) => running[id]));
      clock = e.now;
      calls[e.start] = { call: e.call };
      running[e.start] = start(client, e).then(
        (status) => { calls[e.start].result = 'recovered'; if (status !== undefined) calls[e.start].status = status; },
        (err) => {
          calls[e.start].result = err?.code ?? err?.name ?? 'Error';
          calls[e.start].message = String(err?.message);
        },
      );
    }
    await Promise.all(Object.values(running));
  } finally {
    client.close();
  }
  const resourceRequests = resource ? await resource.served() : sends;
  const record = {
    outcome: Object.values(calls).map((call) => call.result).join(', '),
    token_requests: grants,
    resource_requests: resourceRequests,
  };
  return { calls, grants, resourceRequests, record };
}

/** Starts a call of the script through the public API; a fetch gives its response's status. */
async function start(client, e) {
  if (e.call !== 'fetch') {
    await client[e.call]();
    return undefined;
  }
  const r = e.request;
  const init = { method: r.method ?? 'GET' };
  if (r.redirect) init.redirect = r.redirect;
  if (r.no_retry) init.retry = false;
  if (r.one_shot) {
    init.body = new ReadableStream({ start(ctl) { ctl.enqueue(new TextEncoder().encode('{"a":1}')); ctl.close(); } });
    init.duplex = 'half';
  } else if (!['GET', 'HEAD'].includes(init.method)) {
    init.body = '{"a":1}';
    init.headers = { 'Content-Type': 'application/json' };
  }
  const res = await client.fetch(r.ref, init);
  await res.body?.cancel();
  return res.status;
}

/** '' when the replay ended as the case's outcome says, else what differs. */
function compare(want, got) {
  const problems = [];
  for (const [id, w] of Object.entries(want.calls)) {
    const g = got.calls[id] ?? {};
    if (g.result !== w.result || (w.status !== undefined && g.status !== w.status)) {
      problems.push(`call ${id} (${w.call}): got ${g.result}${g.status !== undefined ? ` ${g.status}` : ''}${g.message ? ` (${g.message})` : ''}, want ${w.result}${w.status !== undefined ? ` ${w.status}` : ''}`);
    }
    if (g.message?.includes('SECRET')) problems.push(`call ${id}: the error shows a secret`);
  }
  for (const grant of ['client_credentials', 'refresh_token']) {
    const w = want.token_requests?.[grant] ?? 0;
    if (got.grants[grant] !== w) problems.push(`${grant} requests: got ${got.grants[grant]}, want ${w}`);
  }
  if (got.resourceRequests !== want.resource_requests) problems.push(`resource requests: got ${got.resourceRequests}, want ${want.resource_requests}`);
  return problems.join('; ');
}

function bounded(promise, ms, what) {
  let timer;
  const late = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no end within ${ms} ms`)), ms); });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}
