// The page's one connection to a Caspio account: the caspio-auth client, where its tokens
// are kept, and what the token panel shows (the client's status(): the page works out no
// expiry, margin or count of its own). The secret lives in this module's memory only,
// unless the user asks to remember it (then in localStorage).
//
// Storage keys: the package's token state (webStorageKey: "caspio-auth:<token URL>#<client ID>", in
// sessionStorage or localStorage through the package's webStorage, shared with the origin's
// other tabs) and the page's own entries all start with "caspio-auth", so that Forget can
// clear every one of them in both storages.
import * as caspio from 'caspio-auth';

/** Every key of the page and of the package starts with this. */
export const KEY_PREFIX = 'caspio-auth';
const SETTINGS_KEY = 'caspio-auth-admin:settings';
const SECRET_KEY = 'caspio-auth-admin:secret';

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
 * One entry of the token event log.
 * @typedef {{at: number, type: string, grant?: string, status?: number, message?: string}} LoggedEvent
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

export class Session extends EventTarget {
  /** @type {import('caspio-auth').CaspioClient | null} */
  client = null;
  /** @type {Settings | null} */
  settings = null;
  /** A token request in flight: its grant; else ''. */
  requesting = '';
  /** The last token error (or NeedSecretError), until a token arrives. @type {Error | null} */
  error = null;
  /** @type {LoggedEvent[]} */
  events = [];

  #secret = '';
  #generation = 0;

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
   * Makes a client of settings and secret, keeping the tokens stored for it (so connecting
   * again does not log in again). Throws the package's TypeError or CaspioConfigError when
   * the settings are not usable; makes no request.
   * @param {Settings} settings
   * @param {string} secret '' restores a session without the secret: the client uses the
   *   stored access token while it is valid, and holds every token request (the page then
   *   asks for the secret).
   */
  async connect(settings, secret) {
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
    // Tokens move with the choice of storage rather than being got again by a new login.
    // (Directly: the package's storage would announce a delete to this tab's clients too.)
    const moved = other.getItem(key);
    if (moved !== null && area.getItem(key) === null) area.setItem(key, moved);
    other.removeItem(key);

    const client = await caspio.createClient({
      ...options,
      storage: caspio.webStorage(area, key),
      onEvent: (event) => { if (generation === this.#generation) this.#onEvent(event); },
    });
    if (generation !== this.#generation) {
      client.close();
      return;
    }
    this.client?.close();
    this.client = client;
    this.settings = { ...settings };
    this.#secret = secret;
    this.error = null;
    this.requesting = '';

    // The settings (no secret) go where the tokens go.
    area.setItem(SETTINGS_KEY, JSON.stringify(this.settings));
    other.removeItem(SETTINGS_KEY);
    if (secret) {
      if (settings.rememberSecret) localStorage.setItem(SECRET_KEY, secret);
      else localStorage.removeItem(SECRET_KEY);
    }
    this.dispatchEvent(new Event('connected'));
    this.#changed();
  }

  /** Reconnects with the settings of an earlier visit, if any. @returns {Promise<boolean>} */
  async restore() {
    const settings = Session.savedSettings();
    if (!settings) return false;
    const secret = settings.rememberSecret ? Session.rememberedSecret() : '';
    await this.connect(settings, secret);
    return true;
  }

  /** Drops the client (after a failed first call, say), keeping what is stored. */
  disconnect() {
    this.#generation++;
    this.client?.close();
    this.client = null;
    this.#secret = '';
    this.requesting = '';
    this.dispatchEvent(new Event('disconnected'));
    this.#changed();
  }

  /** Drops the client, the secret, the settings and every caspio-auth key in both storages. */
  forget() {
    this.#generation++;
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
    return this.#guarded('token', () => client.fetch(path, init));
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
      if (/** @type {any} */ (err)?.code !== 'TOKEN_REQUEST_HELD') throw err;
      const grant = /** @type {any} */ (err).grant ?? '';
      this.error = new NeedSecretError(this.#whyHeld(what, grant), { grant, cause: err });
      this.#log({ type: 'held', grant });
      this.dispatchEvent(new CustomEvent('needsecret', { detail: this.error }));
      throw this.error;
    } finally {
      this.#changed();
    }
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
        break;
      case 'token_error':
        this.requesting = '';
        this.error = event.error ?? new Error('the token request failed');
        break;
      default:
        break;
    }
    this.#log({
      type: event.type, grant: event.grant, status: event.status,
      message: event.type === 'token_error' ? this.error?.message : event.type === 'storage_error' ? event.error?.message : undefined,
    });
  }

  /** Adds an entry to the event log, newest first. @param {Omit<LoggedEvent, 'at'>} entry */
  #log(entry) {
    this.events.unshift({ at: Date.now(), ...entry });
    this.events.length = Math.min(this.events.length, 12);
    this.#changed();
  }

  #changed() { this.dispatchEvent(new Event('change')); }
}

/** The client options naming the account, from the kind the form chose. @param {Settings} s */
function endpointOptions(s) {
  switch (s.endpointKind) {
    case 'account': return { account: s.account.trim() };
    case 'urls': return { tokenUrl: s.tokenUrl.trim(), resourceUrl: s.resourceUrl.trim() };
    default: return { integrationUrl: s.integrationUrl.trim() };
  }
}
