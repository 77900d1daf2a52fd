// @ts-check
// The Workers storages where there are no Workers bindings: the same exports as in
// workerd.js, so that one types file serves every entry point, failing with the fix
// instead of a missing import.

const WHERE = 'it works in Cloudflare Workers, where the package\'s "workerd" export condition loads it (wrangler and miniflare apply it)';

/** @returns {never} */
export function kvStorage() {
  throw new TypeError(`caspio-auth: kvStorage needs a Workers KV binding; ${WHERE}. Here use memoryStorage(), fileStorage(path) in Node, or a storage of your own`);
}

/** @returns {never} */
export function brokerStorage() {
  throw new TypeError(`caspio-auth: brokerStorage needs a Durable Object binding; ${WHERE}`);
}

/** The Durable Object class exists only in Workers; constructing it elsewhere throws. */
export class TokenBroker {
  constructor() {
    throw new TypeError(`caspio-auth: TokenBroker is a Durable Object class; ${WHERE}`);
  }
}
