// The page's one connection to a Caspio account: the caspio-auth client, where its tokens
// are kept, and what the token panel shows. The secret lives in this module's memory only,
// unless the user asks to remember it (then in localStorage).
//
// Storage keys: the package's token state ("caspio-auth:<token URL>#<client ID>", in
// sessionStorage or localStorage through the package's webStorage, shared with the origin's
// other tabs) and the page's own entries all start with "caspio-auth", so that Forget can
// clear every one of them in both storages.
import * as caspio from 'caspio-auth';

/** Every key of the page and of the package starts with this. */
export const KEY_PREFIX = 'caspio-auth';
const SETTINGS_KEY = 'caspio-auth-admin:settings';
const SECRET_KEY = 'caspio-auth-admin:secret';

/** What the client refreshes ahead of expiry (the package's default refreshMargin). */
const REFRESH_MARGIN_MS = 300_000;

/** Stands in for the secret in a session restored without it; never sent (see #guardedFetch). */
const NO_SECRET = 'secret-not-in-memory';

/**
 * The connection settings the form edits; everything but the secret.
 * @typedef {{endpointKind: 'integrationUrl' | 'account' | 'urls', integrationUrl: string,
 *   account: string, tokenUrl: string, resourceUrl: string, apiVersion: 'v2' | 'v3',
 *   credentials: 'body' | 'basic', clientId: string, tokenStorage: 'session' | 'local',
 *   rememberSecret: boolean}} Settings
 */

/**
 * One entry of the token event log.
 * @typedef {{at: number, type: string, grant?: string, status?: number, message?: string}} LoggedEvent
 */

/** A call that needs the Client Secret, in a session restored without it. */
export class NeedSecretError extends Error {
  code = 'NEED_SECRET';
  constructor(why) {
    super(`${why} Enter the Client Secret and press Connect: the stored refresh token is used, so no new login is needed.`);
    this.name = 'NeedSecretError';
  }
}

export class Session extends EventTarget {
  /** @type {import('caspio-auth').CaspioClient | null} */
  client = null;
  /** @type {Settings | null} */
  settings = null;
  /** The token state as last stored (the package's versioned format), or null. */
  state = null;
  /** A token request in flight: its grant; else ''. */
  requesting = '';
  /** The last token error, until a token arrives. @type {Error | null} */
  error = null;
  /** @type {LoggedEvent[]} */
  events = [];

  #secret = '';
  /** Set when the guard answered a token request in place of a session without the secret. */
  #blocked = false;
  /** @type {import('caspio-auth').Storage | null} */
  #store = null;
  #generation = 0;

  get connected() { return this.client !== null; }
  get secretKnown() { return this.#secret !== ''; }

  /** The REST base the client resolves paths against, e.g. "https://x.caspio.com/rest/v2". */
  get resourceBase() { return this.client?.toJSON().resourceBase ?? ''; }
  get apiVersion() { return this.client?.toJSON().apiVersion ?? 'v2'; }

  /**
   * What the token panel shows: 'none', 'valid', 'expired', 'requesting' or 'error'.
   * @param {number} [now]
   */
  phase(now = Date.now()) {
    if (this.requesting) return 'requesting';
    if (this.error) return 'error';
    const s = this.ownState();
    if (!s?.access_token) return s?.refresh_token ? 'expired' : 'none';
    return s.expires_at > now ? 'valid' : 'expired';
  }

  /** The stored state if it is this client's (a state of another client is replaced on the next login). */
  ownState() {
    const s = this.state;
    if (!s || !this.settings || s.client_id !== this.settings.clientId) return null;
    return s;
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
   * @param {string} secret '' restores a session without the secret: the stored access
   *   token is used while it is valid, and anything needing the secret asks for it.
   */
  async connect(settings, secret) {
    const generation = ++this.#generation;
    const options = {
      ...endpointOptions(settings),
      apiVersion: settings.apiVersion,
      clientId: settings.clientId,
      clientSecret: secret || NO_SECRET,
      credentials: settings.credentials,
    };
    // A first client, which stores nothing, checks the options and names the token URL,
    // which keys the stored state: the package's own key, "caspio-auth:<token URL>#<client ID>",
    // so that other pages of this origin using caspio-auth share the tokens.
    const probe = await caspio.createClient({ ...options, storage: caspio.memoryStorage() });
    const { tokenUrl, clientId } = probe.toJSON();
    probe.close();
    const key = `${KEY_PREFIX}:${tokenUrl}#${clientId}`;

    const area = settings.tokenStorage === 'local' ? localStorage : sessionStorage;
    const other = area === localStorage ? sessionStorage : localStorage;
    // Tokens move with the choice of storage rather than being got again by a new login.
    // (Directly: the package's storage would announce a delete to this tab's clients too.)
    const moved = other.getItem(key);
    if (moved !== null && area.getItem(key) === null) area.setItem(key, moved);
    other.removeItem(key);

    const store = observe(caspio.webStorage(area, key), (state) => {
      if (generation !== this.#generation) return;
      this.state = state;
      this.#changed();
    });
    const client = await caspio.createClient({
      ...options,
      storage: store,
      fetch: (input, init) => this.#guardedFetch(input, init),
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
    this.#store = store;
    this.error = null;
    this.requesting = '';

    // The settings (no secret) go where the tokens go.
    area.setItem(SETTINGS_KEY, JSON.stringify(this.settings));
    other.removeItem(SETTINGS_KEY);
    if (secret) {
      if (settings.rememberSecret) localStorage.setItem(SECRET_KEY, secret);
      else localStorage.removeItem(SECRET_KEY);
    }
    this.state = await this.#readState();
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
    this.#store = null;
    this.state = null;
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
   * client.fetch, after checking that a session without the secret still has a token.
   * @param {string} path
   * @param {RequestInit} [init]
   */
  async fetch(path, init) {
    const client = this.#requireClient();
    if (!this.secretKnown) this.#requireUsableToken();
    return this.#guarded(() => client.fetch(path, init));
  }

  /** The current access token (for "copy as curl" with the token). */
  async token() {
    const client = this.#requireClient();
    if (!this.secretKnown) this.#requireUsableToken();
    return this.#guarded(() => client.token());
  }

  /** Runs a client call; a token request the guard stopped becomes a NeedSecretError. */
  async #guarded(call) {
    this.#blocked = false;
    try {
      return await call();
    } catch (err) {
      if (!this.#blocked) throw err;
      throw this.#needSecret(new NeedSecretError('The server no longer accepts the stored access token, and getting a new one needs the Client Secret.'));
    } finally {
      this.#changed();
    }
  }

  async authenticate() {
    const client = this.#requireClient();
    if (!this.secretKnown) throw new NeedSecretError('Logging in needs the Client Secret.');
    return client.authenticate();
  }

  async refresh() {
    const client = this.#requireClient();
    if (!this.secretKnown) throw new NeedSecretError('Refreshing needs the Client Secret (Caspio takes it with the refresh token).');
    return client.refresh();
  }

  #requireClient() {
    if (!this.client) throw new Error('Not connected: fill in the connection form and press Connect.');
    return this.client;
  }

  #requireUsableToken() {
    const s = this.ownState();
    if (!s?.access_token || s.expires_at - REFRESH_MARGIN_MS <= Date.now()) {
      throw this.#needSecret(new NeedSecretError('This session was restored without the Client Secret, and its access token has expired.'));
    }
  }

  /** Tells the page (which opens the form) and returns err. @param {NeedSecretError} err */
  #needSecret(err) {
    this.dispatchEvent(new CustomEvent('needsecret', { detail: err }));
    return err;
  }

  async #readState() {
    try {
      return await this.#store?.get() ?? null;
    } catch {
      return null; // unreadable: the client discards it and says so in an event
    }
  }

  /**
   * The client's fetch. In a session restored without the secret, a token request would
   * carry a stand-in: it is answered here, as a refusal that leaves the stored refresh
   * token alone (invalid_request, not invalid_grant), instead of reaching the server.
   * @param {RequestInfo | URL} input
   * @param {RequestInit} [init]
   */
  #guardedFetch(input, init) {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (!this.#secret && this.client && url === this.client.toJSON().tokenUrl) {
      this.#blocked = true;
      const body = { error: 'invalid_request', error_description: 'the admin page has no Client Secret in memory; enter it and press Connect' };
      return Promise.resolve(new Response(JSON.stringify(body), { status: 400, headers: { 'content-type': 'application/json' } }));
    }
    return globalThis.fetch(input, init);
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
        this.error = !this.#secret
          ? new NeedSecretError('Getting a new token needs the Client Secret.')
          : event.error ?? new Error('the token request failed');
        break;
      default:
        break;
    }
    if (!this.#secret && event.type === 'token_request') return; // never sent: see #guardedFetch
    this.events.unshift({
      at: Date.now(), type: event.type, grant: event.grant, status: this.#secret ? event.status : undefined,
      message: event.type === 'token_error' ? this.error?.message : event.type === 'storage_error' ? event.error?.message : undefined,
    });
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

/**
 * Wraps a storage so that the page sees every state the client reads or stores (and that
 * other tabs store): the token panel shows expiry, refresh-token age and counts from it.
 * @param {import('caspio-auth').Storage} store
 * @param {(state: any) => void} onState
 * @returns {import('caspio-auth').Storage}
 */
function observe(store, onState) {
  const wrapped = {
    async get() {
      const state = await store.get();
      onState(state ?? null);
      return state;
    },
    async set(state) {
      await store.set(state);
      onState(structuredClone(state));
    },
    async delete() {
      await store.delete();
      onState(null);
    },
  };
  if (typeof store.lock === 'function') wrapped.lock = () => store.lock();
  if (typeof store.subscribe === 'function') {
    // Another tab stored a state: the client rereads it at its next request; the panel now.
    wrapped.subscribe = (onChange) => store.subscribe(() => {
      onChange();
      store.get().then((state) => onState(state ?? null), () => {});
    });
  }
  return wrapped;
}
