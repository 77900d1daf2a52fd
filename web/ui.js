// Small DOM helpers of the admin page. Everything the page shows from a server goes in
// through textContent (never innerHTML), so that a record or an error cannot inject markup.

/** @param {string} id */
export function $(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`admin page: no element #${id}`);
  return el;
}

/**
 * Makes an element: el('td', {className: 'x', dataset: {...}}, 'text', child, ...).
 * @param {string} tag
 * @param {Record<string, any>} [props]
 * @param {...(Node | string | number | null | undefined | false)} children
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null) continue;
    if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('aria-') || key === 'role' || key === 'for') node.setAttribute(key, String(value));
    else node[key] = value;
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === 'string' || typeof child === 'number' ? String(child) : child);
  }
  return node;
}

let statusTimer = 0;

/**
 * Says something in the page's live region (read out by screen readers) and shows it in
 * the status line of the header bar, where it covers nothing. An error shown in a box is
 * not announced again here: the box (role="alert") is its one message.
 * @param {string} message
 * @param {'info' | 'ok' | 'error'} [tone]
 */
export function announce(message, tone = 'info') {
  const status = $('status');
  status.textContent = message;
  status.dataset.tone = tone;
  status.title = message;
  status.classList.add('visible');
  clearTimeout(statusTimer);
  statusTimer = setTimeout(() => status.classList.remove('visible'), tone === 'error' ? 12000 : 6000);
}

/** Withdraws the status line's message, so that a success said earlier does not stand beside a failure. */
export function withdrawAnnouncement() {
  const status = $('status');
  clearTimeout(statusTimer);
  status.classList.remove('visible');
  status.textContent = '';
  status.title = '';
}

/**
 * Withdraws a success on the status line as soon as any alert of the page shows (an error
 * box, or a message beside a grid cell), whichever part of the page showed it: a success
 * must not stand beside a later failure.
 */
export function watchAlerts() {
  new MutationObserver((changes) => {
    const status = $('status');
    if (!status.classList.contains('visible') || status.dataset.tone !== 'ok') return;
    const shown = changes.some((c) => c.target instanceof HTMLElement && c.target.getAttribute('role') === 'alert' && !c.target.hidden);
    if (shown) withdrawAnnouncement();
  }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ['hidden'] });
}

/**
 * The boxes that own a kind of error: such an error is shown in its home box only (the
 * Client Secret that a held refresh needs, by the secret field), so that one failure gives
 * one message however many parts of the page ran into it.
 * @type {{box: HTMLElement, owns: (err: unknown) => boolean}[]}
 */
const homes = [];

/**
 * Makes box the one place that shows the errors owns() picks; earlier homes come first.
 * @param {HTMLElement} box @param {(err: unknown) => boolean} owns
 */
export function homeFor(box, owns) {
  homes.push({ box, owns });
}

/** The box that owns err, if another box does. @param {HTMLElement} box @param {unknown} err */
function homeElsewhere(box, err) {
  const home = homes.find((h) => h.owns(err));
  return home !== undefined && home.box !== box;
}

/**
 * Shows an error in a box: a title, the library's message, and Caspio's or OAuth's fields
 * when the error has them. The library's errors never hold the secret, and nothing here
 * adds it. An error that another box owns (homeFor) leaves this box empty; a success still
 * on the status line is withdrawn.
 * @param {HTMLElement} box
 * @param {unknown} err
 * @param {string} [title]
 */
export function showError(box, err, title) {
  withdrawAnnouncement();
  if (homeElsewhere(box, err)) {
    clearError(box);
    return;
  }
  box.replaceChildren(...errorParts(err, title));
  box.hidden = false;
}

/** @param {HTMLElement} box */
export function clearError(box) {
  box.hidden = true;
  box.replaceChildren();
}

/** @param {unknown} err @param {string} [title] */
function errorParts(err, title) {
  const e = /** @type {any} */ (err);
  const parts = [el('p', { className: 'error-title' }, title ?? titleOf(e))];
  const facts = [];
  if (e?.code === 'CASPIO_API_ERROR') {
    if (e.status) facts.push(['HTTP status', String(e.status)]);
    if (e.Code) facts.push(['Code', e.Code]);
    if (e.Message) facts.push(['Message', e.Message]);
    if (e.Resource) facts.push(['Resource', e.Resource]);
    if (e.RequestId) facts.push(['Request ID', e.RequestId]);
  } else if (e?.code === 'OAUTH_ERROR') {
    facts.push(['Error', e.error || '(none)']);
    if (e.errorDescription) facts.push(['Description', e.errorDescription]);
    if (e.status) facts.push(['HTTP status', String(e.status)]);
    if (e.grant) facts.push(['Grant', e.grant]);
  }
  if (facts.length > 0) {
    parts.push(el('dl', { className: 'error-facts' }, ...facts.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)])));
  }
  const hint = hintOf(e);
  if (hint) parts.push(el('p', { className: 'error-hint' }, hint));
  const message = e instanceof Error ? e.message : String(err);
  if (facts.length > 0) {
    // The fields above say it; the full message is there for a bug report.
    parts.push(el('details', { className: 'error-details' }, el('summary', {}, 'Full message'), el('p', { className: 'error-message' }, message)));
  } else {
    parts.push(el('p', { className: 'error-message' }, message));
  }
  return parts;
}

function titleOf(e) {
  switch (e?.code) {
    case 'OAUTH_ERROR': return 'The token endpoint refused the request';
    case 'CASPIO_API_ERROR': return 'Caspio answered with an error';
    case 'CONFIG_INVALID': return 'The connection settings are not usable';
    case 'RESPONSE_INVALID': return 'The token endpoint gave no usable answer';
    case 'URL_REFUSED': return 'That URL is not on the account\'s REST API';
    case 'NEED_SECRET': return 'The Client Secret is needed';
    case 'UNREACHABLE': return `${e.url} could not be reached`;
    default: return 'Something went wrong';
  }
}

function hintOf(e) {
  if (e?.code === 'OAUTH_ERROR' && e.error === 'invalid_client') {
    return 'Check the Client ID and Client Secret against the account\'s Web services profile, and whether the profile expects them in the form body or as HTTP Basic.';
  }
  if (e?.code === 'UNREACHABLE') {
    return e.kind === 'token'
      ? 'No answer arrived from the token endpoint: check the account\'s URL (a typo, http or https), the network, and that the server allows this page\'s origin (CORS).'
      : 'No answer arrived from the REST API: check the resource URL, the network, and that the server allows this page\'s origin (CORS).';
  }
  if (e?.code === 'RESPONSE_INVALID' && e.status === 0) {
    return 'No answer arrived: check the URL, the network, and that the server allows this page\'s origin (CORS).';
  }
  return '';
}

/** "2 h 05 m 09 s", "4 m 02 s", "37 s"; "expired" at or below zero. @param {number} ms */
export function formatCountdown(ms) {
  if (ms <= 0) return 'expired';
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const pad = (n) => String(n).padStart(2, '0');
  if (h > 0) return `${h} h ${pad(m)} m ${pad(sec)} s`;
  if (m > 0) return `${m} m ${pad(sec)} s`;
  return `${sec} s`;
}

/**
 * A span of time: "1 h 30 min", "5 min", "45 s"; coarse, "59 days", "5 hours", "12 minutes",
 * "less than a minute".
 * @param {number} ms
 * @param {{coarse?: boolean}} [options]
 */
export function formatSpan(ms, { coarse = false } = {}) {
  if (coarse) {
    const minutes = Math.floor(ms / 60000);
    if (minutes < 1) return 'less than a minute';
    if (minutes < 60) return `${minutes} minute${minutes === 1 ? '' : 's'}`;
    const hours = Math.floor(minutes / 60);
    if (hours < 48) return `${hours} hour${hours === 1 ? '' : 's'}`;
    return `${Math.floor(hours / 24)} days`;
  }
  const s = Math.round(ms / 1000);
  const parts = [];
  if (s >= 3600) parts.push(`${Math.floor(s / 3600)} h`);
  if (s % 3600 >= 60) parts.push(`${Math.floor((s % 3600) / 60)} min`);
  if (s % 60 > 0 || s === 0) parts.push(`${s % 60} s`);
  return parts.join(' ');
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
/** @param {number | Date} t */
export function formatDate(t) { return dateFormat.format(t); }

const numberFormat = new Intl.NumberFormat();
/** @param {number} n */
export function formatNumber(n) { return numberFormat.format(n); }

/**
 * Renders a JSON value as indented text with spans for keys, strings, numbers and literals,
 * built node by node.
 * @param {unknown} value
 * @returns {DocumentFragment}
 */
export function renderJSON(value) {
  const out = document.createDocumentFragment();
  const text = (s) => out.append(s);
  const span = (cls, s) => out.append(el('span', { className: cls }, s));
  const walk = (v, indent) => {
    const pad = '  '.repeat(indent + 1);
    const end = '  '.repeat(indent);
    if (Array.isArray(v)) {
      if (v.length === 0) return text('[]');
      text('[\n');
      v.forEach((item, i) => {
        text(pad);
        walk(item, indent + 1);
        text(i < v.length - 1 ? ',\n' : '\n');
      });
      return text(`${end}]`);
    }
    if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v);
      if (entries.length === 0) return text('{}');
      text('{\n');
      entries.forEach(([k, item], i) => {
        text(pad);
        span('j-key', JSON.stringify(k));
        text(': ');
        walk(item, indent + 1);
        text(i < entries.length - 1 ? ',\n' : '\n');
      });
      return text(`${end}}`);
    }
    if (typeof v === 'string') return span('j-str', JSON.stringify(v));
    if (typeof v === 'number') return span('j-num', String(v));
    return span('j-lit', String(v));
  };
  walk(value, 0);
  return out;
}

/** Quotes a word for a POSIX shell. @param {string} s */
export function shellQuote(s) {
  return `'${s.replaceAll("'", `'"'"'`)}'`;
}
