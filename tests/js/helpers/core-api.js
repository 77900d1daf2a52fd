// The core functions that tests/vectors/runner.js calls, over the WebAssembly core's
// exports (wasm/main.go), which are conversations now rather than single decisions:
// decide is the first step of a token conversation fed the stored state, tokenRequest the
// token_request step of an authenticate or refresh conversation. The vector files whose
// functions a driver cannot reach through conversations (token_responses.json,
// states.json, unauthorized.json and retry_after.json: attempt counts, the state in
// memory, the revoked set, Retry-After alone) run natively in vectors_test.go, and through
// a driver in the conversation vectors. Used in Node and, served as /js-helpers/, in
// Chromium: no node: import.

/** The vector files that run through these functions. */
export const REACHABLE = ['api_errors.json', 'config.json', 'decisions.json', 'resolve.json', 'token_requests.json'];

/** @param {any} core the exports of the started core */
export function coreAPI(core) {
  const descriptions = new Map();
  const stored = new Map();
  /** The first step of a conversation of mode that asks for a token request or ends, the store read giving the state restored. */
  const decisive = (h, mode, now) => {
    let step = core[mode](h, now);
    while (step.kind === 'read') step = core.next(h, step.conversation, { kind: 'read', now, stored: stored.get(h) ?? null });
    if (step.conversation) core.abandon(h, step.conversation);
    return step;
  };
  const unreachable = (name) => () => { throw new Error(`${name} is no export of the core: see tests/js/helpers/core-api.js`); };
  return {
    open(config) {
      const opened = core.open(config);
      if (opened instanceof Error) return opened;
      descriptions.set(opened.handle, opened.description);
      return opened.handle;
    },
    describe: (h) => descriptions.get(h),
    restore(h, state) {
      stored.set(h, state);
      return true;
    },
    decide(h, now) {
      const step = decisive(h, 'token', now);
      if (step.kind === 'done') return { action: 'lease', authorization: step.lease.authorization, validUntil: step.lease.valid_until };
      return { action: step.grant === 'refresh_token' ? 'refresh' : 'authenticate' };
    },
    tokenRequest(h, action) {
      const { method, url, grant, headers, body } = decisive(h, action === 'refresh' ? 'refresh' : 'authenticate', 1_700_000_000_000);
      return { method, url, grant, headers, body };
    },
    resolve: (h, ref) => core.resolve(h, ref),
    apiError: (...args) => core.apiError(...args),
    handleTokenResponse: unreachable('handleTokenResponse'),
    state: unreachable('state'),
    unauthorized: unreachable('unauthorized'),
    retryAfter: unreachable('retryAfter'),
  };
}
