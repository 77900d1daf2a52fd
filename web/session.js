// The page's one connection to a Caspio account: the caspio-auth client, where its tokens
// are kept, and what the token panel shows (the client's status(): the page works out no
// expiry, margin or count of its own). The secret lives in this module's memory only,
// unless the user asks to remember it (then in localStorage).
//
// Storage keys: the package's token state (webStorageKey: "caspio-auth:<token URL>#<client ID>", in
// sessionStorage or localStorage through the package's webStorage, shared with the origin's
// other tabs) and the page's own entries all start with "caspio-auth", so that Forget can
// clear every one of them in both storages.
//
// Tabs: the page's own BroadcastChannel (PAGE_CHANNEL) carries a sign-out (Forget in one
// tab signs out every tab) and, for a new tab with nothing saved (sessionStorage is per
// tab), the settings of an open tab: never the secret, never a token. The token itself
// reaches the new tab through the package's webStorage, which asks the open tabs for the
// newest state (by the core's rule) before the client logs in.
import * as caspio from 'caspio-auth';

/** Every key of the page and of the package starts with this. */
export const KEY_PREFIX = 'caspio-auth';
const SETTINGS_KEY = 'caspio-auth-admin:settings';
const SECRET_KEY = 'caspio-auth-admin:secret';
const EVENTS_KEY = 'caspio-auth-admin:events';
/** The page's BroadcastChannel between its tabs. */
const PAGE_CHANNEL = 'caspio-auth-admin';
/** How many entries the event log keeps. */
const MAX_EVENTS = 200;
/** How long a new tab waits for an open tab's settings. */
const ASK_TABS_MS = 150;

/**
 * The connection settings the form edits; everything but the secret. refreshMargin is the
 * client's option, in seconds; null (or absent, in settings an older page saved) leaves
 * the client's default.
 * @typedef {{endpointKind: 'integrationUrl' | 'account' | 'urls', integrationUrl: string,
 *   account: string, tokenUrl: string, resourceUrl: string, apiVersion: 'v2' | 'v3',
 *   credentials: 'body' | 'basic', clientId: string, tokenStorage: 'session' | 'local',
 *   refreshMargin?: number | null, rememberSecret: boolean}} Settings
 */

/**
 * One entry of the token event log. type 'unreached' is a token request that reached no
 * server: tries is how many times the client tried, url where it tried.
 * @typedef {{at: number, type: string, grant?: string, status?: number, message?: string, url?: string, tries?: number}} LoggedEvent
 */

/**
 * A token request the client held (TOKEN_REQUEST_HELD) in a session restored without the
 * Client Secret: the page asks for the secret. The held error is its cause.
 */
export class NeedSecretError extends Error {
  code = 'NEED_SECRET';
  /** @param {string} why @param {{grant?: string, cause?: unknown}} [details] */
  constructor(why, { grant = '', cause } = {}) {
    super(grant === 'refresh_token'
      ? `${why} Enter the Client Secret and press Connect: the stored refresh token is used, so no new login is needed.`
      : `${why} Enter the Client Secret and press Connect.`, { cause });
    this.name = 'NeedSecretError';
    this.grant = grant;
  }
}

/**
 * A request that got no answer at all (fetch's "Failed to fetch"): it names the URL that
 * could not be reached. kind says which: the token endpoint or the REST API.
 */
export class UnreachableError extends Error {
  code = 'UNREACHABLE';
  /** @param {string} url @param {'token' | 'api'} kind @param {unknown} cause */
  constructor(url, kind, cause) {
    super(`No answer from ${url}: ${/** @type {any} */ (cause)?.message ?? 'the request failed'}`, { cause });
    this.name = 'UnreachableError';
    this.url = url;
    this.kind = kind;
  }
}

/** Whether err is a request that got no answer: fetch's TypeError, or the client's no-response error. */
function noAnswer(err) {
  const e = /** @type {any} */ (err);
  return e instanceof TypeError || (e?.code === 'RESPONSE_INVALID' && e.status === 0);
}

export class Session extends EventTarget {
  /** @type {import('caspio-auth').CaspioClient | null} */
  client = null;
  /** @type {Settings | null} */
  settings = null;
  /** A token request in flight: its grant; else ''. */
  requesting = '';
  /** The last token error (or NeedSecretError), until a token arrives. @type {Error | null} */
  error = null;
  /** The event log, newest first; kept where the tokens are, so that a reload keeps it. @type {LoggedEvent[]} */
  events = loadEvents();
  /** The URL the last request could not reach, until a request gets an answer; else ''. */
  unreachable = '';

  #secret = '';
  #generation = 0;
  /** While settings are tried (connect, until commit or rollback): the connection they replace. */
  #previous = /** @type {{client: import('caspio-auth').CaspioClient | null, settings: Settings | null, secret: string} | null} */ (null);
  /** Where connect put the tokens, for commit. @type {{area: Storage, other: Storage, key: string} | null} */
  #placed = null;
  /** @type {BroadcastChannel | null} */
  #channel = null;

  constructor() {
    super();
    if (typeof BroadcastChannel === 'function') {
      this.#channel = new BroadcastChannel(PAGE_CHANNEL);
      this.#channel.onmessage = (e) => this.#hear(e.data);
    }
    // Another tab's entries in a shared log (localStorage).
    addEventListener('storage', (e) => {
      if (e.key !== EVENTS_KEY) return;
      this.events = loadEvents();
      this.#changed();
    });
  }

  get connected() { return this.client !== null; }
  get secretKnown() { return this.#secret !== ''; }

  /** The REST base the client resolves paths against, e.g. "https://x.caspio.com/rest/v2". */
  get resourceBase() { return this.client?.toJSON().resourceBase ?? ''; }
  get apiVersion() { return this.client?.toJSON().apiVersion ?? 'v2'; }

  /**
   * What the client knows of its tokens now (margin, expiries, lease, counters), or null
   * when not connected. It makes no request.
   * @returns {import('caspio-auth').ClientStatus | null}
   */
  status() {
    return this.client?.status() ?? null;
  }

  /**
   * What the token panel shows: 'none', 'valid' (the next request is sent with the token
   * the client holds), 'expired' (it needs a refresh or a login first), 'requesting',
   * 'held' (that needs the Client Secret) or 'error'.
   */
  phase() {
    if (this.requesting) return 'requesting';
    if (this.error) return this.error instanceof NeedSecretError ? 'held' : 'error';
    const s = this.status();
    if (s?.next === 'lease') return 'valid';
    return s?.accessTokenExpiresAt || s?.refreshTokenExpiresAt ? 'expired' : 'none';
  }

  /** The settings saved by an earlier visit (this tab first, then this device). @returns {Settings | null} */
  static savedSettings() {
    for (const area of [sessionStorage, localStorage]) {
      const raw = area.getItem(SETTINGS_KEY);
      if (raw === null) continue;
      try {
        const s = JSON.parse(raw);
        if (s && typeof s === 'object' && typeof s.clientId === 'string') return s;
      } catch {
        area.removeItem(SETTINGS_KEY); // not ours to understand: drop it
      }
    }
    return null;
  }

  /** The remembered secret, if the user asked for it. */
  static rememberedSecret() {
    return localStorage.getItem(SECRET_KEY) ?? '';
  }

  /**
   * Tries settings and secret beside the connection in use: makes a client of them (keeping
   * the tokens stored for them, so that connecting again does not log in again) and makes
   * it the current one until commit() keeps it or rollback() goes back to the one before.
   * Nothing is saved until commit(). Throws the package's TypeError or CaspioConfigError
   * when the settings are not usable (the connection in use is kept); makes no request.
   * @param {Settings} settings
   * @param {string | null} secret '' restores a session without the secret: the client uses
   *   the stored access token while it is valid, and holds every token request (the page then
   *   asks for the secret). null keeps the secret in memory when the Client ID is the same.
   */
  async connect(settings, secret) {
    if (secret === null) secret = this.settings?.clientId === settings.clientId ? this.#secret : '';
    const generation = ++this.#generation;
    const options = {
      ...endpointOptions(settings),
      apiVersion: settings.apiVersion,
      clientId: settings.clientId,
      // Without the secret the client is made with none: the core accepts that for a client
      // that holds every token request (hold: 'all', below).
      ...(secret ? { clientSecret: secret } : {}),
      credentials: settings.credentials,
      ...(typeof settings.refreshMargin === 'number' ? { refreshMargin: settings.refreshMargin } : {}),
      // Without the secret, a refresh (which Caspio takes with the secret) or a login cannot
      // be sent: the client sends neither, and says so with TOKEN_REQUEST_HELD.
      ...(secret ? {} : { hold: /** @type {const} */ ('all') }),
    };
    // A first client, which stores nothing, checks the options and names the token URL,
    // which keys the stored state: the package's own key (webStorageKey), so that other
    // pages of this origin using caspio-auth share the tokens.
    const probe = await caspio.createClient({ ...options, storage: caspio.memoryStorage() });
    const key = caspio.webStorageKey(probe);
    probe.close();

    const area = settings.tokenStorage === 'local' ? localStorage : sessionStorage;
    const other = area === localStorage ? sessionStorage : localStorage;
    // Tokens move with the choice of storage rather than being got again by a new login:
    // copied now, and removed from the other storage once the settings are kept (commit).
    // (Directly: the package's storage would announce a delete to this tab's clients too.)
    const moved = other.getItem(key);
    if (moved !== null && area.getItem(key) === null) area.setItem(key, moved);

    /** @type {import('caspio-auth').CaspioClient | null} */
    let self = null;
    const client = await caspio.createClient({
      ...options,
      storage: caspio.webStorage(area, key),
      onEvent: (event) => { if (self !== null && self === this.client) this.#onEvent(event); },
    });
    if (generation !== this.#generation) {
      client.close();
      return;
    }
    self = client;
    if (this.#previous === null) this.#previous = { client: this.client, settings: this.settings, secret: this.#secret };
    else this.client?.close(); // a second try replaces the first, not the connection in use
    this.client = client;
    this.settings = { ...settings };
    this.#secret = secret;
    this.#placed = { area, other, key };
    this.error = null;
    this.requesting = '';
    this.unreachable = '';
    this.dispatchEvent(new Event('connected'));
    this.#changed();
  }

  /** Whether connect's settings are on trial (neither committed nor rolled back). */
  get trying() { return this.#previous !== null; }

  /** Keeps the settings connect tried: saves them (no secret), and closes the connection they replace. */
  commit() {
    const previous = this.#previous;
    this.#previous = null;
    if (previous?.client && previous.client !== this.client) previous.client.close();
    if (!this.settings || !this.#placed) return;
    const { area, other, key } = this.#placed;
    other.removeItem(key);
    // The settings (no secret) go where the tokens go; so does the event log.
    area.setItem(SETTINGS_KEY, JSON.stringify(this.settings));
    other.removeItem(SETTINGS_KEY);
    const events = other.getItem(EVENTS_KEY);
    if (events !== null && area.getItem(EVENTS_KEY) === null) area.setItem(EVENTS_KEY, events);
    other.removeItem(EVENTS_KEY);
    if (this.#secret) {
      if (this.settings.rememberSecret) localStorage.setItem(SECRET_KEY, this.#secret);
      else localStorage.removeItem(SECRET_KEY);
    }
  }

  /**
   * Drops the settings connect tried, which did not work, and goes back to the connection
   * in use before (if any) as it was. Nothing of the tried settings is saved.
   * @returns {boolean} whether a connection is back
   */
  rollback() {
    const previous = this.#previous;
    this.#previous = null;
    this.#generation++;
    if (previous?.client !== this.client) this.client?.close();
    this.client = previous?.client ?? null;
    this.settings = previous?.settings ?? null;
    this.#secret = previous?.secret ?? '';
    this.#placed = this.settings ? placement(this.settings, this.client) : null;
    this.requesting = '';
    this.error = null;
    this.unreachable = '';
    this.dispatchEvent(new Event(this.client ? 'connected' : 'disconnected'));
    this.#changed();
    return this.client !== null;
  }

  /**
   * The settings of an open tab of this page, asked over the page's channel: for a new tab
   * with nothing saved. Never the secret. Null when no tab answers.
   * @returns {Promise<Settings | null>}
   */
  askOpenTabs() {
    const channel = this.#channel;
    if (channel === null) return Promise.resolve(null);
    return new Promise((resolve) => {
      const done = (/** @type {Settings | null} */ settings) => {
        clearTimeout(timer);
        this.#answered = null;
        resolve(settings);
      };
      const timer = setTimeout(() => done(null), ASK_TABS_MS);
      this.#answered = done;
      channel.postMessage({ type: 'ask-settings' });
    });
  }

  /** @type {((settings: Settings) => void) | null} */
  #answered = null;

  /** A message of another tab of the page. @param {unknown} message */
  #hear(message) {
    const m = /** @type {any} */ (message);
    if (m?.type === 'forget') {
      this.forget({ tell: false });
      this.dispatchEvent(new Event('forgotten'));
    } else if (m?.type === 'ask-settings') {
      if (this.client && this.settings && !this.trying) this.#channel?.postMessage({ type: 'settings', settings: this.settings });
    } else if (m?.type === 'settings' && m.settings && typeof m.settings.clientId === 'string') {
      this.#answered?.(m.settings);
    }
  }

  /** Reconnects with the settings of an earlier visit, if any. @returns {Promise<boolean>} */
  async restore() {
    const settings = Session.savedSettings();
    if (!settings) return false;
    return this.restoreFrom(settings);
  }

  /** Connects with settings saved or heard from another tab, with the secret only if remembered. @param {Settings} settings */
  async restoreFrom(settings) {
    const secret = settings.rememberSecret ? Session.rememberedSecret() : '';
    await this.connect(settings, secret);
    return true;
  }

  /** Drops the client (after a failed first call, say), keeping what is stored. */
  disconnect() {
    this.#generation++;
    this.#previous = null;
    this.client?.close();
    this.client = null;
    this.#secret = '';
    this.requesting = '';
    this.dispatchEvent(new Event('disconnected'));
    this.#changed();
  }

  /**
   * Drops the client, the secret, the settings and every caspio-auth key in both storages,
   * and signs out the page's other tabs (unless tell is false: a tab told so itself).
   */
  forget({ tell = true } = {}) {
    this.#generation++;
    if (this.#previous?.client && this.#previous.client !== this.client) this.#previous.client.close();
    this.#previous = null;
    this.#placed = null;
    this.unreachable = '';
    this.client?.close();
    this.client = null;
    this.settings = null;
    this.#secret = '';
    this.error = null;
    this.requesting = '';
    this.events = [];
    for (const area of [sessionStorage, localStorage]) {
      const keys = [];
      for (let i = 0; i < area.length; i++) {
        const key = area.key(i);
        if (key !== null && key.startsWith(KEY_PREFIX)) keys.push(key);
      }
      for (const key of keys) area.removeItem(key);
    }
    if (tell) this.#channel?.postMessage({ type: 'forget' });
    this.dispatchEvent(new Event('disconnected'));
    this.#changed();
  }

  /**
   * The URL the client sends a request for path to: its resolution on the REST base (the
   * core's, client.resolve), spelled as fetch sends it. Throws the client's CaspioURLError.
   * @param {string} path
   */
  resolve(path) {
    return new URL(this.#requireClient().resolve(path)).href;
  }

  /** client.fetch. @param {string} path @param {RequestInit} [init] */
  async fetch(path, init) {
    const client = this.#requireClient();
    return this.#guarded('token', async () => {
      let res;
      try {
        res = await client.fetch(path, init);
      } catch (err) {
        // A resource request that got no answer (a token request's is named by #guarded).
        if (err instanceof TypeError) throw new UnreachableError(this.resourceBase, 'api', err);
        throw err;
      }
      this.#reached();
      return res;
    });
  }

  /**
   * One page of a table's records, by the client's records API (its paging rules are the
   * core's): page query.startPage of query.pageSize records, with v3's total.
   * @param {string} table @param {import('caspio-auth').RecordsQuery} query
   * @returns {Promise<import('caspio-auth').RecordsPage>}
   */
  async recordsPage(table, query) {
    const client = this.#requireClient();
    return this.#guarded('token', async () => {
      for await (const page of client.records(table, query).pages()) return page;
      throw new Error(`caspio-auth: no page of ${table} was read`);
    });
  }

  /**
   * Runs fn with the client (its records API: records().toArray(), insertRecords,
   * updateRecords, deleteRecords), guarded as fetch is.
   * @template T @param {(client: import('caspio-auth').CaspioClient) => Promise<T>} fn
   * @returns {Promise<T>}
   */
  async use(fn) {
    const client = this.#requireClient();
    return this.#guarded('token', () => fn(client));
  }

  /** The current access token (for Show and "copy as curl" with the token). */
  async token() {
    const client = this.#requireClient();
    return this.#guarded('token', () => client.token());
  }

  async authenticate() {
    const client = this.#requireClient();
    return this.#guarded('authenticate', () => client.authenticate());
  }

  async refresh() {
    const client = this.#requireClient();
    return this.#guarded('refresh', () => client.refresh());
  }

  /**
   * Runs a client call; a token request the client held (a session without the secret)
   * becomes a NeedSecretError, which the page answers by asking for the secret.
   * @template T
   * @param {'token' | 'authenticate' | 'refresh'} what
   * @param {() => Promise<T>} call
   * @returns {Promise<T>}
   */
  async #guarded(what, call) {
    try {
      return await call();
    } catch (err) {
      if (/** @type {any} */ (err)?.code === 'UNREACHABLE') {
        this.unreachable = /** @type {any} */ (err).url;
        throw err;
      }
      if (noAnswer(err)) {
        // The token endpoint got no answer: the error the token_error event recorded.
        const unreached = this.error instanceof UnreachableError && this.error.cause === err
          ? this.error : new UnreachableError(this.tokenUrl, 'token', err);
        this.unreachable = unreached.url;
        throw unreached;
      }
      if (/** @type {any} */ (err)?.code !== 'TOKEN_REQUEST_HELD') throw err;
      const grant = /** @type {any} */ (err).grant ?? '';
      this.error = new NeedSecretError(this.#whyHeld(what, grant), { grant, cause: err });
      // The page asks for the secret before anything else renders the error.
      this.dispatchEvent(new CustomEvent('needsecret', { detail: this.error }));
      this.#log({ type: 'held', grant });
      throw this.error;
    } finally {
      this.#changed();
    }
  }

  /** The token endpoint's URL, e.g. "https://x.caspio.com/oauth/token". */
  get tokenUrl() { return this.client?.toJSON().tokenUrl ?? ''; }

  /** A request got an answer: the account is reachable. */
  #reached() {
    if (this.unreachable === '') return;
    this.unreachable = '';
    this.#changed();
  }

  /** Why a call needs the secret, from the call and what the client says of its tokens. */
  #whyHeld(what, grant) {
    if (what === 'authenticate') return 'Logging in needs the Client Secret.';
    if (what === 'refresh') return 'Refreshing needs the Client Secret (Caspio takes it with the refresh token).';
    if ((this.status()?.revoked ?? 0) > 0) return 'The server no longer accepts the stored access token, and getting a new one needs the Client Secret.';
    return grant === 'refresh_token'
      ? 'This session was restored without the Client Secret, and its access token is due for a refresh.'
      : 'This session was restored without the Client Secret, and it holds no usable refresh token: a new login is needed.';
  }

  #requireClient() {
    if (!this.client) throw new Error('Not connected: fill in the connection form and press Connect.');
    return this.client;
  }

  /** @param {import('caspio-auth').ClientEvent} event */
  #onEvent(event) {
    switch (event.type) {
      case 'token_request':
        this.requesting = event.grant ?? 'client_credentials';
        break;
      case 'login':
      case 'refresh':
        this.requesting = '';
        this.error = null;
        this.unreachable = '';
        break;
      case 'token_error':
        this.requesting = '';
        if (!event.status && noAnswer(event.error)) {
          // No server answered: one entry for every try of this request, naming the URL.
          this.error = new UnreachableError(this.tokenUrl, 'token', event.error);
          this.unreachable = this.tokenUrl;
          this.#logUnreached(event);
          return;
        }
        this.error = event.error ?? new Error('the token request failed');
        break;
      case 'retry':
        // The retry of a request that reached no server is counted in its one entry.
        if (this.events[0]?.type === 'unreached') return;
        break;
      default:
        break;
    }
    this.#log({
      type: event.type, grant: event.grant, status: event.status,
      message: event.type === 'token_error' ? this.error?.message : event.type === 'storage_error' ? event.error?.message : undefined,
    });
  }

  /**
   * Logs a token request that reached no server: it replaces the entries of its tries
   * (each try's "token request" and the retries between them) with one entry.
   * @param {import('caspio-auth').ClientEvent} event
   */
  #logUnreached(event) {
    const url = this.tokenUrl;
    this.#edit((events) => {
      let i = 0;
      let tries = 0;
      if (events[i]?.type === 'token_request') { tries++; i++; }
      // A later try of the same acquisition (attempt 2 and on) joins the entry of the first.
      const earlier = events[i];
      if ((event.attempt ?? 1) > 1 && earlier?.type === 'unreached' && earlier.url === url && earlier.grant === event.grant) {
        tries += earlier.tries ?? 1;
        i++;
      }
      return [{ at: Date.now(), type: 'unreached', grant: event.grant, url, tries: Math.max(tries, 1), message: event.error?.message }, ...events.slice(i)];
    });
  }

  /** Adds an entry to the event log, newest first. @param {Omit<LoggedEvent, 'at'>} entry */
  #log(entry) {
    this.#edit((events) => [{ at: Date.now(), ...entry }, ...events]);
  }

  /**
   * Changes the event log: as stored (another tab may have added to a log in localStorage)
   * and in memory; keeps the newest MAX_EVENTS.
   * @param {(events: LoggedEvent[]) => LoggedEvent[]} change
   */
  #edit(change) {
    const area = this.settings?.tokenStorage === 'local' ? localStorage : sessionStorage;
    const stored = readEvents(area);
    this.events = change(stored ?? this.events).slice(0, MAX_EVENTS);
    try {
      area.setItem(EVENTS_KEY, JSON.stringify(this.events));
    } catch {
      // A full storage keeps the log in memory only.
    }
    this.#changed();
  }

  #changed() { this.dispatchEvent(new Event('change')); }
}

/** Where a client of settings keeps its tokens. @param {Settings} settings @param {import('caspio-auth').CaspioClient | null} client */
function placement(settings, client) {
  if (!client) return null;
  const area = settings.tokenStorage === 'local' ? localStorage : sessionStorage;
  return { area, other: area === localStorage ? sessionStorage : localStorage, key: caspio.webStorageKey(client) };
}

/** The event log of one storage, or null when it holds none. @param {Storage} area @returns {LoggedEvent[] | null} */
function readEvents(area) {
  try {
    const events = JSON.parse(area.getItem(EVENTS_KEY) ?? 'null');
    return Array.isArray(events) ? events.filter((e) => e && typeof e.at === 'number' && typeof e.type === 'string') : null;
  } catch {
    return null;
  }
}

/** The event log a reload finds: this tab's, else this device's. */
function loadEvents() {
  return readEvents(sessionStorage) ?? readEvents(localStorage) ?? [];
}

/** The client options naming the account, from the kind the form chose. @param {Settings} s */
function endpointOptions(s) {
  switch (s.endpointKind) {
    case 'account': return { account: s.account.trim() };
    case 'urls': return { tokenUrl: s.tokenUrl.trim(), resourceUrl: s.resourceUrl.trim() };
    default: return { integrationUrl: s.integrationUrl.trim() };
  }
}
