// The table browser: the account's tables, a page of records in a grid, inline edits
// (PUT with q.where on PK_ID), new records (POST) and deletes (DELETE, confirmed first).
import { apiErrorFromResponse } from 'caspio-auth';
import { $, el, announce, showError, clearError, formatNumber } from './ui.js';

/** The autonumber key the grid edits and deletes by. */
const KEY_FIELD = 'PK_ID';

/**
 * @typedef {{Name: string, Type: string, IsFormula?: boolean}} Field
 * @typedef {Record<string, unknown>} Row
 */

/** @param {import('./session.js').Session} session */
export function mountTables(session) {
  const list = $('table-list');
  const view = $('table-view');
  const grid = /** @type {HTMLTableElement} */ ($('grid'));
  const errorBox = $('tables-error');
  const pageSize = /** @type {HTMLSelectElement} */ ($('page-size'));
  const pageNumber = /** @type {HTMLInputElement} */ ($('page-number'));
  const prev = /** @type {HTMLButtonElement} */ ($('page-prev'));
  const next = /** @type {HTMLButtonElement} */ ($('page-next'));
  const reload = /** @type {HTMLButtonElement} */ ($('tables-reload'));

  /** @type {{table: string, fields: Field[], rows: Row[], page: number, size: number, total: number | null, pages: number | null}} */
  const current = { table: '', fields: [], rows: [], page: 1, size: 25, total: null, pages: null };
  let loading = 0;

  /** Sends a request; a non-2xx answer becomes the package's CaspioAPIError. */
  async function call(path, init) {
    const res = await session.fetch(path, init);
    if (!res.ok) throw await apiErrorFromResponse(res);
    return res.status === 204 ? null : res.json();
  }

  async function loadTables() {
    clearError(errorBox);
    reload.disabled = true;
    try {
      const body = await call('tables');
      const names = /** @type {string[]} */ (body?.Result ?? []);
      list.replaceChildren(...names.map((name) => el('li', {},
        el('button', { type: 'button', className: 'table-button', dataset: { table: name }, 'aria-pressed': String(name === current.table) }, name))));
      $('tables-empty').hidden = names.length > 0;
      $('tables-empty').textContent = names.length > 0 ? '' : 'The account has no tables.';
      announce(`${names.length} table${names.length === 1 ? '' : 's'}: ${names.join(', ')}.`, 'ok');
      return names;
    } catch (err) {
      showError(errorBox, err, 'The tables could not be listed');
      throw err;
    } finally {
      reload.disabled = !session.connected;
    }
  }

  /** @param {string} name */
  async function openTable(name) {
    clearError(errorBox);
    try {
      const body = await call(`tables/${encodeURIComponent(name)}/fields`);
      current.table = name;
      current.fields = /** @type {Field[]} */ (body?.Result ?? []);
      current.page = 1;
      pageNumber.value = '1';
      for (const b of list.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b.dataset.table === name));
      $('table-title').textContent = name;
      view.hidden = false;
      await loadPage();
    } catch (err) {
      showError(errorBox, err, `The table ${name} could not be opened`);
    }
  }

  /** Reads the current page; quiet leaves the status to the caller. */
  async function loadPage({ quiet = false } = {}) {
    if (!current.table) return;
    const ticket = ++loading;
    clearError(errorBox);
    current.size = Number(pageSize.value);
    grid.setAttribute('aria-busy', 'true');
    try {
      // Page N of the table, in PK_ID order: the client's records API reads it.
      const page = await session.recordsPage(current.table, { pageSize: current.size, startPage: current.page });
      if (ticket !== loading) return;
      current.rows = /** @type {Row[]} */ (page.records);
      current.total = page.total; // v3 gives the total; v2 none
      current.pages = current.total !== null ? Math.max(1, Math.ceil(current.total / current.size)) : null;
      renderGrid();
      renderPager();
      if (!quiet) announce(`${current.table}: page ${current.page}${current.pages !== null ? ` of ${current.pages}` : ''}, ${current.rows.length} records.`);
    } catch (err) {
      if (ticket === loading) showError(errorBox, err, `The records of ${current.table} could not be read`);
    } finally {
      if (ticket === loading) grid.removeAttribute('aria-busy');
    }
  }

  function hasKey() { return current.fields.some((f) => f.Name === KEY_FIELD); }

  function renderPager() {
    const first = (current.page - 1) * current.size + 1;
    const last = first + current.rows.length - 1;
    let info = current.rows.length === 0 ? 'no records on this page' : `records ${formatNumber(first)}–${formatNumber(last)}`;
    if (current.total !== null) info += ` of ${formatNumber(current.total)} · page ${formatNumber(current.page)} of ${formatNumber(current.pages ?? 1)}`;
    $('page-info').textContent = info;
    prev.disabled = current.page <= 1;
    next.disabled = current.pages !== null ? current.page >= current.pages : current.rows.length < current.size;
    pageNumber.value = String(current.page);
    if (current.pages !== null) pageNumber.max = String(Math.max(1, current.pages));
    else pageNumber.removeAttribute('max');
  }

  function renderGrid() {
    const editable = hasKey();
    const head = el('tr', {}, ...current.fields.map((f) => el('th', { scope: 'col' },
      f.Name, el('span', { className: 'field-type' }, f.Type))));
    if (editable) head.append(el('th', { scope: 'col', className: 'actions-col' }, el('span', { className: 'visually-hidden' }, 'Actions')));
    const body = el('tbody');
    for (const row of current.rows) {
      const tr = el('tr', { dataset: { key: String(row[KEY_FIELD] ?? '') } });
      for (const f of current.fields) {
        const value = row[f.Name];
        const canEdit = editable && f.Name !== KEY_FIELD && !f.IsFormula && f.Type !== 'AUTONUMBER';
        const td = el('td', { className: cellClass(f) });
        if (canEdit) {
          td.append(el('button', {
            type: 'button', className: 'cell', dataset: { field: f.Name },
            'aria-label': `${f.Name} of record ${row[KEY_FIELD]}: ${display(value) || 'empty'}; edit`,
          }, display(value)));
        } else {
          td.textContent = display(value);
        }
        tr.append(td);
      }
      if (editable) {
        tr.append(el('td', { className: 'actions-col' }, el('button', {
          type: 'button', className: 'small danger-quiet row-delete', dataset: { key: String(row[KEY_FIELD]) },
          'aria-label': `Delete record ${row[KEY_FIELD]}`,
        }, 'Delete')));
      }
      body.append(tr);
    }
    grid.replaceChildren(el('caption', { className: 'visually-hidden' }, `${current.table}, page ${current.page}`), el('thead', {}, head), body);
  }

  /** Turns a cell's button into an input; Enter or leaving saves, Escape cancels. @param {HTMLButtonElement} button */
  function editCell(button) {
    const td = /** @type {HTMLElement} */ (button.parentElement);
    const key = /** @type {HTMLElement} */ (td.parentElement).dataset.key ?? '';
    const field = current.fields.find((f) => f.Name === button.dataset.field);
    if (!field) return;
    const row = current.rows.find((r) => String(r[KEY_FIELD]) === key);
    const before = display(row?.[field.Name]);
    const input = el('input', {
      type: 'text', className: 'cell-input', value: before, 'aria-label': `${field.Name} of record ${key}`,
      inputMode: isNumeric(field) ? 'decimal' : 'text', spellcheck: false,
    });
    td.replaceChildren(input);
    input.focus();
    input.select();
    let done = false;
    const finish = async (save) => {
      if (done) return;
      done = true;
      if (!save || input.value === before) {
        td.replaceChildren(button);
        if (save !== null) button.focus();
        return;
      }
      let value;
      try {
        value = parseValue(field, input.value);
      } catch (err) {
        done = false;
        input.setAttribute('aria-invalid', 'true');
        showError(errorBox, err, `${field.Name} was not saved`);
        input.focus();
        return;
      }
      input.disabled = true;
      try {
        const result = await call(`tables/${encodeURIComponent(current.table)}/records?${new URLSearchParams({ 'q.where': `${KEY_FIELD}=${key}` })}`, {
          method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ [field.Name]: value }),
        });
        if (row) row[field.Name] = value;
        clearError(errorBox);
        button.textContent = display(value);
        button.setAttribute('aria-label', `${field.Name} of record ${key}: ${display(value) || 'empty'}; edit`);
        td.replaceChildren(button);
        button.focus();
        announce(`Saved ${field.Name} of record ${key} (${result?.RecordsAffected ?? 1} record changed).`, 'ok');
      } catch (err) {
        done = false;
        input.disabled = false;
        input.setAttribute('aria-invalid', 'true');
        showError(errorBox, err, `${field.Name} of record ${key} was not saved`);
        input.focus();
      }
    };
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') { e.preventDefault(); finish(true); }
      if (e.key === 'Escape') { e.preventDefault(); clearError(errorBox); finish(false); }
    });
    input.addEventListener('blur', () => { if (!input.disabled) finish(input.value === before ? null : true); });
  }

  // ---- adding and deleting ----

  const addDialog = /** @type {HTMLDialogElement} */ ($('add-dialog'));
  const addForm = /** @type {HTMLFormElement} */ ($('add-form'));

  function openAdd() {
    clearError($('add-error'));
    $('add-heading').textContent = `Add a record to ${current.table}`;
    const fields = current.fields.filter((f) => f.Type !== 'AUTONUMBER' && !f.IsFormula);
    $('add-fields').replaceChildren(...fields.map((f) => {
      const id = `add-${f.Name}`;
      return el('div', { className: 'field' },
        el('label', { for: id }, f.Name, ' ', el('span', { className: 'field-type' }, f.Type)),
        el('input', {
          id, name: f.Name, type: 'text', autocomplete: 'off', spellcheck: false,
          inputMode: isNumeric(f) ? 'decimal' : 'text', placeholder: placeholderOf(f),
        }));
    }));
    addDialog.showModal();
  }

  addForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const record = {};
    try {
      for (const input of /** @type {NodeListOf<HTMLInputElement>} */ (addForm.querySelectorAll('#add-fields input'))) {
        const field = current.fields.find((f) => f.Name === input.name);
        if (!field || input.value === '') continue;
        record[field.Name] = parseValue(field, input.value);
      }
    } catch (err) {
      showError($('add-error'), err, 'The record was not added');
      return;
    }
    const save = /** @type {HTMLButtonElement} */ ($('add-save'));
    save.disabled = true;
    try {
      const result = await call(`tables/${encodeURIComponent(current.table)}/records?response=rows`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(record),
      });
      const added = result?.Result?.[0]?.[KEY_FIELD];
      addDialog.close();
      await loadPage({ quiet: true });
      announce(added !== undefined ? `Added record ${added} to ${current.table}.` : `Added a record to ${current.table}.`, 'ok');
    } catch (err) {
      showError($('add-error'), err, 'The record was not added');
    } finally {
      save.disabled = false;
    }
  });
  $('add-cancel').addEventListener('click', () => addDialog.close());

  const deleteDialog = /** @type {HTMLDialogElement} */ ($('delete-dialog'));
  /** @param {string} key */
  function confirmDelete(key) {
    $('delete-text').textContent = `Record ${key} will be deleted from ${current.table}. This cannot be undone.`;
    deleteDialog.returnValue = '';
    deleteDialog.showModal();
    deleteDialog.addEventListener('close', async () => {
      if (deleteDialog.returnValue !== 'delete') return;
      try {
        const result = await call(`tables/${encodeURIComponent(current.table)}/records?${new URLSearchParams({ 'q.where': `${KEY_FIELD}=${key}` })}`, { method: 'DELETE' });
        await loadPage({ quiet: true });
        announce(`Deleted record ${key} (${result?.RecordsAffected ?? 1} record removed).`, 'ok');
      } catch (err) {
        showError(errorBox, err, `Record ${key} was not deleted`);
      }
    }, { once: true });
  }

  // ---- wiring ----

  list.addEventListener('click', (e) => {
    const button = /** @type {HTMLElement} */ (e.target).closest('button');
    if (button?.dataset.table) openTable(button.dataset.table);
  });
  grid.addEventListener('click', (e) => {
    const button = /** @type {HTMLButtonElement | null} */ (/** @type {HTMLElement} */ (e.target).closest('button'));
    if (!button) return;
    if (button.classList.contains('cell')) editCell(button);
    else if (button.classList.contains('row-delete')) confirmDelete(button.dataset.key ?? '');
  });
  prev.addEventListener('click', () => { current.page = Math.max(1, current.page - 1); loadPage(); });
  next.addEventListener('click', () => { current.page += 1; loadPage(); });
  pageSize.addEventListener('change', () => { current.page = 1; loadPage(); });
  pageNumber.addEventListener('change', () => {
    const n = Math.floor(Number(pageNumber.value));
    current.page = Number.isFinite(n) && n >= 1 ? n : 1;
    loadPage();
  });
  $('record-add').addEventListener('click', openAdd);
  reload.addEventListener('click', () => { loadTables().catch(() => {}); });

  session.addEventListener('disconnected', () => {
    list.replaceChildren();
    view.hidden = true;
    current.table = '';
    grid.replaceChildren();
    clearError(errorBox);
    $('tables-empty').hidden = false;
    $('tables-empty').textContent = 'Connect to list the account\'s tables.';
    reload.disabled = true;
  });

  return { loadTables };
}

/** @param {Field} f */
function isNumeric(f) { return f.Type === 'INTEGER' || f.Type === 'NUMBER' || f.Type === 'AUTONUMBER'; }

/** @param {Field} f */
function cellClass(f) { return isNumeric(f) ? 'num' : f.Type === 'DATE/TIME' ? 'date' : ''; }

/** @param {Field} f */
function placeholderOf(f) {
  switch (f.Type) {
    case 'INTEGER': return 'a whole number';
    case 'NUMBER': return 'a number';
    case 'DATE/TIME': return '2024-01-31T13:45:00';
    default: return '';
  }
}

/** @param {unknown} v */
function display(v) {
  if (v === null || v === undefined) return '';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/**
 * Converts what was typed to the field's JSON type; empty is null.
 * @param {Field} field
 * @param {string} text
 */
function parseValue(field, text) {
  const t = text.trim();
  if (t === '') return null;
  if (field.Type === 'INTEGER' || field.Type === 'NUMBER') {
    const n = Number(t);
    if (!Number.isFinite(n) || (field.Type === 'INTEGER' && !Number.isInteger(n))) {
      throw new Error(`${field.Name} takes ${field.Type === 'INTEGER' ? 'a whole number' : 'a number'}; "${t}" is not one.`);
    }
    return n;
  }
  return field.Type === 'DATE/TIME' ? t : text;
}
