// The admin page: the connection form, and the wiring of the token panel, the table
// browser and the REST explorer to one Session. Served by `go run ./cmd/caspio-demo -serve`
// (which also serves the sandbox and prefills the form), or by any static server that puts
// the npm package caspio-auth at /caspio-auth/.
import { Session } from './session.js';
import { mountTokenPanel } from './token-panel.js';
import { mountTables } from './tables.js';
import { mountExplorer } from './explorer.js';
import { $, el, announce, showError, clearError } from './ui.js';

const session = new Session();
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
  if (secretInput.value === '') throw invalid('clientSecret', 'Give the Client Secret of the Web services profile.');
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

/** @param {'on' | 'off' | 'failed'} state */
function badge(state) {
  const b = $('connection-badge');
  b.className = `badge badge-${state}`;
  b.textContent = state === 'on' ? `Connected · ${session.settings?.clientId ?? ''}` : state === 'failed' ? 'Connection failed' : 'Not connected';
}

/** Lists the tables with the session; true when that worked. */
async function firstCall() {
  try {
    await tables.loadTables();
    badge('on');
    return true;
  } catch (err) {
    badge('failed');
    // The package's errors have a code that titles them; anything else is a failed request.
    showError(connectError, err, /** @type {any} */ (err)?.code ? undefined : 'The first request with these settings failed');
    return false;
  }
}

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  clearError(connectError);
  let settings;
  try {
    settings = readForm();
  } catch (err) {
    showError(connectError, err, 'The form is not complete');
    /** @type {any} */ (err).input?.focus();
    return;
  }
  connectButton.disabled = true;
  connectButton.textContent = 'Connecting…';
  try {
    await session.connect(settings, secretInput.value);
  } catch (err) {
    showError(connectError, err, 'These settings cannot be used');
    badge('failed');
    connectButton.disabled = false;
    connectButton.textContent = 'Connect';
    return;
  }
  try {
    if (await firstCall()) {
      announce(`Connected to ${session.resourceBase} as ${settings.clientId}.`, 'ok');
      showForm(false);
      if (!settings.rememberSecret) secretInput.value = ''; // the session holds it; the field need not
      secretInput.placeholder = settings.rememberSecret ? '' : 'in memory; type it again to change it';
    } else {
      session.disconnect();
      announce('The connection failed; see the message under the form.', 'error');
      connectError.focus();
    }
  } finally {
    connectButton.disabled = false;
    connectButton.textContent = 'Connect';
  }
});

$('forget-button').addEventListener('click', () => {
  session.forget();
  form.reset();
  secretInput.placeholder = '';
  fillForm({});
  clearError(connectError);
  badge('off');
  showForm(true);
  announce('Forgot the secret, the tokens and the settings, in this tab and on this device.', 'ok');
});

// A session restored without the secret needs it once its access token is refused or
// expires: the form opens to take it.
session.addEventListener('needsecret', (e) => {
  showForm(true);
  showError(connectError, /** @type {CustomEvent} */ (e).detail);
  secretInput.placeholder = 'needed now';
});

session.addEventListener('disconnected', () => { if (!form.hidden) return; showForm(true); });

/** Prefills the form: the settings of an earlier visit, else the demo server's sandbox. */
async function start() {
  const saved = Session.savedSettings();
  if (saved) {
    fillForm(saved);
    if (saved.rememberSecret) secretInput.value = Session.rememberedSecret();
    try {
      await session.restore();
    } catch (err) {
      showError(connectError, err, 'The saved settings cannot be used');
      return;
    }
    if (!session.secretKnown) secretInput.placeholder = 'needed again once the access token is due for a refresh';
    if (await firstCall()) {
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
