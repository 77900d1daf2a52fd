// Types of 'caspio-auth/broker' (broker.js in Workers): the TokenBroker Durable Object class
// and brokerStorage without the core, for a Worker that only defines the broker (such as the
// Go proxy's, which binds it from another Worker) and so need not carry caspio.wasm.
export { TokenBroker, brokerStorage } from './index.js';
export type { BrokerStorageOptions, TokenBrokerNamespace, TokenBrokerState } from './index.js';
