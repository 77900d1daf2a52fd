// The REST explorer: one request at a time through the client (so the token is added and
// refreshed as any program would get it), its response laid out, and the same request as
// a curl command with the token redacted unless asked for. The command's URL is the one the
// client sends to (client.resolve): the page joins no URL of its own.
import { apiErrorFromResponse } from 'caspio-auth';
import { $, el, announce, showError, clearError, renderJSON, shellQuote } from './ui.js';

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
    const errorBox = $('ex-error');
    let request;
    try {
      request = readRequest();
    } catch (err) {
      showRequestProblem(err);
      return;
    }
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
      if (!res.ok) {
        const err = await apiErrorFromResponse(new Response(text, { status: res.status, statusText: res.statusText, headers: res.headers }));
        showError(errorBox, err, `Caspio answered ${res.status}${err.Code ? ` ${err.Code}` : ''}`);
      } else {
        clearError(errorBox);
      }
      announce(`${request.method} ${request.path.split('?')[0]}: ${res.status} ${res.statusText} in ${ms} ms.`, res.ok ? 'ok' : 'error');
    } catch (err) {
      $('ex-response').hidden = false;
      $('ex-status').textContent = 'No response';
      $('ex-status').className = 'pill pill-error';
      $('ex-time').textContent = '';
      $('ex-headers-out').replaceChildren();
      $('ex-request-id').textContent = '';
      $('ex-body-out').replaceChildren();
      showError(errorBox, err);
      announce('The request was not sent or got no answer.', 'error');
    } finally {
      send.disabled = false;
      send.textContent = 'Send';
    }
  });

  function showRequestProblem(err) {
    const field = /** @type {any} */ (err).field;
    if (field !== bodyInput) announce(err.message, 'error');
    else announce('The JSON body is not valid; it was not sent.', 'error');
    field?.focus();
  }

  /** @param {Response} res @param {string} text @param {number} ms */
  function showResponse(res, text, ms) {
    $('ex-response').hidden = false;
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
      $('ex-response').hidden = false;
      curlOutput.hidden = true;
      return false;
    }
    let token = '<token>';
    if (/** @type {HTMLInputElement} */ ($('curl-token')).checked) {
      try {
        token = (await session.token()).accessToken;
      } catch (err) {
        showError($('ex-error'), err, 'The token for the curl command could not be had');
        $('ex-response').hidden = false;
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
    let request;
    try {
      request = readRequest();
    } catch (err) {
      showRequestProblem(err);
      return;
    }
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

  const showBase = () => {
    $('ex-base').textContent = session.connected ? `(after ${session.resourceBase}/)` : '(relative to the REST base)';
    send.disabled = !session.connected;
  };
  session.addEventListener('connected', showBase);
  session.addEventListener('disconnected', () => {
    showBase();
    $('ex-response').hidden = true;
    /** @type {HTMLTextAreaElement} */ ($('curl-output')).hidden = true;
  });
  showBase();
}
