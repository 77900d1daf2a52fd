// Types of caspio-auth: the one source of truth for the API of every entry point (Node,
// browsers, Cloudflare Workers and the default). Hand-written; tests/js/types/usage.ts is
// compiled against it with tsc --strict.

/** The package version; caspio.wasm must be the same version. */
export declare const VERSION: string;

/** Options of createClient. Give exactly one of account, integrationUrl, or tokenUrl with resourceUrl. */
export interface ClientOptions {
  /** The Caspio account ID, the subdomain of the integration URL, e.g. "c1abc123". */
  account?: string;
  /** The account's integration URL, e.g. "https://c1abc123.caspio.com". */
  integrationUrl?: string;
  /** The token endpoint, as the Web services profile shows it, e.g. "https://c1abc123.caspio.com/oauth/token". */
  tokenUrl?: string;
  /** The resource endpoint, as the Web services profile shows it, e.g. "https://c1abc123.caspio.com/rest/v2". */
  resourceUrl?: string;
  /** The REST API version. If omitted, "v2", or the version resourceUrl ends with. */
  apiVersion?: 'v2' | 'v3';
  /** The Client ID of the Web services profile. Required. */
  clientId: string;
  /**
   * The Client Secret of the Web services profile; it is sent to the token endpoint only.
   * Required, except for a client made with hold: 'all', which sends no token request and
   * uses stored tokens only.
   */
  clientSecret?: string;
  /** Where a login puts the credentials: form fields ("body", the default) or an HTTP Basic header ("basic"). */
  credentials?: 'body' | 'basic';
  /**
   * Where the token state persists. If omitted, memoryStorage(), whose tokens die with the
   * process (in browsers webStorage(sessionStorage), shared with the origin's other tabs),
   * so a program that starts often should pass a shared storage (fileStorage in Node, KV
   * in Workers): every login mints a refresh token, and an account keeps 1,000.
   */
  storage?: Storage;
  /** The fetch to use. If omitted, globalThis.fetch (read when a request is made). */
  fetch?: (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>;
  /** Seconds before its expiry that an access token is refreshed. If omitted, 300; at most 43,200. */
  refreshMargin?: number;
  /** Milliseconds each token request attempt may take. If omitted, 30,000. */
  tokenTimeout?: number;
  /**
   * Token requests the client must not send now: "login" refuses logins (client_credentials
   * grants; refreshes still go), "all" every token request. Where one would be sent the call
   * fails with a CaspioTokenError of code TOKEN_REQUEST_HELD; stored and held tokens are
   * still used. If omitted, every token request is allowed.
   */
  hold?: 'login' | 'all';
  /** The clock, in Unix milliseconds. If omitted, Date.now (read at every use). Waits still take real time. */
  now?: () => number;
  /** Observes token events; called synchronously, so it must not block. Events carry no secret. */
  onEvent?: (event: ClientEvent) => void;
}

/**
 * Where a client keeps its token state: the versioned JSON object the core encodes (the
 * same format in Go, Node, browsers and Workers, so that runtimes may share one store). The
 * state holds the tokens in clear; keep it where only this program can read it.
 */
export interface Storage {
  /** Returns the stored state, or null when nothing is stored. A CaspioStateError means "unreadable": the client discards it. */
  get(): Promise<object | null>;
  /**
   * Replaces the stored state. A store that expires entries drops it after options.ttl
   * seconds (the client gives it: until no token in the state is of use, at least 60 s);
   * options.ttl null, or no options, means keep it.
   */
  set(state: object, options?: StorageSetOptions): Promise<void>;
  /** Deletes the stored state. */
  delete(): Promise<void>;
  /**
   * Optional, for a store shared by processes or isolates: waits for an exclusive lock and
   * returns the function that releases it. The client first reads the state without it (a
   * valid token stored by another sharer takes no lock); when it needs a token request, it
   * holds the lock from reading the state again to storing the new one, so that sharers make
   * one token request between them. The client aborts signal when it stops waiting (after
   * the token timeout): a storage that polls for its lock should then stop and reject.
   */
  lock?(options?: { signal?: AbortSignal; policy?: StorageLockPolicy }): Promise<() => Promise<void> | void>;
  /**
   * Optional, for a store that others write (the tabs sharing a webStorage): calls onChange
   * when another writer stored a new state, and returns the function that stops it. The
   * client then drops its token in memory and reads the stored one at its next request.
   */
  subscribe?(onChange: () => void): () => void;
  /**
   * Optional, for a store that can be read synchronously and at once (fileStorage): the
   * stored state, or null when there is none or it cannot be read now. In Node, a client
   * whose storage has it has its core write a lease with the state, and a client made later
   * with the same configuration sends its first requests with that lease before its core
   * has started (see createClient).
   */
  peek?(): object | null;
}

/**
 * How a storage whose lock lapses by itself (fileStorage, redisStorage, brokerStorage) holds
 * and waits for it: the core's decisions, which the client's lock step passes to lock(), in
 * milliseconds, as values the storage only looks up. Every runtime sharing a lock uses the
 * same; those storages refuse a lock() called without them.
 */
export interface StorageLockPolicy {
  /** How long the client waits for the lock before it goes on without it. */
  timeout_ms: number;
  /** How long a lock is honoured after its holder last took or extended it. */
  lock_ttl_ms: number;
  /** How often the holder extends it. */
  lock_extend_ms: number;
  /**
   * A waiter's pauses: entry n-1 bounds the pause after its n-th failed try, [min, max]
   * (the last entry for every later pause); the pause is min plus a random share of the rest.
   */
  lock_pauses_ms: [number, number][];
  /**
   * The age up to which a lock is honoured, by what its waiter saw: an owner record
   * (held), a holder that died on this host (holder_gone, -1: at any age), no readable
   * record (unreadable: a lock file being written).
   */
  lock_stale_ms: { held: number; holder_gone: number; unreadable: number };
}

/** What the client tells a storage about a state it stores. */
export interface StorageSetOptions {
  /** When the state is of no use any more, in Unix milliseconds; null: never. */
  expiresAt: number | null;
  /** expiresAt less now, in whole seconds, at least 60; null: never. */
  ttl: number | null;
}

/**
 * fileStorage takes no options: how long its lock is waited for follows the client's
 * tokenTimeout, and when a lock is stale is the core's lock policy, the same for every Go or
 * Node process on the file (docs/token-file.md).
 */
export type FileStorageOptions = Record<string, never>;

/** A token and what the client knows about it. */
export interface Token {
  /** The bearer token. Send it to the resource endpoint only. */
  accessToken: string;
  tokenType: 'bearer';
  /** When the access token expires. */
  expiresAt: Date;
  /** When the client stops using it: the refresh margin before expiresAt. */
  validUntil: Date;
  /** When the refresh token expires on Caspio's side, as far as the client can tell; null when there is none. */
  refreshTokenExpiresAt: Date | null;
  /** Successful logins (client_credentials grants) of the stored state, across restarts as far as the storage keeps it. */
  logins: number;
  /** Successful refreshes of the stored state. */
  refreshes: number;
}

/** What a client knows of its tokens now, for a status page or a log line (client.status()). No secret. */
export interface ClientStatus {
  /** Seconds before its expiry that an access token is refreshed. */
  refreshMargin: number;
  /** When the access token in memory expires; null when there is none. */
  accessTokenExpiresAt: Date | null;
  /** When the client stops sending it: refreshMargin before it expires; null when there is none. */
  leaseValidUntil: Date | null;
  /** Whether a request now is sent with the token in memory, without a call into the core. */
  leaseValid: boolean;
  /** When the refresh token expires on Caspio's side, as far as the client can tell; null when there is none. */
  refreshTokenExpiresAt: Date | null;
  /** What a request for a token would do now: use the token in memory, refresh, or log in. */
  next: 'lease' | 'refresh' | 'authenticate';
  /** Token requests made, failed ones included, by grant (of the state, across restarts as far as the storage keeps it). */
  tokenRequests: { client_credentials: number; refresh_token: number };
  logins: number;
  refreshes: number;
  /** Resource requests this client sent again after a 401. */
  unauthorizedRetries: number;
  /** Access tokens this client remembers as refused by a 401 (at most 4). */
  revoked: number;
  /** The token acquisition in flight, if any. */
  acquiring: 'token' | 'authenticate' | 'refresh' | null;
  /** The hold option in force. */
  hold: 'login' | 'all' | null;
}

/** Counters of a client. All but unauthorizedRetries come from the stored state. */
export interface ClientStats {
  /** Token requests made, failed ones included, by grant. */
  tokenRequests: { client_credentials: number; refresh_token: number };
  logins: number;
  refreshes: number;
  /** Resource requests this client sent again after a 401. */
  unauthorizedRetries: number;
}

export type ClientEventType =
  | 'token_request' // a token request is about to be sent (grant, attempt)
  | 'login' // a client_credentials grant succeeded (expiresAt)
  | 'refresh' // a refresh_token grant succeeded (expiresAt)
  | 'token_error' // a token request failed (status, error)
  | 'retry' // the failed request will be retried after waitMs
  | 'resource_retry' // a resource request is sent again after waitMs (attempt, status: 0 when no answer came)
  | 'revoked' // a 401 on a resource request refused an access token (the current one, which is dropped, or an older one)
  | 'state_discarded' // the stored state could not be read and was ignored (error is a CaspioStateError)
  | 'storage_error'; // the storage or its lock failed; the token is kept in memory (error)

/** What the client did with its tokens, for logs and metrics. It never holds a secret. */
export interface ClientEvent {
  type: ClientEventType;
  grant?: 'client_credentials' | 'refresh_token';
  /** The attempt within this acquisition, from 1. */
  attempt?: number;
  /** The HTTP status of the token response; 0 when none arrived. */
  status?: number;
  /** The new access token's expiry, for login and refresh. */
  expiresAt?: Date;
  /** How long until the retry, for retry. */
  waitMs?: number;
  error?: Error;
}

/** One record: field name to value, as Caspio's JSON has it. */
export type RecordRow = Record<string, unknown>;

/** What a records read selects (Caspio's q.* parameters) and how it pages. */
export interface RecordsQuery {
  /** The fields to return, as a list or as q.select's text ("PK_ID, Total"); all when absent. Key paging adds PK_ID when it is not listed. */
  select?: string[] | string;
  /** q.where, sent as typed (quotes are not changed); none when empty. */
  where?: string;
  /** q.orderBy ("Field [ASC|DESC], ..."); when empty, a table is read in PK_ID order. */
  orderBy?: string;
  /** q.groupBy; none when empty. */
  groupBy?: string;
  /** The most records the read returns in all; all when absent or 0. */
  limit?: number;
  /** Records per request, 5 to 1,000; 1,000 when absent or 0. */
  pageSize?: number;
  /** The page to start at, from 1 (a grid's page N): above 1 the read pages by number, in PK_ID order for a table without an orderBy. */
  startPage?: number;
}

/** One page of a read. */
export interface RecordsPage {
  records: RecordRow[];
  /** The page's number, from 1 (from startPage on). */
  pageNumber: number;
  /** The records asked for per request. */
  pageSize: number;
  /** The records the request matched, from v3's Pagination.TotalCount; null when Caspio gives none (v2). */
  total: number | null;
  /**
   * The read ends with this page, as the paging rules decided: a short page, v3's total
   * reached, the limit. After a full page of a v2 read it is false, since there the end shows
   * only in the next answer.
   */
  last: boolean;
}

/** A lazy read of records: iterate it for records, pages() for whole pages. */
export interface RecordsRead extends AsyncIterable<RecordRow> {
  pages(): AsyncIterable<RecordsPage>;
  /** Every record in an array; limit caps them, as the query's limit does. */
  toArray(options?: { limit?: number }): Promise<RecordRow[]>;
}

/** What became of the rows of insertRecords, in order. */
export interface InsertRecordsResult {
  inserted: number;
  results: { outcome: 'inserted' | 'refused' | 'unknown'; record?: RecordRow; error?: unknown }[];
}

/** A client of one Caspio REST API account and Web services profile. Make one and share it. */
export interface CaspioClient {
  /**
   * fetch with the Bearer token. input is a path resolved against the REST base ("tables",
   * "tables/Orders/records?q.where=..."), a URL on the resource endpoint, or a Request for
   * one; a URL elsewhere is refused with a CaspioURLError. Redirects are followed (at most
   * 10, then a CaspioRedirectError, as with redirect: "error"), with the token only on the
   * REST base (in browsers the browser follows them, dropping the token off the origin); a
   * redirect to a URL with user info, or not to an http(s) URL, or to no valid URL, is
   * refused with a CaspioURLError. After a 401 the token is dropped and, when
   * the body can be sent again (none, a string, ArrayBuffer, typed array, Blob,
   * URLSearchParams, FormData, or a Request), the request is sent once more with a fresh
   * token; otherwise the 401 is returned as is. Any other response is returned as is: see
   * apiErrorFromResponse. init.signal also ends the wait for a token, without cancelling
   * the token request that other callers share. A GET, HEAD, OPTIONS, PUT or DELETE answered
   * with a 429 or a 5xx (but 501 and 505), or not at all, is sent again by the core's rules
   * (at most 3 times, after the Retry-After up to 30 s or a backoff; never a POST), each
   * reported as a resource_retry event; init.retry false turns that off for the request.
   */
  fetch(input: RequestInfo | URL, init?: RequestInit & { retry?: boolean }): Promise<Response>;
  /**
   * The records of a table that query selects, fetched a page at a time as the loop asks
   * (`for await (const row of client.records('Orders', { where: "Status = 'Shipped'" }))`);
   * breaking out fetches no further page. The paging rules are the core's: a table read in
   * its key's order (no orderBy, or "PK_ID") pages by PK_ID (each page `PK_ID > last`, the
   * where kept), so that records added or deleted meanwhile are neither skipped nor handed
   * out twice; one in the caller's own order, with groupBy, or of a view pages by page
   * number, which promises that only while the records do not change. A bad query (a
   * pageSize outside 5 to 1,000, a negative limit, no table name) throws a
   * CaspioConfigError here, before any request; an unknown table or field rejects with a
   * CaspioAPIError whose table and field say which; a where Caspio refuses, with its
   * Message and RequestId.
   */
  records(table: string, query?: RecordsQuery): RecordsRead;
  /** The records of a view, read as records() reads a table's (by page number: a view has no key). */
  viewRecords(view: string, query?: RecordsQuery): RecordsRead;
  /**
   * Inserts rows into table, one POST per row as Caspio takes them, in order. A POST is
   * never sent again once it may have reached Caspio: each result says whether the row is
   * in ("inserted", with the row as Caspio stored it when returnRows), was refused by
   * Caspio ("refused", with its CaspioAPIError: send it again once that is dealt with), or
   * may or may not be in ("unknown": a 5xx or no answer; check before sending it again).
   */
  insertRecords(table: string, rows: object[], options?: { returnRows?: boolean }): Promise<InsertRecordsResult>;
  /**
   * Sets values in the records of table that where matches. An empty where throws a
   * CaspioConfigError before any request (Caspio refuses it too). Rejects with the
   * CaspioAPIError Caspio answered.
   */
  updateRecords(table: string, where: string, values: object, options?: { returnRows?: boolean }): Promise<{ recordsAffected: number; records: RecordRow[] }>;
  /** Deletes the records of table that where matches; an empty where throws first, as for updateRecords. */
  deleteRecords(table: string, where: string): Promise<{ recordsAffected: number }>;
  /**
   * The absolute URL that fetch(ref) sends to: ref (a path such as "tables",
   * "/rest/v2/tables" or "v2/tables", or a URL on the resource endpoint) resolved against
   * the REST base by the core's rules, the same as fetch. It sends nothing and needs no
   * token. A reference that fetch would refuse (off the resource endpoint, outside the REST
   * base, another API version's, with dot segments, ...) throws a CaspioURLError. The URL
   * starts with toJSON().resourceBase.
   */
  resolve(ref: string | URL): string;
  /** A valid token, getting one if needed (from memory, the storage, a refresh or a login). */
  token(): Promise<Token>;
  /** Logs in with the client ID and secret now. Each login mints a refresh token, of which an account keeps 1,000: token() is what most callers want. */
  authenticate(): Promise<Token>;
  /** Refreshes now; logs in instead when the refresh token is refused or absent. */
  refresh(): Promise<Token>;
  /** What the client knows of its tokens now: margins, expiries, lease validity, counters. */
  status(): ClientStatus;
  /** The counters of status(). */
  stats(): ClientStats;
  /** Adds an event listener; returns the function that removes it. */
  on(listener: (event: ClientEvent) => void): () => void;
  /** Forgets the tokens in memory (the storage keeps them). Later calls throw a CaspioConfigError. */
  close(): void;
  /** The endpoints and client ID, no secret. */
  toJSON(): { tokenUrl: string; resourceBase: string; apiVersion: string; clientId: string; credentials: string };
}

/**
 * Creates a client. It makes no request; the first fetch or token() gets a token.
 *
 * In Node, when the storage holds a lease for this configuration (written by an earlier
 * client with the same options, see Storage.peek) that is valid now, the client is returned
 * before the WebAssembly core has started: its fetch of a path the lease knows is sent at
 * once, and the core starts at the first call the lease cannot serve or answer other than a
 * success. A configuration error the core finds (an empty clientSecret, say) is then thrown
 * by that call instead of by createClient. Call initialize() first to start the core here.
 */
export declare function createClient(options: ClientOptions): Promise<CaspioClient>;

/**
 * Starts the WebAssembly core from an explicit location or compiled module. Optional (the
 * first createClient starts it from caspio.wasm beside the package); call it once, before
 * any client. In Workers only wasmModule is allowed.
 */
export declare function initialize(options?: { wasmURL?: string | URL; wasmModule?: WebAssembly.Module }): Promise<void>;

/** A storage in memory, for one process or isolate: the default. */
export declare function memoryStorage(): Storage;

/**
 * Node only (elsewhere it throws a TypeError): a storage in the JSON file at path, mode
 * 0600, written atomically and locked across processes, in the format of the Go client's
 * FileStore.
 */
export declare function fileStorage(path: string, options?: FileStorageOptions): Storage & { readonly path: string };

/**
 * Browsers only (elsewhere it throws a TypeError): a storage in sessionStorage (the
 * default, and createClient's default storage in browsers) or localStorage, holding the
 * token state JSON only (never the client secret). The tabs of one origin share it: a Web
 * Lock lets one tab at a time request a token, and a BroadcastChannel hands each new state
 * to the other tabs, so that they make no token request of their own (with sessionStorage,
 * which is per tab, each tab keeps a copy, so that a reload keeps the session).
 *
 * key: where the state is stored. If omitted, createClient keys it by the client:
 * "caspio-auth:" + token URL + "#" + client ID (such a storage is for createClient only;
 * give a key to use it elsewhere too). Also the name of the Web Lock and the
 * BroadcastChannel.
 */
export declare function webStorage(
  storage?: { getItem(key: string): string | null; setItem(key: string, value: string): void; removeItem(key: string): void },
  key?: string,
): Storage & { readonly key: string | null; subscribe(onChange: () => void): () => void };

/**
 * The key under which webStorage keeps a client's state when createClient keys it:
 * "caspio-auth:" + token URL + "#" + client ID (also the name of its Web Lock and
 * BroadcastChannel). A page that keeps its own entries beside the package's asks this
 * rather than build the key. Pure: it works in every runtime.
 */
export declare function webStorageKey(client: CaspioClient | { tokenUrl: string; clientId: string }): string;

/**
 * The part of a node-redis client (the redis package, 5 or 6: createClient() or
 * createCluster(), connected) that redisStorage from 'caspio-auth/redis' uses.
 */
export interface RedisClientLike {
  get(key: string): Promise<unknown>;
  set(key: string, value: string, options?: { NX?: boolean; PX?: number }): Promise<unknown>;
  del(key: string): Promise<unknown>;
  type(key: string): Promise<unknown>;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  evalSha(sha1: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
}

/** Options of redisStorage, in milliseconds. */
export interface RedisStorageOptions {
  /** How long one Redis command may take before the storage gives up on it (the client then goes on with the token in memory). If omitted, 3,000, as go-redis's read timeout. */
  timeout?: number;
}

/** The part of a Workers KV namespace binding (KVNamespace) that kvStorage uses. */
export interface KVNamespaceLike {
  get(key: string, options: { type: 'text' }): Promise<string | null>;
  put(key: string, value: string, options?: { expirationTtl?: number }): Promise<void>;
  delete(key: string): Promise<void>;
}

/**
 * Cloudflare Workers only (elsewhere it throws a TypeError): a storage in Workers KV, the
 * state JSON under key (if omitted, "caspio-token"; use one key per client ID), written with
 * the expirationTtl the client gives (StorageSetOptions.ttl: until no token in the state is
 * of use any more, at least 60 s; the same in every runtime).
 * KV is eventually consistent and has no lock: a stale read costs at most a refresh or a
 * login that was not needed (the core re-checks every state it reads), so a deployment may
 * make a few extra logins on cold starts across locations. For exactly one token request at
 * a time per deployment, use brokerStorage.
 */
export declare function kvStorage(namespace: KVNamespaceLike, key?: string): Storage & { readonly key: string };

/**
 * The part of a Durable Object namespace binding (DurableObjectNamespace) that
 * brokerStorage uses. Its objects must be of the TokenBroker class.
 */
export interface TokenBrokerNamespace {
  idFromName(name: string): unknown;
  get(id: unknown): unknown;
}

/** Options of brokerStorage, in milliseconds. */
export interface BrokerStorageOptions {
  /**
   * How long the broker's lock is honoured after its holder last took or extended it (the
   * holder extends it while it works; one whose request ended lets it lapse). If omitted,
   * the core's lock TTL, from the client's lock step; at most 300,000.
   */
  lockLease?: number;
  /** How long lock() waits for the broker's lock; then the client goes on without it. If omitted, the client's lock step's limit (the core's, from its tokenTimeout; 220,000 by default); at most 300,000. */
  lockTimeout?: number;
}

/**
 * Cloudflare Workers only (elsewhere it throws a TypeError): a storage whose state and lock
 * are held by the TokenBroker Durable Object called name (if omitted, "default"; use one per
 * client ID) in namespace, reached over RPC (compatibility date 2024-04-03 or later). The
 * isolates of a deployment that share it make one token request at a time between them:
 * 200 cold requests across isolates make one login, and an expiry one refresh.
 */
export declare function brokerStorage(namespace: TokenBrokerNamespace, name?: string, options?: BrokerStorageOptions): Storage & { readonly name: string };

/** What TokenBroker needs of its Durable Object state: its storage. */
export interface TokenBrokerState {
  readonly storage: {
    get(key: string): Promise<unknown>;
    put(key: string, value: unknown): Promise<void>;
    delete(key: string): Promise<boolean>;
  };
}

/**
 * Cloudflare Workers only (elsewhere constructing it throws a TypeError): the Durable Object
 * class behind brokerStorage. It keeps the token state in its own storage and a lease lock
 * in memory, and holds no secret. Re-export it from the Worker's main module
 * (`export { TokenBroker } from 'caspio-auth'`) and bind it under durable_objects, with a
 * migration that creates it (new_sqlite_classes). brokerStorage calls these methods.
 */
export declare class TokenBroker {
  constructor(ctx: TokenBrokerState, env: unknown);
  /**
   * Waits for the lock (at most waitMs) and returns its ID; the lock lapses after leaseMs.
   * Both are the caller's to name (the broker has no defaults): a call without one is a
   * TypeError naming it.
   */
  lock(options: { leaseMs: number; waitMs: number }): Promise<string>;
  /** Extends the lock's lease to leaseMs from now; false when its lease had already run out. */
  extend(id: string, leaseMs: number): Promise<boolean>;
  /** Releases the lock; false when its lease had already run out. */
  unlock(id: string): Promise<boolean>;
  getState(): Promise<object | null>;
  setState(state: object): Promise<void>;
  deleteState(): Promise<void>;
  /**
   * The same operations over HTTP through the stub's fetch, for Workers that cannot use JS
   * RPC (Go Workers): POST /lock {leaseMs, waitMs} -> {id} (503 lock_timeout; 400 naming
   * a missing one), POST /extend {id, leaseMs} -> {extended}, POST /unlock {id} -> {released}, GET /state -> the state JSON or 204, PUT /state, DELETE
   * /state -> 204. Errors are JSON {error, message} and never quote the request.
   */
  fetch(request: Request): Promise<Response>;
}

/**
 * The CaspioAPIError of a failed resource response (reads its body; the response hangs off
 * the error as the non-enumerable `response`). A success (2xx) is no error: the promise
 * rejects with a TypeError and the body is left unread.
 */
export declare function apiErrorFromResponse(response: Response): Promise<CaspioAPIError>;

/**
 * The rules of a proxy in front of the REST API, the core's (the package's proxy/ and the Go
 * example proxy ask the same functions): resolves once the core has started.
 */
export declare function proxyRules(): Promise<ProxyRules>;

export interface ProxyRules {
  /**
   * A resource path as it arrived (percent-encoded, starting with "/"): its decoded
   * segments and the reference spelled one way for Caspio (every byte but letters, digits
   * and - . _ ~ percent-encoded), or why it is refused, as words that follow "the path"
   * ("has an empty segment 2"). Only what a resource name needs gets through: no dot
   * segments, encoded separators, ";", control characters or look-alike dots and slashes.
   */
  parsePath(path: string): { ref: string; segments: string[] } | { problem: string };
  /** The first character of a decoded segment that a resource name does not need: what it is, and where (from 1); null when there is none. */
  badChar(name: string): { what: string; at: number } | null;
  /**
   * How a proxy answers a request whose token request failed with HTTP status (0: no
   * answer); refused: the token endpoint answered with an OAuth error (errorCode, e.g.
   * "invalid_client"). 400/401 refused: 502 caspio_auth_failed; 429, 5xx: 503
   * caspio_unavailable; else 502 caspio_unreachable. The message holds no secret.
   */
  tokenFailure(status: number, refused: boolean, errorCode?: string): { status: number; code: string; message: string };
}

/**
 * The codes of caspio-auth's errors, the same in every runtime (the core's error kinds).
 * CORE_PANIC: the WebAssembly core failed inside one call (a bug; the other calls go on);
 * STEP_MISUSED: a call reached the core out of turn (a bug); WASM_START_FAILED and
 * WASM_VERSION_MISMATCH: caspio.wasm did not start, or is of another version.
 */
export type CaspioErrorCode =
  | 'CONFIG_INVALID' | 'OAUTH_ERROR' | 'CASPIO_API_ERROR' | 'RESPONSE_INVALID' | 'STATE_INVALID' | 'URL_REFUSED'
  | 'TOKEN_GAVE_UP' | 'TOKEN_REISSUED' | 'TOKEN_REQUEST_HELD' | 'TOKEN_NOT_USABLE' | 'REDIRECT_REFUSED'
  | 'STEP_MISUSED' | 'CORE_PANIC' | 'WASM_START_FAILED' | 'WASM_VERSION_MISMATCH';

/** Every error of caspio-auth; `code` is stable across versions and runtimes. */
export declare class CaspioError extends Error {
  constructor(code: string, message: string, options?: { cause?: unknown });
  readonly code: CaspioErrorCode | (string & {});
  /** The HTTP response the error came from, if any (not enumerable). */
  readonly response?: Response;
}

/** A bad option (code CONFIG_INVALID): names the option and the fix. */
export declare class CaspioConfigError extends CaspioError {
  constructor(message: string, details?: { field?: string });
  readonly code: 'CONFIG_INVALID';
  readonly field: string;
}

/** An OAuth 2.0 error answered by the token endpoint (code OAUTH_ERROR; RFC 6749 section 5.2). */
export declare class CaspioOAuthError extends CaspioError {
  constructor(message: string, details?: { status?: number; error?: string; errorDescription?: string; errorUri?: string; grant?: string });
  readonly code: 'OAUTH_ERROR';
  readonly status: number;
  /** e.g. "invalid_client", "invalid_grant" */
  readonly error: string;
  readonly errorDescription: string;
  readonly errorUri: string;
  readonly grant: string;
}

/** An error answered by Caspio's REST API (code CASPIO_API_ERROR), with Caspio's own field names. */
export declare class CaspioAPIError extends CaspioError {
  constructor(message: string, details?: { status?: number; Code?: string; Message?: string; Resource?: string; RequestId?: string });
  readonly code: 'CASPIO_API_ERROR';
  readonly status: number;
  /** Caspio's error code, e.g. "ObjectNotFound" */
  readonly Code: string;
  readonly Message: string;
  readonly Resource: string;
  readonly RequestId: string;
  /** For a records call: the table or view Caspio says is missing, or whose field is; "" otherwise. */
  readonly table?: string;
  /** For a records call: the field Caspio says is missing; "" otherwise. */
  readonly field?: string;
}

/** A token endpoint response that is no usable answer, or none at all (status 0: then cause is the platform's error) (code RESPONSE_INVALID). */
export declare class CaspioResponseError extends CaspioError {
  constructor(message: string, details?: { status?: number; field?: string; location?: string; cause?: unknown });
  readonly code: 'RESPONSE_INVALID';
  readonly status: number;
  readonly field: string;
  /** The Location of a redirect, if the token endpoint redirected, without its query and user info. */
  readonly location: string;
}

/**
 * An acquisition that ended without a token for a reason of its own: TOKEN_GAVE_UP (its
 * token requests ran out; cause is the last one's error), TOKEN_REISSUED (the token endpoint
 * answered with the access token a 401 had just refused: a server that issues the same token
 * again, or a 401 about permissions, not the token), TOKEN_REQUEST_HELD (the hold option
 * stopped a token request), TOKEN_NOT_USABLE (the new token gives no lease: check the clock).
 */
export declare class CaspioTokenError extends CaspioError {
  constructor(message: string, details?: { code?: 'TOKEN_GAVE_UP' | 'TOKEN_REISSUED' | 'TOKEN_REQUEST_HELD' | 'TOKEN_NOT_USABLE'; grant?: string; cause?: unknown });
  readonly code: 'TOKEN_GAVE_UP' | 'TOKEN_REISSUED' | 'TOKEN_REQUEST_HELD' | 'TOKEN_NOT_USABLE';
  /** The grant concerned ("client_credentials" or "refresh_token"), or "". */
  readonly grant: string;
}

/** A redirect a resource request did not follow (code REDIRECT_REFUSED): the eleventh in a row, or any with redirect: "error". */
export declare class CaspioRedirectError extends CaspioError {
  constructor(message: string, details?: { status?: number; location?: string });
  readonly code: 'REDIRECT_REFUSED';
  readonly status: number;
  /** Where it led, without its query and user info. */
  readonly location: string;
}

/** Stored token state that cannot be read (code STATE_INVALID); clients discard it. */
export declare class CaspioStateError extends CaspioError {
  constructor(message: string, details?: { field?: string });
  readonly code: 'STATE_INVALID';
  readonly field: string;
}

/** A resource URL the client does not send its bearer token to, or a redirect it does not follow (code URL_REFUSED). */
export declare class CaspioURLError extends CaspioError {
  constructor(message: string, details?: { ref?: string });
  readonly code: 'URL_REFUSED';
  /** The URL or Location, without its query, fragment and user info; "" when not even that can be shown. */
  readonly ref: string;
}
