// Types of 'caspio-auth/redis' (redis-storage.js), the Node entry of redisStorage.
import type { RedisClientLike, RedisStorageOptions, Storage } from './index.js';

export type { RedisClientLike, RedisStorageOptions } from './index.js';

/**
 * Node only: a storage in Redis, through a connected client of the redis package (node-redis
 * 5 or 6, an optional peer dependency). For a key k, "{k}:state" holds the state JSON (the
 * format every runtime writes, expiring when no token in it is of use any more) and
 * "{k}:lock" the lock, under one hash tag for Redis Cluster: a Go service using the Go
 * module's redisstore.New(rdb, k) shares the token. The lock is SET NX PX with a random
 * value, extended while held, released only by its holder; the write keeps a newer stored
 * state. A Redis failure is a storage_error event, and the client goes on with the token in
 * memory.
 */
export declare function redisStorage(client: RedisClientLike, key?: string, options?: RedisStorageOptions): Storage & { readonly key: string };
