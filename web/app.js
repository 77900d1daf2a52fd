// The admin page: the connection form, and the wiring of the token panel, the table
// browser and the REST explorer to one Session. Served by `go run ./cmd/caspio-demo -serve`
// (which also serves the sandbox and prefills the form), or by any static server that puts
// the npm package caspio-auth at /caspio-auth/.
import { Session } from './session.js';
import { mountTokenPanel } from './token-panel.js';
import { mountTables } from './tables.js';
import { mountExplorer } from './explorer.js';
import { $, el, announce, showError, clearError, homeFor, watchAlerts } from './ui.js';

const session = new Session();
watchAlerts();

// One failure, one message: each kind of error has one home. While settings are tried,
// what goes wrong is said under the form; the Client Secret a held request needs is asked
// for by its field; a token request's failure is the token panel's. Other boxes (the
// tables card, the explorer) show what is left: the API's answers.
let connecting = false;
homeFor($('connect-error'), (err) => connecting || /** @type {any} */ (err)?.code === 'NEED_SECRET');
homeFor($('token-error'), (err) => isTokenError(err));

mountTokenPanel(session);
const tables = mountTables(session);
mountExplorer(session);

const form = /** @type {HTMLFormElement} */ ($('connect-form'));
const kind = /** @type {HTMLSelectElement} */ ($('endpoint-kind'));
const remember = /** @type {HTMLInputElement} */ ($('remember-secret'));
const secretInput = /** @type {HTMLInputElement} */ ($('client-secret'));
const connectButton = /** @type {HTMLButtonElement} */ ($('connect-button'));
const toggle = /** @type {HTMLButtonElement} */ ($('connect-toggle'));
const connectError = $('connect-error');

/** The form's text fields by settings name. */
const TEXT_FIELDS = /** @type {const} */ (['integrationUrl', 'account', 'tokenUrl', 'resourceUrl', 'clientId']);

function showKind() {
  for (const field of /** @type {NodeListOf<HTMLElement>} */ (form.querySelectorAll('[data-kind]'))) {
    field.hidden = field.dataset.kind !== kind.value;
  }
}
kind.addEventListener('change', showKind);
remember.addEventListener('change', () => { $('remember-warning').hidden = !remember.checked; });

/** @param {Partial<import('./session.js').Settings>} s */
function fillForm(s) {
  kind.value = s.endpointKind ?? 'integrationUrl';
  for (const name of TEXT_FIELDS) /** @type {HTMLInputElement} */ (form.elements.namedItem(name)).value = s[name] ?? '';
  /** @type {HTMLSelectElement} */ ($('api-version')).value = s.apiVersion ?? 'v2';
  /** @type {HTMLSelectElement} */ ($('credentials')).value = s.credentials ?? 'body';
  /** @type {HTMLSelectElement} */ ($('token-storage')).value = s.tokenStorage ?? 'session';
  /** @type {HTMLInputElement} */ ($('refresh-margin-input')).value = typeof s.refreshMargin === 'number' ? String(s.refreshMargin) : '';
  remember.checked = Boolean(s.rememberSecret);
  $('remember-warning').hidden = !remember.checked;
  showKind();
}

/** Reads the form, or throws an Error after marking the field to fix. @returns {import('./session.js').Settings} */
function readForm() {
  for (const input of form.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
  const value = (name) => /** @type {HTMLInputElement} */ (form.elements.namedItem(name)).value.trim();
  const settings = {
    endpointKind: /** @type {any} */ (kind.value),
    integrationUrl: value('integrationUrl'),
    account: value('account'),
    tokenUrl: value('tokenUrl'),
    resourceUrl: value('resourceUrl'),
    apiVersion: /** @type {any} */ (value('apiVersion')),
    credentials: /** @type {any} */ (value('credentials')),
    clientId: value('clientId'),
    tokenStorage: /** @type {any} */ (value('tokenStorage')),
    // Empty leaves the client's default; the client judges the number (and names what is wrong).
    refreshMargin: value('refreshMargin') === '' ? null : Number(value('refreshMargin')),
    rememberSecret: remember.checked,
  };
  const required = {
    integrationUrl: [['integrationUrl', 'Give the integration URL, such as https://c1abc123.caspio.com.']],
    account: [['account', 'Give the account ID, such as c1abc123.']],
    urls: [['tokenUrl', 'Give the token endpoint URL.'], ['resourceUrl', 'Give the resource endpoint URL.']],
  }[settings.endpointKind];
  for (const [name, message] of [...required, ['clientId', 'Give the Client ID of the Web services profile.']]) {
    if (settings[name] === '') throw invalid(name, message);
  }
  // Left empty, the secret in memory is kept (for the same Client ID), as its placeholder says.
  if (secretInput.value === '' && !(session.secretKnown && session.settings?.clientId === settings.clientId)) {
    throw invalid('clientSecret', 'Give the Client Secret of the Web services profile.');
  }
  if (Number.isNaN(settings.refreshMargin)) throw invalid('refreshMargin', 'Give the refresh margin as a number of seconds, or leave it empty for the client\'s default.');
  return settings;
}

function invalid(name, message) {
  const input = /** @type {HTMLInputElement} */ (form.elements.namedItem(name));
  input.setAttribute('aria-invalid', 'true');
  const err = new Error(message);
  /** @type {any} */ (err).input = input;
  return err;
}

/** Shows the form open or folded into a one-line summary. @param {boolean} open */
function showForm(open) {
  form.hidden = !open;
  toggle.hidden = !session.connected;
  toggle.setAttribute('aria-expanded', String(open));
  toggle.textContent = open ? 'Hide' : 'Change';
  const summary = $('connect-summary');
  summary.hidden = !session.connected;
  if (session.connected && session.settings) {
    const s = session.settings;
    summary.replaceChildren(
      el('strong', {}, s.clientId),
      el('code', {}, session.resourceBase),
      el('span', {}, `${session.apiVersion} · credentials in the ${s.credentials === 'basic' ? 'Basic header' : 'form body'} · tokens in ${s.tokenStorage === 'local' ? 'localStorage' : 'sessionStorage'}${session.secretKnown ? '' : ' · secret not in memory'}`));
  }
}
toggle.addEventListener('click', () => {
  const open = form.hidden;
  showForm(open);
  if (open) kind.focus();
});

/** Whether err is a token request's failure (the token panel's to show). @param {unknown} err */
function isTokenError(err) {
  const e = /** @type {any} */ (err);
  return e?.code === 'OAUTH_ERROR' || e?.code === 'TOKEN_GAVE_UP' || (e?.code === 'UNREACHABLE' && e.kind === 'token') ||
    (e?.code === 'RESPONSE_INVALID' && e === session.error);
}

/** The last connection attempt without a connection to go back to failed. */
let failed = false;

/** The header badge: what the page knows of the account now. */
function badge() {
  if (session.trying) return; // settings on trial: the badge says what it said
  const b = $('connection-badge');
  let state = 'off';
  let text = failed ? 'Connection failed' : 'Not connected';
  if (failed) state = 'failed';
  if (session.connected) {
    if (session.phase() === 'held') [state, text] = ['held', 'Secret needed'];
    else if (session.unreachable) [state, text] = ['failed', 'Cannot reach the account'];
    else [state, text] = ['on', `Connected · ${session.settings?.clientId ?? ''}`];
  }
  b.className = `badge badge-${state}`;
  b.textContent = text;
}
session.addEventListener('change', badge);

/** Lists the tables with the session; true when that worked. */
async function firstCall() {
  try {
    await tables.loadTables();
    return true;
  } catch (err) {
    // The package's errors have a code that titles them; anything else is a failed request.
    showError(connectError, err, /** @type {any} */ (err)?.code ? undefined : 'The first request with these settings failed');
    return false;
  }
}

/** Moves the view to the tables and the focus to the first of them, once connected. */
function showTables() {
  const target = /** @type {HTMLElement | null} */ (document.querySelector('#table-list button')) ?? $('tables-heading');
  window.scrollTo({ top: 0 });
  target.focus({ preventScroll: true });
  const r = target.getBoundingClientRect();
  if (r.top < 0 || r.bottom > window.innerHeight) target.scrollIntoView({ block: 'center' });
}

/**
 * Connects with settings: tried beside the connection in use, kept only when the first
 * request works (then saved); else the connection in use stays as it was.
 * @param {import('./session.js').Settings} settings @param {string | null} secret null keeps the secret in memory
 * @returns {Promise<boolean>}
 */
async function tryConnect(settings, secret) {
  connecting = true;
  connectButton.disabled = true;
  connectButton.textContent = 'Connecting…';
  try {
    try {
      await session.connect(settings, secret);
    } catch (err) {
      showError(connectError, err, 'These settings cannot be used');
      if (!session.connected) failed = true;
      return false;
    }
    if (await firstCall()) {
      session.commit();
      failed = false;
      announce(`Connected to ${session.resourceBase} as ${settings.clientId}.`, 'ok');
      showForm(false);
      if (!settings.rememberSecret) secretInput.value = ''; // the session holds it; the field need not
      secretInput.placeholder = settings.rememberSecret ? '' : 'kept in memory: leave empty to keep it';
      return true;
    }
    const back = session.rollback();
    failed = !back;
    if (back) connectError.append(el('p', { className: 'error-hint' }, `Still connected with the settings in use before (${session.settings?.clientId} at ${session.resourceBase}); nothing was saved.`));
    connectError.focus();
    return false;
  } finally {
    connecting = false;
    connectButton.disabled = false;
    connectButton.textContent = 'Connect';
    badge();
  }
}

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  clearTimeout(secretTimer);
  clearError(connectError);
  let settings;
  try {
    settings = readForm();
  } catch (err) {
    showError(connectError, err, 'The form is not complete');
    /** @type {any} */ (err).input?.focus();
    return;
  }
  if (await tryConnect(settings, secretInput.value || null)) showTables();
});

/** Resets the page to its first state (Forget here, or in another tab). */
function forgotten() {
  form.reset();
  secretInput.placeholder = '';
  fillForm({});
  clearError(connectError);
  failed = false;
  badge();
  showForm(true);
}

$('forget-button').addEventListener('click', () => {
  session.forget();
  forgotten();
  announce('Forgot the secret, the tokens and the settings, in every tab of this page and on this device.', 'ok');
});
session.addEventListener('forgotten', () => {
  forgotten();
  announce('Signed out: Forget was pressed in another tab of this page.', 'ok');
});

// A session restored without the secret needs it once its access token is refused or
// expires: the form opens to take it, with the one message about it, and once the secret
// is typed the held request goes on.
session.addEventListener('needsecret', (e) => {
  showForm(true);
  showError(connectError, /** @type {CustomEvent} */ (e).detail);
  secretInput.placeholder = 'needed now';
  secretInput.focus({ preventScroll: true });
  secretInput.scrollIntoView({ block: 'center' });
  badge();
});

/** Typing the needed secret resumes: the same settings, with the secret, and the held request again. */
let secretTimer = 0;
async function resumeWithSecret() {
  if (session.phase() !== 'held' || secretInput.value === '' || !session.settings || connecting) return;
  clearError(connectError);
  if (await tryConnect(session.settings, secretInput.value)) {
    announce('The Client Secret is in memory again; the held request went on.', 'ok');
    showTables();
  }
}
secretInput.addEventListener('input', () => {
  clearTimeout(secretTimer);
  if (session.phase() === 'held') secretTimer = setTimeout(resumeWithSecret, 800);
});

session.addEventListener('disconnected', () => { badge(); if (!form.hidden) return; showForm(true); });

/**
 * Prefills the form: the settings of an earlier visit, else those of an open tab of the
 * page (a new tab: its token comes from that tab, without a new login), else the demo
 * server's sandbox.
 */
async function start() {
  const saved = Session.savedSettings() ?? await session.askOpenTabs();
  if (saved) {
    fillForm(saved);
    if (saved.rememberSecret) secretInput.value = Session.rememberedSecret();
    connecting = true;
    let listed = false;
    try {
      await session.restoreFrom(saved);
      listed = await firstCall();
    } catch (err) {
      showError(connectError, err, 'The saved settings cannot be used');
      return;
    } finally {
      connecting = false;
    }
    // Saved settings worked before: they are kept even when the account does not answer now.
    session.commit();
    badge();
    if (!session.secretKnown && session.phase() !== 'held') secretInput.placeholder = 'needed again once the access token is due for a refresh';
    if (listed) {
      showForm(false);
      announce(`Session restored: ${session.settings?.clientId} at ${session.resourceBase}.`, 'ok');
    } else {
      showForm(true);
      if (!session.secretKnown) secretInput.focus();
    }
    return;
  }
  fillForm({});
  try {
    const res = await fetch('/__demo/config.json', { cache: 'no-store' });
    if (!res.ok || !(res.headers.get('content-type') ?? '').includes('json')) return;
    const demo = await res.json();
    fillForm({ endpointKind: 'integrationUrl', integrationUrl: demo.integrationUrl, clientId: demo.clientId, apiVersion: demo.apiVersion });
    secretInput.value = typeof demo.clientSecret === 'string' ? demo.clientSecret : '';
    $('secret-help').textContent = 'Prefilled with the demo sandbox\'s secret. Kept in this page\'s memory only, and sent to the token endpoint only.';
  } catch {
    // Not served by the demo: the form stays empty.
  }
}

showForm(true);
start().finally(() => { document.body.dataset.ready = 'true'; });
