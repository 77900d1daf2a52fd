// The token panel: what the client knows of its tokens, as its status() tells (the page
// computes no expiry, margin or limit of its own): a live countdown to the access token's
// expiry, when the client stops using it and refreshes (its refresh margin), when the
// refresh token expires, the counts of logins, refreshes and token requests, and the
// buttons to log in or refresh now.
import { $, el, announce, showError, clearError, formatCountdown, formatSpan, formatDate, formatNumber } from './ui.js';

const PHASES = {
  none: ['No token', 'pill-none'],
  valid: ['Valid', 'pill-ok'],
  expired: ['Expired', 'pill-warn'],
  requesting: ['Refreshing…', 'pill-busy'],
  held: ['Secret needed', 'pill-warn'],
  error: ['Error', 'pill-error'],
};

/** @param {import('./session.js').Session} session */
export function mountTokenPanel(session) {
  const showButton = /** @type {HTMLButtonElement} */ ($('token-show'));
  const authButton = /** @type {HTMLButtonElement} */ ($('authenticate-button'));
  const refreshButton = /** @type {HTMLButtonElement} */ ($('refresh-button'));
  /** The access token shown by Show, and the expiry it came with; '' when masked. */
  let revealed = '';
  let revealedExpiry = 0;
  /** An error of the buttons that made no token request (a NeedSecretError, say). */
  let actionError = null;
  /** The error the alert box shows, so that it is written (and read out) once. */
  let shownError = null;

  showButton.addEventListener('click', async () => {
    if (revealed) {
      revealed = '';
      render();
      return;
    }
    // The token the client would send now: its lease, or a new token if one is due.
    showButton.disabled = true;
    try {
      const token = await session.token();
      revealed = token.accessToken;
      revealedExpiry = token.expiresAt.getTime();
    } catch (err) {
      actionError = err;
    } finally {
      render();
      renderError();
    }
  });

  /** @param {'authenticate' | 'refresh'} what */
  async function act(what) {
    actionError = null;
    const button = what === 'authenticate' ? authButton : refreshButton;
    // Disabled while it works, the button would drop the focus: it gets it back after.
    const hadFocus = document.activeElement === button;
    button.disabled = true;
    try {
      const token = what === 'authenticate' ? await session.authenticate() : await session.refresh();
      announce(`${what === 'authenticate' ? 'Logged in' : 'Refreshed'}: the access token is valid until ${formatDate(token.expiresAt)}.`, 'ok');
    } catch (err) {
      actionError = err; // shown once, in the box below the buttons (or by the secret field)
    } finally {
      render();
      renderError();
      if (hadFocus && (document.activeElement === document.body || document.activeElement === null)) button.focus();
    }
  }
  // A login spends one of the account's 1,000 refresh tokens: the page asks first. Cancel
  // (the default) and Escape send nothing; the focus goes back to the button either way.
  const confirmDialog = /** @type {HTMLDialogElement} */ ($('auth-dialog'));
  authButton.addEventListener('click', () => {
    confirmDialog.returnValue = '';
    confirmDialog.showModal();
  });
  confirmDialog.addEventListener('close', () => {
    authButton.focus();
    if (confirmDialog.returnValue === 'login') act('authenticate');
  });

  // On a phone the panel is a one-line summary until Details is pressed.
  const more = $('token-more');
  more.addEventListener('click', () => {
    const open = more.getAttribute('aria-expanded') !== 'true';
    more.setAttribute('aria-expanded', String(open));
    more.textContent = open ? 'Less' : 'Details';
    $('token-card').classList.toggle('expanded', open);
  });
  refreshButton.addEventListener('click', () => act('refresh'));

  function render() {
    const now = Date.now();
    const s = session.status();
    const phase = session.phase();
    const expiresAt = s?.accessTokenExpiresAt?.getTime() ?? 0;
    const [label, cls] = PHASES[phase];
    const pill = $('token-state');
    pill.textContent = phase === 'requesting' && session.requesting === 'client_credentials' ? 'Logging in…'
      : phase === 'expired' && expiresAt > now ? 'Refresh due' : label;
    pill.className = `pill ${cls}`;
    pill.dataset.phase = phase;

    $('token-countdown').textContent = expiresAt ? formatCountdown(expiresAt - now) : '—';

    // When the client stops sending the token and gets a new one: its lease ends the
    // refresh margin before expiry.
    const until = s?.leaseValidUntil ?? null;
    $('lease-line').hidden = !(s && until);
    if (s && until) {
      $('lease-until').replaceChildren(timeOf(until));
      $('refresh-margin').textContent = formatSpan(s.refreshMargin * 1000);
    }

    // A new token is masked again.
    if (revealed && revealedExpiry !== expiresAt) revealed = '';
    const value = $('token-value');
    if (expiresAt) {
      value.textContent = revealed || '•'.repeat(24);
      value.className = revealed ? 'token-revealed' : 'token-masked';
      showButton.disabled = phase === 'requesting';
    } else {
      revealed = '';
      value.textContent = '—';
      value.className = 'token-masked';
      showButton.disabled = true;
    }
    showButton.textContent = revealed ? 'Hide' : 'Show';
    showButton.setAttribute('aria-pressed', String(Boolean(revealed)));
    showButton.setAttribute('aria-label', revealed ? 'Hide the access token' : 'Show the access token');

    const refreshExpiry = s?.refreshTokenExpiresAt ?? null;
    const refresh = $('refresh-expiry');
    $('refresh-expiry-help').hidden = !refreshExpiry;
    if (refreshExpiry) {
      const left = refreshExpiry.getTime() - now;
      refresh.replaceChildren(left > 0 ? `in ${formatSpan(left, { coarse: true })}, ` : 'expired, ', timeOf(refreshExpiry));
    } else {
      refresh.textContent = s?.accessTokenExpiresAt ? 'no refresh token' : '—';
    }

    const logins = s?.logins ?? 0;
    const refreshes = s?.refreshes ?? 0;
    $('token-counts').replaceChildren(
      el('strong', { id: 'token-logins' }, formatNumber(logins)), logins === 1 ? ' login · ' : ' logins · ',
      el('strong', { id: 'token-refreshes' }, formatNumber(refreshes)), refreshes === 1 ? ' refresh' : ' refreshes',
    );
    const requests = (s?.tokenRequests.client_credentials ?? 0) + (s?.tokenRequests.refresh_token ?? 0);
    $('token-requests-line').replaceChildren(el('strong', { id: 'token-requests' }, formatNumber(requests)),
      requests === 1 ? ' token request sent, failed ones included' : ' token requests sent, failed ones included');

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
    case 'unreached': return `${e.grant === 'refresh_token' ? 'Refresh' : 'Login'} request reached no server at ${e.url}${(e.tries ?? 1) > 1 ? ` (${e.tries} tries)` : ''}: check the URL and the network`;
    case 'login': return 'Logged in: new access and refresh token';
    case 'refresh': return 'Refreshed: new access token';
    case 'token_error': return `Token request failed${e.status ? ` (HTTP ${e.status})` : ''}${e.message ? `: ${e.message}` : ''}`;
    case 'retry': return 'Retrying the token request';
    case 'revoked': return 'The API refused the access token (401): it was dropped';
    case 'state_discarded': return 'The stored token state was unreadable and was discarded';
    case 'storage_error': return `The token storage failed${e.message ? `: ${e.message}` : ''}`;
    case 'held': return `${e.grant === 'refresh_token' ? 'Refresh' : 'Login'} held: the Client Secret is not in memory, so nothing was sent`;
    default: return e.type;
  }
}

/** A <time> element showing t. @param {Date} t */
function timeOf(t) {
  return el('time', { dateTime: t.toISOString() }, formatDate(t));
}
