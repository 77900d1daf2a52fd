// The token panel: what the client holds (from the stored state it reads and writes), a
// live countdown to the access token's expiry, the refresh token's age against Caspio's
// limits, the counts of logins and refreshes, and the buttons to log in or refresh now.
import { $, el, announce, showError, clearError, formatCountdown, formatAge, formatDate, formatNumber } from './ui.js';

const DAY = 24 * 3600 * 1000;
/** A refresh token never used expires 60 days after it was minted; a used one after a year. */
const UNUSED_LIMIT = 60 * DAY;
const USED_LIMIT = 365 * DAY;

const PHASES = {
  none: ['No token', 'pill-none'],
  valid: ['Valid', 'pill-ok'],
  expired: ['Expired', 'pill-warn'],
  requesting: ['Refreshing…', 'pill-busy'],
  error: ['Error', 'pill-error'],
};

/** @param {import('./session.js').Session} session */
export function mountTokenPanel(session) {
  const showButton = /** @type {HTMLButtonElement} */ ($('token-show'));
  const authButton = /** @type {HTMLButtonElement} */ ($('authenticate-button'));
  const refreshButton = /** @type {HTMLButtonElement} */ ($('refresh-button'));
  let revealed = false;
  /** An error of the buttons that made no token request (a NeedSecretError, say). */
  let actionError = null;
  /** The error the alert box shows, so that it is written (and read out) once. */
  let shownError = null;

  showButton.addEventListener('click', () => {
    revealed = !revealed;
    render();
  });

  /** @param {'authenticate' | 'refresh'} what */
  async function act(what) {
    actionError = null;
    const button = what === 'authenticate' ? authButton : refreshButton;
    button.disabled = true;
    try {
      const token = what === 'authenticate' ? await session.authenticate() : await session.refresh();
      announce(`${what === 'authenticate' ? 'Logged in' : 'Refreshed'}: the access token is valid until ${formatDate(token.expiresAt)}.`, 'ok');
    } catch (err) {
      actionError = err;
      announce(`The ${what === 'authenticate' ? 'login' : 'refresh'} failed.`, 'error');
    } finally {
      render();
      renderError();
    }
  }
  authButton.addEventListener('click', () => act('authenticate'));
  refreshButton.addEventListener('click', () => act('refresh'));

  function render() {
    const now = Date.now();
    const phase = session.phase(now);
    const [label, cls] = PHASES[phase];
    const pill = $('token-state');
    pill.textContent = phase === 'requesting' && session.requesting === 'client_credentials' ? 'Logging in…' : label;
    pill.className = `pill ${cls}`;
    pill.dataset.phase = phase;

    const s = session.ownState();
    $('token-countdown').textContent = s?.access_token ? formatCountdown(s.expires_at - now) : '—';

    const value = $('token-value');
    if (s?.access_token) {
      value.textContent = revealed ? s.access_token : '•'.repeat(24);
      value.className = revealed ? 'token-revealed' : 'token-masked';
      showButton.disabled = false;
    } else {
      revealed = false;
      value.textContent = '—';
      value.className = 'token-masked';
      showButton.disabled = true;
    }
    showButton.textContent = revealed ? 'Hide' : 'Show';
    showButton.setAttribute('aria-pressed', String(revealed));
    showButton.setAttribute('aria-label', revealed ? 'Hide the access token' : 'Show the access token');

    const meter = /** @type {HTMLMeterElement} */ ($('refresh-meter'));
    if (s?.refresh_token && s.refresh_issued_at) {
      const used = Boolean(s.refresh_used_at);
      const limit = used ? USED_LIMIT : UNUSED_LIMIT;
      const age = Math.max(0, now - s.refresh_issued_at);
      $('refresh-age').textContent = formatAge(age);
      $('refresh-limit').textContent = used
        ? `of 1 year (used): expires ${formatDate(s.refresh_issued_at + limit)}`
        : `of 60 days if never used, 1 year once used: expires ${formatDate(s.refresh_issued_at + limit)} unless used`;
      meter.hidden = false;
      meter.value = Math.min(1, age / limit);
    } else {
      $('refresh-age').textContent = s ? 'no refresh token' : '—';
      $('refresh-limit').textContent = '';
      meter.hidden = true;
    }

    const logins = s?.counters?.logins ?? 0;
    const refreshes = s?.counters?.refreshes ?? 0;
    $('token-counts').replaceChildren(
      el('strong', { id: 'token-logins' }, formatNumber(logins)), logins === 1 ? ' login · ' : ' logins · ',
      el('strong', { id: 'token-refreshes' }, formatNumber(refreshes)), refreshes === 1 ? ' refresh' : ' refreshes',
    );

    authButton.disabled = !session.connected || phase === 'requesting';
    refreshButton.disabled = !session.connected || phase === 'requesting';
  }

  function renderError() {
    const err = session.connected ? (session.error ?? actionError) : null;
    if (err === shownError) return;
    shownError = err;
    if (err) showError($('token-error'), err);
    else clearError($('token-error'));
  }

  function renderEvents() {
    const list = $('token-events');
    if (session.events.length === 0) {
      list.replaceChildren(el('li', { className: 'help' }, 'None yet.'));
      return;
    }
    const time = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' });
    list.replaceChildren(...session.events.map((e) => el('li', { className: `event event-${e.type}` },
      el('time', { dateTime: new Date(e.at).toISOString() }, time.format(e.at)), ' ', describe(e))));
  }

  session.addEventListener('connected', () => { actionError = null; });
  session.addEventListener('change', () => {
    render();
    renderError();
    renderEvents();
  });
  setInterval(() => { if (session.connected) render(); }, 1000);
  render();
  renderEvents();
}

/** @param {import('./session.js').LoggedEvent} e */
function describe(e) {
  switch (e.type) {
    case 'token_request': return e.grant === 'refresh_token' ? 'Token request: refresh' : 'Token request: login (mints a refresh token)';
    case 'login': return 'Logged in: new access and refresh token';
    case 'refresh': return 'Refreshed: new access token';
    case 'token_error': return `Token request failed${e.status ? ` (HTTP ${e.status})` : ''}${e.message ? `: ${e.message}` : ''}`;
    case 'retry': return 'Retrying the token request';
    case 'revoked': return 'The API refused the access token (401): it was dropped';
    case 'state_discarded': return 'The stored token state was unreadable and was discarded';
    case 'storage_error': return `The token storage failed${e.message ? `: ${e.message}` : ''}`;
    default: return e.type;
  }
}
