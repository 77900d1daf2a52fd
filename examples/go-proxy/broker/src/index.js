// The token broker of the Go proxy: a JavaScript Worker that only exports caspio-auth's
// TokenBroker Durable Object class, which the Go Worker (../) binds as CASPIO_BROKER with
// script_name "caspio-token-broker" and reaches through the stub's fetch. A Go Worker cannot
// define a Durable Object class itself. This Worker holds no secret and serves nothing:
// its own fetch answers 404, and the broker has no public URL. It imports 'caspio-auth/broker',
// which carries the broker alone: not the core, whose caspio.wasm it would upload unused.
export { TokenBroker } from 'caspio-auth/broker';

export default {
  fetch() {
    return new Response('Not found', { status: 404 });
  },
};
