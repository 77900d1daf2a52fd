// Compiled by `npm run check:types` (tsc --strict, no emit) against caspio-auth's index.d.ts:
// what a TypeScript user writes must type-check, and misuse must not (the @ts-expect-error
// lines fail the build if the types stop rejecting them).
import {
  createClient, initialize, memoryStorage, fileStorage, apiErrorFromResponse, VERSION,
  CaspioError, CaspioConfigError, CaspioOAuthError, CaspioAPIError, CaspioResponseError,
  CaspioStateError, CaspioURLError, CaspioTokenError, CaspioRedirectError, webStorage, kvStorage, brokerStorage, TokenBroker,
  webStorageKey, proxyRules, type ProxyRules,
  type KVNamespaceLike, type TokenBrokerNamespace, type TokenBrokerState,
  type CaspioClient, type ClientOptions, type ClientEvent, type Storage, type Token, type ClientStats,
  type ClientStatus, type StorageSetOptions, type CaspioErrorCode,
  type RecordsQuery, type RecordRow, type InsertRecordsResult,
} from 'caspio-auth';
import { TokenBroker as BrokerOnly, brokerStorage as brokerStorageOnly } from 'caspio-auth/broker';

export async function usage(): Promise<void> {
  const version: string = VERSION;
  await initialize();
  await initialize({ wasmURL: new URL('https://example.com/caspio.wasm') });

  const options: ClientOptions = {
    account: 'c1abc123',
    apiVersion: 'v3',
    clientId: 'id',
    clientSecret: 'secret',
    credentials: 'basic',
    storage: fileStorage('/tmp/token.json'),
    refreshMargin: 600,
    tokenTimeout: 10_000,
    onEvent: (e: ClientEvent) => {
      if (e.type === 'retry') console.log(e.waitMs, e.attempt, e.grant);
      if (e.error instanceof CaspioOAuthError) console.log(e.error.error, e.error.status);
    },
    fetch: (input, init) => fetch(input, init),
  };
  const client: CaspioClient = await createClient(options);
  await createClient({ integrationUrl: 'https://c1abc123.caspio.com', clientId: 'id', clientSecret: 's', storage: memoryStorage() });
  await createClient({ tokenUrl: 'https://x.caspio.com/oauth/token', resourceUrl: 'https://x.caspio.com/rest/v2', clientId: 'id', clientSecret: 's' });
  await createClient({ account: 'c1abc123', clientId: 'id', hold: 'all' }); // no token request: no secret
  const key: string = webStorageKey(client);
  webStorageKey({ tokenUrl: 'https://c1abc123.caspio.com/oauth/token', clientId: 'id' });
  const rules: ProxyRules = await proxyRules();
  const checked = rules.parsePath('/tables/Orders');
  const refOrProblem: string = 'problem' in checked ? checked.problem : checked.ref + checked.segments.join('/');
  const answer: { status: number; code: string; message: string } = rules.tokenFailure(503, false);
  rules.badChar('Orders')?.at;
  // @ts-expect-error fileStorage takes no timing options
  fileStorage('/tmp/token.json', { lockTimeout: 1000 });
  console.log(key, refOrProblem, answer);

  const res: Response = await client.fetch('tables/Orders/records?q.limit=5', { method: 'GET' });
  await client.fetch(new URL('https://c1abc123.caspio.com/rest/v2/tables'));
  await client.fetch('tables', { retry: false });

  // Records: an async iterable, whole pages, an array; writes with their answers.
  const query: RecordsQuery = { where: "Status = 'Shipped'", orderBy: 'OrderDate DESC', select: ['PK_ID', 'Total'], pageSize: 500 };
  for await (const row of client.records('Orders', query)) console.log(row.PK_ID);
  for await (const page of client.viewRecords('ShippedOrders').pages()) {
    const total: number | null = page.total;
    const rows: RecordRow[] = page.records;
    console.log(total, rows.length, page.pageNumber, page.pageSize);
  }
  const some: RecordRow[] = await client.records('Orders', { select: 'PK_ID, Total', startPage: 2 }).toArray({ limit: 10 });
  const inserted: InsertRecordsResult = await client.insertRecords('Orders', [{ Total: 1 }], { returnRows: true });
  for (const r of inserted.results) if (r.outcome === 'unknown') console.log(r.error);
  const { recordsAffected, records } = await client.updateRecords('Orders', 'PK_ID = 7', { Status: 'Paid' }, { returnRows: true });
  const deleted: number = (await client.deleteRecords('Orders', 'PK_ID = 7')).recordsAffected;
  console.log(some.length, recordsAffected, records.length, deleted);
  // @ts-expect-error: a page size is a number
  client.records('Orders', { pageSize: '500' });
  // @ts-expect-error: an update needs its values
  await client.updateRecords('Orders', 'PK_ID = 7');
  await client.fetch(new Request('https://c1abc123.caspio.com/rest/v2/tables', { method: 'POST', body: '{}' }));
  const resolved: string = client.resolve('tables/Orders/records?q.limit=5');
  const relative: string = client.resolve(new URL('https://c1abc123.caspio.com/rest/v2/tables')).slice(client.toJSON().resourceBase.length);
  console.log(resolved, relative);
  // @ts-expect-error resolve takes a path or a URL, not a Request
  client.resolve(new Request('https://c1abc123.caspio.com/rest/v2/tables'));
  if (!res.ok) {
    const err: CaspioAPIError = await apiErrorFromResponse(res);
    const fields: [string, string, string, number] = [err.Code, err.Message, err.RequestId, err.status];
    console.log(fields, err.response?.status);
  }

  const token: Token = await client.token();
  const expires: Date = token.expiresAt;
  const rtExpires: Date | null = token.refreshTokenExpiresAt;
  const bearer: string = `Bearer ${token.accessToken}`;
  const stats: ClientStats = client.stats();
  const n: number = stats.tokenRequests.client_credentials + stats.tokenRequests.refresh_token + stats.unauthorizedRetries;
  const status: ClientStatus = client.status();
  const margin: number = status.refreshMargin;
  const until: Date | null = status.leaseValidUntil;
  const next: 'lease' | 'refresh' | 'authenticate' = status.next;
  console.log(margin, until, next, status.leaseValid satisfies boolean, status.hold);
  await createClient({ account: 'a', clientId: 'id', clientSecret: 's', hold: 'login', now: () => Date.now() });
  // @ts-expect-error hold is "login" or "all"
  await createClient({ account: 'a', clientId: 'id', clientSecret: 's', hold: 'refresh' });
  const off: () => void = client.on((e) => console.log(e.type));
  off();
  await client.authenticate();
  await client.refresh();
  const shown: { tokenUrl: string; clientId: string } = client.toJSON();
  client.close();
  console.log(version, expires, rtExpires, bearer, n, shown);

  // A storage of one's own, with and without a lock.
  let saved: object | null = null;
  const custom: Storage = {
    async get() { return saved; },
    async set(state, options?: StorageSetOptions) { saved = state; console.log(options?.ttl); },
    async delete() { saved = null; },
    async lock() { return async () => {}; },
  };
  const noLock: Storage = { get: async () => null, set: async () => {}, delete: async () => {} };
  console.log(custom, noLock);

  try {
    await client.token();
  } catch (e) {
    if (e instanceof CaspioError) {
      const code: string = e.code;
      console.log(code);
    }
    if (e instanceof CaspioConfigError) console.log(e.field satisfies string);
    if (e instanceof CaspioResponseError) console.log(e.status, e.field, e.location);
    if (e instanceof CaspioStateError) console.log(e.field);
    if (e instanceof CaspioURLError) console.log(e.ref);
    if (e instanceof CaspioTokenError && e.code === 'TOKEN_REQUEST_HELD') console.log(e.grant);
    if (e instanceof CaspioRedirectError) console.log(e.status, e.location);
    if (e instanceof CaspioError) {
      const known: CaspioErrorCode | string = e.code;
      console.log(known === 'TOKEN_REISSUED');
    }
  }

  // clientSecret may be left out (for hold: 'all'); the core refuses a client without it otherwise.
  await createClient({ account: 'a', clientId: 'id' });
  // @ts-expect-error apiVersion is "v2" or "v3"
  await createClient({ account: 'a', clientId: 'id', clientSecret: 's', apiVersion: 'v4' });
  // @ts-expect-error credentials is "body" or "basic"
  await createClient({ account: 'a', clientId: 'id', clientSecret: 's', credentials: 'header' });
  // @ts-expect-error unknown options are errors
  await createClient({ account: 'a', clientId: 'id', clientSecret: 's', clientSecrt: 's' });
  // @ts-expect-error refreshMargin is a number of seconds
  await createClient({ account: 'a', clientId: 'id', clientSecret: 's', refreshMargin: '5m' });
  // @ts-expect-error a storage needs delete
  const bad: Storage = { get: async () => null, set: async () => {} };
  console.log(bad);

  // Browsers: webStorage over sessionStorage (the default) or localStorage, keyed or not.
  const shared: Storage = webStorage(localStorage, 'caspio-auth:admin');
  const perClient = webStorage();
  const stop: () => void = perClient.subscribe(() => {});
  stop();
  console.log(shared, perClient.key satisfies string | null);
  // @ts-expect-error webStorage takes a Web Storage, not a path
  webStorage('tokens.json');

  // Workers: KV, or the TokenBroker Durable Object.
  const kv: KVNamespaceLike = {
    get: async () => null, put: async () => {}, delete: async () => {},
  };
  const brokers: TokenBrokerNamespace = { idFromName: (name: string) => name, get: (id: unknown) => id };
  const inKV: Storage = kvStorage(kv, 'caspio-token:id');
  const inBroker = brokerStorage(brokers, 'default', { lockLease: 30_000, lockTimeout: 60_000 });
  console.log(inKV, inBroker.name satisfies string);
  const state: TokenBrokerState = { storage: { get: async () => undefined, put: async () => {}, delete: async () => true } };
  const broker = new TokenBroker(state, {});
  const lockId: string = await broker.lock({ leaseMs: 1000, waitMs: 5000 });
  // @ts-expect-error the broker has no lease or wait of its own: the caller names both
  await broker.lock({ leaseMs: 1000 });
  console.log(lockId);
  // 'caspio-auth/broker': the same class and storage, without the core.
  const only: TokenBroker = new BrokerOnly(state, {});
  console.log(only, brokerStorageOnly(brokers).name satisfies string);
  // @ts-expect-error brokerStorage options are milliseconds
  brokerStorage(brokers, 'default', { lockLease: '30s' });
}
