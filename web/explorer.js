// The REST explorer: one request at a time through the client (so the token is added and
// refreshed as any program would get it), its response laid out, and the same request as
// a curl command with the token redacted unless asked for. The command's URL is the one the
// client sends to (client.resolve): the page joins no URL of its own.
//
// The explorer remembers, in localStorage (so a reload or a new tab finds them): the fields
// being edited, the last requests sent (method, path, query, body, status, time) to run
// again, and requests saved by name. Never a header (one could hold a key), never a token.
import { apiErrorFromResponse } from 'caspio-auth';
import { $, el, announce, showError, clearError, renderJSON, shellQuote } from './ui.js';

/** Where the explorer keeps its fields, history and saved requests (a caspio-auth key: Forget clears it). */
const STORE_KEY = 'caspio-auth-admin:explorer';
/** How many sent requests the history keeps. */
const MAX_HISTORY = 25;

/**
 * A request as the explorer keeps it: path without its query, the query as sent.
 * @typedef {{method: string, path: string, query: string, body: string}} KeptRequest
 * @typedef {KeptRequest & {status: number, ms: number, at: number}} SentRequest
 * @typedef {KeptRequest & {name: string}} SavedRequest
 * @typedef {{draft?: {method: string, path: string, params: Record<string, string>, body: string}, history: SentRequest[], saved: SavedRequest[]}} Kept
 */

/** @returns {Kept} */
function readKept() {
  try {
    const kept = JSON.parse(localStorage.getItem(STORE_KEY) ?? 'null');
    if (kept && typeof kept === 'object') {
      return { draft: kept.draft, history: Array.isArray(kept.history) ? kept.history : [], saved: Array.isArray(kept.saved) ? kept.saved : [] };
    }
  } catch {
    // not ours to understand: start again
  }
  return { history: [], saved: [] };
}

/** @param {(kept: Kept) => void} change */
function editKept(change) {
  const kept = readKept();
  change(kept);
  try {
    localStorage.setItem(STORE_KEY, JSON.stringify(kept));
  } catch {
    // a full storage keeps nothing: the explorer still works
  }
}

/** Requests the example buttons fill in. */
const EXAMPLES = {
  tables: { method: 'GET', path: 'tables' },
  orders: { method: 'GET', path: 'tables/Orders/records', params: { 'q.select': 'PK_ID, Product, Total, Status', 'q.orderBy': 'Total DESC', 'q.pageSize': '10', 'q.pageNumber': '1' } },
  fields: { method: 'GET', path: 'tables/Customers/fields' },
  error: { method: 'GET', path: 'tables/Orders/records', params: { 'q.where': 'NoSuchField = 1' } },
};

/** @param {import('./session.js').Session} session */
export function mountExplorer(session) {
  const form = /** @type {HTMLFormElement} */ ($('explorer-form'));
  const method = /** @type {HTMLSelectElement} */ ($('ex-method'));
  const path = /** @type {HTMLInputElement} */ ($('ex-path'));
  const headersInput = /** @type {HTMLTextAreaElement} */ ($('ex-headers'));
  const bodyInput = /** @type {HTMLTextAreaElement} */ ($('ex-body'));
  const bodyError = $('ex-body-error');
  const send = /** @type {HTMLButtonElement} */ ($('ex-send'));
  const paramInputs = /** @type {HTMLInputElement[]} */ ([...form.querySelectorAll('[data-param]')]);

  /** Reads the form into a request, or throws an Error naming the field to fix. */
  function readRequest() {
    const [rawPath, rawQuery = ''] = path.value.trim().replace(/^\/+/, '').split(/\?(.*)/s, 2);
    if (rawPath === '') throw fieldError(path, 'Give a path, such as tables or tables/Orders/records.');
    const query = new URLSearchParams(rawQuery);
    for (const input of paramInputs) {
      const v = input.value.trim();
      if (v !== '') query.set(/** @type {string} */ (input.dataset.param), v);
    }
    const headers = new Headers();
    for (const [i, line] of headersInput.value.split('\n').entries()) {
      if (line.trim() === '') continue;
      const colon = line.indexOf(':');
      const name = colon > 0 ? line.slice(0, colon).trim() : '';
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw fieldError(headersInput, `Line ${i + 1} of the headers is not "Name: value".`);
      if (name.toLowerCase() === 'authorization') throw fieldError(headersInput, 'The client sets Authorization itself; remove that header.');
      headers.append(name, line.slice(colon + 1).trim());
    }
    let body;
    const text = bodyInput.value.trim();
    if (text !== '') {
      if (method.value === 'GET' || method.value === 'DELETE') {
        throw fieldError(bodyInput, `${method.value} takes no body here; empty the JSON body or choose POST or PUT.`);
      }
      try {
        JSON.parse(text);
      } catch (err) {
        throw fieldError(bodyInput, `The body is not valid JSON: ${/** @type {Error} */ (err).message}`);
      }
      body = text;
      if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    }
    const qs = query.toString();
    return { method: method.value, path: qs ? `${rawPath}?${qs}` : rawPath, headers, body };
  }

  /** Marks a field invalid and returns the error to throw. */
  function fieldError(input, message) {
    input.setAttribute('aria-invalid', 'true');
    if (input === bodyInput) {
      bodyError.textContent = message;
      bodyError.hidden = false;
    }
    const err = new Error(message);
    err.name = 'FormError';
    /** @type {any} */ (err).field = input;
    return err;
  }

  function clearFieldErrors() {
    for (const input of [path, headersInput, bodyInput]) input.removeAttribute('aria-invalid');
    bodyError.hidden = true;
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearFieldErrors();
    saveDraft();
    const errorBox = $('ex-error');
    const request = checkedRequest();
    if (request === null) return;
    send.disabled = true;
    send.textContent = 'Sending…';
    const started = performance.now();
    // A command shown for an earlier request would now be wrong: it shows this one.
    if (!curlOutput.hidden) await showCurl(request, false);
    try {
      const res = await session.fetch(request.path, { method: request.method, headers: request.headers, body: request.body });
      const text = await res.text();
      const ms = Math.round(performance.now() - started);
      showResponse(res, text, ms);
      remember(request, res.status, ms);
      if (!res.ok) {
        // The error box (an alert) is the one message of a failed request.
        const err = await apiErrorFromResponse(new Response(text, { status: res.status, statusText: res.statusText, headers: res.headers }));
        showError(errorBox, err, `Caspio answered ${res.status}${err.Code ? ` ${err.Code}` : ''}`);
      } else {
        clearError(errorBox);
        announce(`${request.method} ${request.path.split('?')[0]}: ${res.status} ${res.statusText} in ${ms} ms.`, 'ok');
      }
    } catch (err) {
      remember(request, 0, Math.round(performance.now() - started));
      showAnswer();
      $('ex-status').textContent = 'No response';
      $('ex-status').className = 'pill pill-error';
      $('ex-time').textContent = '';
      $('ex-headers-out').replaceChildren();
      $('ex-request-id').textContent = '';
      $('ex-body-out').replaceChildren();
      showError(errorBox, err);
      if (errorBox.hidden) showError(errorBox, new Error('The request was not sent; the message about the connection above says why.'), 'No response');
    } finally {
      send.disabled = false;
      send.textContent = 'Send';
      revealAnswer();
    }
  });

  /** Shows the response column (its placeholder gives way). */
  function showAnswer() {
    $('ex-response').hidden = false;
    $('ex-placeholder').hidden = true;
  }

  /**
   * Brings the response into view: beside the request on a wide screen (where it is
   * already, but for a long page), below it on a phone.
   */
  function revealAnswer() {
    const head = $('ex-response');
    if (head.hidden) return;
    const r = head.getBoundingClientRect();
    const bar = document.querySelector('.top')?.getBoundingClientRect().bottom ?? 0;
    if (r.top < bar || r.top > window.innerHeight - 120) head.scrollIntoView({ block: 'start' });
  }

  /** The request the form describes, or null after showing what is wrong with it. */
  function checkedRequest() {
    try {
      return readRequest();
    } catch (err) {
      showRequestProblem(err);
      return null;
    }
  }

  function showRequestProblem(err) {
    const field = /** @type {any} */ (err).field;
    if (field !== bodyInput) announce(err.message, 'error');
    else announce('The JSON body is not valid; it was not sent.', 'error');
    field?.focus();
  }

  /** @param {Response} res @param {string} text @param {number} ms */
  function showResponse(res, text, ms) {
    showAnswer();
    const status = $('ex-status');
    status.textContent = `${res.status} ${res.statusText}`.trim();
    status.className = `pill ${res.ok ? 'pill-ok' : res.status >= 500 ? 'pill-error' : 'pill-warn'}`;
    $('ex-time').textContent = `${ms} ms`;

    const requestId = res.headers.get('x-caspio-request-id');
    $('ex-request-id').textContent = requestId ? `X-Caspio-Request-ID ${requestId}` : '';
    const rows = [];
    for (const [name, value] of res.headers) {
      const isId = name === 'x-caspio-request-id';
      rows.push(el('tr', { className: isId ? 'highlight' : '' },
        el('th', { scope: 'row' }, isId ? 'X-Caspio-Request-ID' : name),
        el('td', {}, isId ? el('mark', {}, value) : value)));
    }
    $('ex-headers-out').replaceChildren(...rows);

    const out = $('ex-body-out');
    if (text === '') {
      out.replaceChildren(el('span', { className: 'help' }, '(empty body)'));
      return;
    }
    try {
      out.replaceChildren(renderJSON(JSON.parse(text)));
    } catch {
      out.replaceChildren(text);
    }
  }

  // ---- copy as curl ----

  const curlOutput = /** @type {HTMLTextAreaElement} */ ($('curl-output'));

  /**
   * Shows request as a curl command: its method, the URL the client sends it to, its headers
   * and body, and the token redacted unless "include the token" is ticked; copies it when
   * copy is true. Returns false when it could not (the reason shown).
   * @param {{method: string, path: string, headers: Headers, body?: string}} request @param {boolean} copy
   */
  async function showCurl(request, copy) {
    let url;
    try {
      url = session.resolve(request.path);
    } catch (err) {
      showError($('ex-error'), err, 'The request has no URL on the REST base');
      showAnswer();
      curlOutput.hidden = true;
      return false;
    }
    let token = '<token>';
    if (/** @type {HTMLInputElement} */ ($('curl-token')).checked) {
      try {
        token = (await session.token()).accessToken;
      } catch (err) {
        showError($('ex-error'), err, 'The token for the curl command could not be had');
        showAnswer();
        return false;
      }
    }
    const lines = [`curl${request.method === 'GET' ? '' : ` -X ${request.method}`} ${shellQuote(url)}`,
      `-H ${shellQuote(`Authorization: Bearer ${token}`)}`, `-H ${shellQuote('Accept: application/json')}`];
    for (const [name, value] of request.headers) lines.push(`-H ${shellQuote(`${name}: ${value}`)}`);
    if (request.body !== undefined) lines.push(`--data-raw ${shellQuote(request.body)}`);
    const command = lines.join(' \\\n  ');
    curlOutput.value = command;
    curlOutput.hidden = false;
    curlOutput.rows = lines.length;
    if (!copy) return true;
    const redacted = token === '<token>' ? 'the token redacted' : 'the token included: keep it private';
    try {
      await navigator.clipboard.writeText(command);
      announce(`Copied the curl command, ${redacted}.`, 'ok');
    } catch {
      curlOutput.focus();
      curlOutput.select();
      announce(`The curl command is selected below, ${redacted}; press Ctrl+C or ⌘C to copy it.`);
    }
    return true;
  }

  $('curl-copy').addEventListener('click', async () => {
    clearFieldErrors();
    const request = checkedRequest();
    if (request === null) return;
    if (!session.connected) {
      announce('Connect first: the command needs the account\'s REST base URL.', 'error');
      return;
    }
    await showCurl(request, true);
  });

  // ---- examples and the REST base ----

  for (const button of document.querySelectorAll('[data-example]')) {
    button.addEventListener('click', () => {
      const ex = EXAMPLES[/** @type {HTMLElement} */ (button).dataset.example ?? ''];
      if (!ex) return;
      method.value = ex.method;
      path.value = ex.path;
      for (const input of paramInputs) input.value = ex.params?.[input.dataset.param ?? ''] ?? '';
      bodyInput.value = '';
      clearFieldErrors();
      form.requestSubmit();
    });
  }

  // ---- what the explorer remembers ----

  /** The fields as they are now, without the headers. */
  function saveDraft() {
    const params = {};
    for (const input of paramInputs) if (input.value !== '') params[input.dataset.param ?? ''] = input.value;
    editKept((kept) => { kept.draft = { method: method.value, path: path.value, params, body: bodyInput.value }; });
  }
  form.addEventListener('input', saveDraft);
  form.addEventListener('change', saveDraft);

  /** Fills the fields with a kept request: q.* parameters in their fields, the rest of the query in the path. @param {KeptRequest} r */
  function fill(r) {
    const query = new URLSearchParams(r.query);
    method.value = r.method;
    for (const input of paramInputs) {
      const name = input.dataset.param ?? '';
      input.value = query.get(name) ?? '';
      query.delete(name);
    }
    const rest = query.toString();
    path.value = rest ? `${r.path}?${rest}` : r.path;
    bodyInput.value = r.body;
    clearFieldErrors();
    saveDraft();
  }

  /** A request as kept: path and query apart, no header. */
  function keep(request) {
    const [p, q = ''] = request.path.split(/\?(.*)/s, 2);
    return { method: request.method, path: p, query: q, body: request.body ?? '' };
  }

  /** Adds a sent request to the history. @param {number} status 0: no response */
  function remember(request, status, ms) {
    editKept((kept) => {
      kept.history = [{ ...keep(request), status, ms, at: Date.now() }, ...kept.history].slice(0, MAX_HISTORY);
    });
    renderKept();
  }

  /** The request in one line: "GET tables/Orders/records?q.where=…". @param {KeptRequest} r */
  const line = (r) => `${r.method} ${r.path}${r.query ? `?${decodeURIComponentSafe(r.query)}` : ''}`;

  function renderKept() {
    const { history, saved } = readKept();
    $('ex-history-empty').hidden = history.length > 0;
    $('ex-history').replaceChildren(...history.map((r, i) => el('li', { className: 'history-item' },
      el('button', { type: 'button', className: 'small history-run', dataset: { index: String(i) }, 'aria-label': `Run again: ${line(r)}` }, 'Run'),
      el('code', { className: 'history-line' }, line(r)),
      el('span', { className: `pill ${r.status >= 200 && r.status < 300 ? 'pill-ok' : r.status === 0 || r.status >= 500 ? 'pill-error' : 'pill-warn'}` }, r.status ? String(r.status) : 'no response'),
      el('span', { className: 'help' }, `${r.ms} ms`))));
    $('ex-saved').replaceChildren(...saved.map((r, i) => el('li', { className: 'history-item' },
      el('button', { type: 'button', className: 'small saved-load', dataset: { index: String(i) }, 'aria-label': `Load ${r.name}: ${line(r)}` }, r.name),
      el('code', { className: 'history-line' }, line(r)),
      el('button', { type: 'button', className: 'small saved-delete', dataset: { index: String(i) }, 'aria-label': `Delete the saved request ${r.name}` }, 'Delete'))));
  }

  $('ex-history').addEventListener('click', (e) => {
    const button = /** @type {HTMLElement} */ (e.target).closest('.history-run');
    if (!button) return;
    const r = readKept().history[Number(/** @type {HTMLElement} */ (button).dataset.index)];
    if (!r) return;
    fill(r);
    form.requestSubmit();
  });
  $('ex-saved').addEventListener('click', (e) => {
    const button = /** @type {HTMLElement | null} */ (/** @type {HTMLElement} */ (e.target).closest('.saved-load, .saved-delete'));
    if (!button) return;
    const i = Number(button.dataset.index);
    const r = readKept().saved[i];
    if (!r) return;
    if (button.classList.contains('saved-delete')) {
      editKept((kept) => { kept.saved.splice(i, 1); });
      renderKept();
      $('ex-save-name').focus();
      announce(`Deleted the saved request ${r.name}.`, 'ok');
      return;
    }
    fill(r);
    path.focus();
    announce(`Loaded ${r.name}: press Send to run it.`, 'ok');
  });

  const saveName = /** @type {HTMLInputElement} */ ($('ex-save-name'));
  function saveRequest() {
    clearFieldErrors();
    saveName.removeAttribute('aria-invalid');
    const request = checkedRequest();
    if (request === null) return;
    const name = saveName.value.trim();
    if (name === '') {
      saveName.setAttribute('aria-invalid', 'true');
      saveName.focus();
      announce('Give the request a name to save it under.', 'error');
      return;
    }
    editKept((kept) => {
      kept.saved = [{ name, ...keep(request) }, ...kept.saved.filter((r) => r.name !== name)];
    });
    saveName.value = '';
    renderKept();
    announce(`Saved the request as ${name}.`, 'ok');
  }
  $('ex-save').addEventListener('click', saveRequest);
  saveName.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); saveRequest(); } });

  // The fields of the last visit (or of another tab) come back.
  const { draft } = readKept();
  if (draft && typeof draft.path === 'string') {
    if ([...method.options].some((o) => o.value === draft.method)) method.value = draft.method;
    path.value = draft.path;
    for (const input of paramInputs) input.value = draft.params?.[input.dataset.param ?? ''] ?? '';
    bodyInput.value = typeof draft.body === 'string' ? draft.body : '';
  }
  renderKept();
  // Forget (here or in another tab) clears what was kept.
  addEventListener('storage', (e) => { if (e.key === STORE_KEY || e.key === null) renderKept(); });

  const showBase = () => {
    $('ex-base').textContent = session.connected ? `(after ${session.resourceBase}/)` : '(relative to the REST base)';
    send.disabled = !session.connected;
  };
  session.addEventListener('connected', showBase);
  session.addEventListener('disconnected', () => {
    showBase();
    renderKept();
    $('ex-response').hidden = true;
    $('ex-placeholder').hidden = false;
    /** @type {HTMLTextAreaElement} */ ($('curl-output')).hidden = true;
  });
  showBase();
}

/** A query for reading: percent-escapes undone where they make sense. @param {string} q */
function decodeURIComponentSafe(q) {
  try {
    return decodeURIComponent(q.replaceAll('+', ' '));
  } catch {
    return q;
  }
}
