// The table browser: the account's tables, and a table's records in a grid that the
// client's records API reads a page at a time (client.records: a filter as q.where, an
// order as q.orderBy, page N of a size), with inline edits (updateRecords on PK_ID), new
// records (insertRecords) and deletes (deleteRecords, confirmed first).
//
// The grid follows the WAI-ARIA grid pattern: one Tab stop (a roving tabindex), arrow keys,
// Home and End between cells, Enter or F2 to edit, Escape to cancel. One cell editor is open
// at a time, and its error shows beside it. What the grid shows (table, page, page size,
// filter, order) is kept under VIEW_KEY in this tab's sessionStorage, for a reload, and in
// localStorage, for a new tab; it holds no token.
import { apiErrorFromResponse } from 'caspio-auth';
import { $, el, announce, showError, clearError, formatNumber } from './ui.js';
import { KEY_PREFIX } from './session.js';

/** The autonumber key the grid edits and deletes by. */
const KEY_FIELD = 'PK_ID';

/** Where the grid's view is kept; under the page's prefix, so that Forget clears it. */
const VIEW_KEY = `${KEY_PREFIX}-admin:grid`;

/** Rows that PageUp and PageDown move by. */
const PAGE_JUMP = 10;

/**
 * @typedef {{Name: string, Type: string, IsFormula?: boolean}} Field
 * @typedef {Record<string, unknown>} Row
 * @typedef {{field: string, desc: boolean}} Sort
 * @typedef {{page: number, size: number, where: string, sort: Sort | null}} View
 *   sort null: the table's key order.
 * @typedef {{td: HTMLElement, button: HTMLButtonElement, input: HTMLInputElement, error: HTMLElement,
 *   field: Field, key: string, before: string, pending: Promise<boolean> | null}} Editor
 */

/** @param {import('./session.js').Session} session */
export function mountTables(session) {
  const list = $('table-list');
  const view = $('table-view');
  const grid = /** @type {HTMLTableElement} */ ($('grid'));
  const scroller = $('grid-scroll');
  const errorBox = $('tables-error');
  const pageSize = /** @type {HTMLSelectElement} */ ($('page-size'));
  const pageNumber = /** @type {HTMLInputElement} */ ($('page-number'));
  const prev = /** @type {HTMLButtonElement} */ ($('page-prev'));
  const next = /** @type {HTMLButtonElement} */ ($('page-next'));
  const reload = /** @type {HTMLButtonElement} */ ($('tables-reload'));
  const filterForm = /** @type {HTMLFormElement} */ ($('grid-filter-form'));
  const filter = /** @type {HTMLInputElement} */ ($('grid-filter'));
  const filterError = $('grid-filter-error');

  /**
   * What the grid shows. total is v3's count of the records the filter matches (null on
   * v2); more says whether a page follows this one.
   * @type {{table: string, fields: Field[], rows: Row[], total: number | null, more: boolean} & View}
   */
  const current = { table: '', fields: [], rows: [], page: 1, size: 25, where: '', sort: null, total: null, more: false };
  /** The cell that holds the grid's Tab stop: indexes into grid.rows (0 is the header) and cells. */
  const active = { row: 1, col: 0 };
  /** @type {Editor | null} */
  let editor = null;
  /** The record to mark as just added, until another page is shown. */
  let addedKey = '';
  let loading = 0;

  /** Sends a request; a non-2xx answer becomes the package's CaspioAPIError. @param {string} path */
  async function call(path) {
    const res = await session.fetch(path);
    if (!res.ok) throw await apiErrorFromResponse(res);
    return res.json();
  }

  // ---- the table list ----

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
      if (!current.table) {
        const saved = savedView();
        if (saved && names.includes(saved.table)) openTable(saved.table, saved);
      }
      return names;
    } catch (err) {
      showError(errorBox, err, 'The tables could not be listed');
      throw err;
    } finally {
      reload.disabled = !session.connected;
    }
  }

  /**
   * Opens a table at its first page, or at the view given (one kept from an earlier visit).
   * The table already open stays as it is.
   * @param {string} name @param {Partial<View>} [at]
   */
  async function openTable(name, at) {
    if (name === current.table) {
      focusGrid();
      return;
    }
    clearError(errorBox);
    try {
      const body = await call(`tables/${encodeURIComponent(name)}/fields`);
      closeEditor(false);
      addedKey = '';
      const fields = /** @type {Field[]} */ (body?.Result ?? []);
      const sort = at?.sort && fields.some((f) => f.Name === at.sort?.field) ? at.sort : null;
      const size = [...pageSize.options].some((o) => Number(o.value) === at?.size) ? Number(at?.size) : Number(pageSize.value);
      Object.assign(current, { table: name, fields, rows: [], total: null, more: false, page: 1, where: '', sort: null });
      pageSize.value = String(size);
      filter.value = at?.where ?? '';
      markFilter(null);
      for (const b of list.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b.dataset.table === name));
      $('table-title').textContent = name;
      view.hidden = false;
      active.row = 1;
      active.col = 0;
      const shown = await show({ page: Math.max(1, Math.floor(at?.page ?? 1)), size, where: at?.where ?? '', sort });
      // A kept filter or order that no longer works leaves the table at its first page,
      // unfiltered, with the refused filter still in its box.
      if (!shown && (at?.where || sort)) {
        const refused = filter.getAttribute('aria-invalid') === 'true' ? filterError.textContent : '';
        await show({ page: 1, size, where: '', sort: null }, { quiet: true });
        if (refused) {
          filter.setAttribute('aria-invalid', 'true');
          filterError.textContent = refused;
          filterError.hidden = false;
        }
      }
    } catch (err) {
      showError(errorBox, err, `The table ${name} could not be opened`);
    }
  }

  // ---- reading a page ----

  /** The q.orderBy of a sort: the field, then the key, so that pages do not shuffle ties. @param {Sort | null} sort */
  function orderByOf(sort) {
    if (!sort || (sort.field === KEY_FIELD && !sort.desc)) return '';
    const by = `${sort.field} ${sort.desc ? 'DESC' : 'ASC'}`;
    return sort.field !== KEY_FIELD && hasKey() ? `${by}, ${KEY_FIELD} ASC` : by;
  }

  /**
   * Reads page next.page of the records next.where selects, in next.sort's order, and shows
   * it; the grid changes only when the read succeeds. A filter Caspio refuses is marked at
   * the filter box, with Caspio's message. Returns whether the page is shown.
   * @param {View} next
   * @param {{quiet?: boolean, reveal?: string, focus?: 'keep' | 'row'}} [options] reveal: the
   *   key of a record to scroll into view; focus 'row' moves the focus to that record.
   */
  async function show(next, { quiet = false, reveal = '', focus = 'keep' } = {}) {
    if (!current.table) return false;
    const ticket = ++loading;
    const table = current.table;
    clearError(errorBox);
    grid.setAttribute('aria-busy', 'true');
    try {
      const query = { where: next.where, orderBy: orderByOf(next.sort), pageSize: next.size };
      let page = await session.recordsPage(table, { ...query, startPage: next.page });
      if (ticket !== loading) return false;
      // A page past the end (a typed number, the last record deleted) shows the last page.
      if (page.records.length === 0 && next.page > 1 && page.total !== null) {
        next = { ...next, page: pagesOf(page.total, next.size) };
        page = await session.recordsPage(table, { ...query, startPage: next.page });
        if (ticket !== loading) return false;
      }
      // The paging rules say whether the read ends here (page.last). Only after a full page
      // of v2, which gives no total, do they not know: whether a record follows is then one
      // small read (the first record of the next page, read as 5-record page number
      // N*size/5+1).
      let more = !page.last;
      if (more && page.total === null) {
        const after = await session.recordsPage(table, { ...query, pageSize: 5, startPage: (next.page * next.size) / 5 + 1, limit: 1 });
        if (ticket !== loading) return false;
        more = after.records.length > 0;
      }
      const reordered = next.where !== current.where || orderByOf(next.sort) !== orderByOf(current.sort);
      if (reordered) addedKey = '';
      const moved = reordered || next.page !== current.page || next.size !== current.size;
      Object.assign(current, next, { rows: /** @type {Row[]} */ (page.records), total: page.total, more });
      markFilter(null);
      saveView();
      const hadFocus = grid.contains(document.activeElement);
      renderGrid();
      renderPager();
      const row = reveal ? grid.querySelector(`tbody tr[data-key="${CSS.escape(reveal)}"]`) : null;
      if (moved && !row) scroller.scrollTop = 0;
      if (row instanceof HTMLTableRowElement) {
        if (focus === 'row') {
          active.row = row.rowIndex;
          active.col = 0;
        }
        revealRow(row);
      }
      markActive(hadFocus || focus === 'row');
      if (!quiet) {
        const pages = pageCount();
        announce(`${table}: page ${current.page}${pages !== null ? ` of ${pages}` : ''}, ${current.rows.length} records${current.where ? ' matching the filter' : ''}.`);
      }
      return true;
    } catch (err) {
      if (ticket !== loading) return false;
      if (next.where && isQueryError(err)) {
        markFilter(err);
      } else {
        showError(errorBox, err, `The records of ${table} could not be read`);
      }
      return false;
    } finally {
      if (ticket === loading) grid.removeAttribute('aria-busy');
    }
  }

  /** Shows the page again as it is (after a write). @param {Parameters<typeof show>[1]} [options] */
  function refresh(options) {
    return show({ page: current.page, size: current.size, where: current.where, sort: current.sort }, { quiet: true, ...options });
  }

  function pageCount() {
    return current.total !== null ? pagesOf(current.total, current.size) : null;
  }

  /** How many pages of size records total records fill (one, when there are none). @param {number} total @param {number} size */
  function pagesOf(total, size) {
    return Math.max(1, Math.ceil(total / size));
  }

  function hasKey() { return current.fields.some((f) => f.Name === KEY_FIELD); }

  /** Shows Caspio's refusal of the filter beside the box, or clears it. @param {unknown} err */
  function markFilter(err) {
    if (err === null) {
      filter.removeAttribute('aria-invalid');
      filterError.hidden = true;
      filterError.textContent = '';
      return;
    }
    const e = /** @type {any} */ (err);
    filter.setAttribute('aria-invalid', 'true');
    filterError.textContent = `Caspio refused the filter: ${e?.Message || e?.message || String(err)}`;
    filterError.hidden = false;
    filterError.scrollIntoView({ block: 'nearest' });
  }

  function renderPager() {
    const first = (current.page - 1) * current.size + 1;
    const last = first + current.rows.length - 1;
    const pages = pageCount();
    let info = current.rows.length === 0 ? 'no records on this page' : `records ${formatNumber(first)}–${formatNumber(last)}`;
    if (current.total !== null) info += ` of ${formatNumber(current.total)} · page ${formatNumber(current.page)} of ${formatNumber(pages ?? 1)}`;
    if (current.where) info += ' (filtered)';
    $('page-info').textContent = info;
    prev.disabled = current.page <= 1;
    next.disabled = !current.more;
    pageNumber.value = String(current.page);
    if (pages !== null) pageNumber.max = String(pages);
    else pageNumber.removeAttribute('max');
  }

  function renderGrid() {
    const editable = hasKey();
    const sortField = current.sort?.field ?? (editable ? KEY_FIELD : '');
    const desc = current.sort?.desc ?? false;
    const head = el('tr', { role: 'row', 'aria-rowindex': 1 }, ...current.fields.map((f) => {
      const sorted = f.Name === sortField;
      return el('th', { scope: 'col', role: 'columnheader', 'aria-sort': sorted ? (desc ? 'descending' : 'ascending') : undefined },
        el('button', { type: 'button', className: 'sort', dataset: { sort: f.Name }, tabIndex: -1 },
          el('span', { className: 'sort-name' }, f.Name),
          el('span', { className: 'sort-mark', 'aria-hidden': 'true' }, sorted ? (desc ? '▼' : '▲') : ''),
          el('span', { className: 'field-type' }, f.Type)));
    }));
    if (editable) head.append(el('th', { scope: 'col', role: 'columnheader', className: 'actions-col', tabIndex: -1 }, el('span', { className: 'visually-hidden' }, 'Actions')));
    const body = el('tbody');
    const base = (current.page - 1) * current.size;
    current.rows.forEach((row, i) => {
      const key = String(row[KEY_FIELD] ?? '');
      const tr = el('tr', { role: 'row', 'aria-rowindex': base + i + 2, dataset: { key } });
      if (key !== '' && key === addedKey) tr.classList.add('row-added');
      for (const f of current.fields) {
        const value = row[f.Name];
        const canEdit = editable && f.Name !== KEY_FIELD && !f.IsFormula && f.Type !== 'AUTONUMBER';
        const td = el('td', { role: 'gridcell', className: cellClass(f), dataset: { label: f.Name } });
        if (canEdit) {
          td.append(el('button', {
            type: 'button', className: 'cell', dataset: { field: f.Name }, tabIndex: -1,
            'aria-label': cellLabel(f, key, value),
          }, display(value)));
        } else {
          td.tabIndex = -1;
          td.textContent = display(value);
        }
        tr.append(td);
      }
      if (editable) {
        tr.append(el('td', { role: 'gridcell', className: 'actions-col' }, el('button', {
          type: 'button', className: 'small danger-quiet row-delete', dataset: { key }, tabIndex: -1,
          'aria-label': `Delete record ${key}`,
        }, 'Delete')));
      }
      body.append(tr);
    });
    grid.setAttribute('aria-rowcount', String(current.total !== null ? current.total + 1 : -1));
    grid.replaceChildren(
      el('caption', { className: 'visually-hidden' }, `${current.table}, page ${current.page}${current.where ? `, filtered by ${current.where}` : ''}`),
      el('thead', {}, head), body);
    editor = null;
  }

  /** Scrolls a row into view: inside the grid's scroller below its sticky header, and in the window. @param {HTMLTableRowElement} row */
  function revealRow(row) {
    const head = grid.tHead?.getBoundingClientRect().height ?? 0;
    if (scroller.scrollHeight > scroller.clientHeight) {
      scroller.scrollTop += row.getBoundingClientRect().top - scroller.getBoundingClientRect().top - head;
    }
    const r = row.getBoundingClientRect();
    if (r.top < 0 || r.bottom > window.innerHeight) row.scrollIntoView({ block: 'center' });
  }

  /** The first record of the page in view (in the scroller and the window), as its index on the page. */
  function firstVisibleIndex() {
    const box = scroller.getBoundingClientRect();
    const top = Math.max(box.top + (grid.tHead?.getBoundingClientRect().height ?? 0), 0);
    const bottom = Math.min(box.bottom, window.innerHeight);
    const rows = [...(grid.tBodies[0]?.rows ?? [])];
    const i = rows.findIndex((r) => {
      const rect = r.getBoundingClientRect();
      return rect.bottom > top + 1 && rect.top < bottom;
    });
    return Math.max(0, i);
  }

  // ---- keyboard: one Tab stop, arrows between cells ----

  /** What takes the focus for a cell: its one control, or the cell itself. @param {HTMLTableCellElement} cell */
  function targetOf(cell) {
    return /** @type {HTMLElement} */ (cell.querySelector(':scope > input, :scope > button') ?? cell);
  }

  /** Gives the active cell the grid's Tab stop, and the focus when asked. @param {boolean} focus */
  function markActive(focus) {
    const rows = grid.rows;
    if (rows.length === 0) return;
    active.row = Math.min(Math.max(active.row, 0), rows.length - 1);
    const cells = rows[active.row].cells;
    active.col = Math.min(Math.max(active.col, 0), cells.length - 1);
    // A cell the layout hides (the actions header of the cards) hands the stop leftwards.
    while (active.col > 0 && cells[active.col].getClientRects().length === 0) active.col--;
    for (const t of grid.querySelectorAll('[tabindex="0"]')) /** @type {HTMLElement} */ (t).tabIndex = -1;
    const target = targetOf(cells[active.col]);
    target.tabIndex = 0;
    if (focus) target.focus();
  }

  /** Puts the focus on the grid's active cell. */
  function focusGrid() {
    if (grid.rows.length > 0) markActive(true);
  }

  grid.addEventListener('focusin', (e) => {
    const cell = /** @type {HTMLElement} */ (e.target).closest('td, th');
    if (!(cell instanceof HTMLTableCellElement) || !grid.contains(cell)) return;
    const row = /** @type {HTMLTableRowElement} */ (cell.parentElement);
    if (active.row === row.rowIndex && active.col === cell.cellIndex && targetOf(cell).tabIndex === 0) return;
    active.row = row.rowIndex;
    active.col = cell.cellIndex;
    markActive(false);
  });

  grid.addEventListener('keydown', (e) => {
    const target = /** @type {HTMLElement} */ (e.target);
    if (target.closest('input')) return; // the editor's keys are its own
    const cell = target.closest('td, th');
    if (!(cell instanceof HTMLTableCellElement)) return;
    let row = /** @type {HTMLTableRowElement} */ (cell.parentElement).rowIndex;
    let col = cell.cellIndex;
    const lastRow = grid.rows.length - 1;
    const lastCol = grid.rows[row].cells.length - 1;
    switch (e.key) {
      case 'ArrowRight': col = Math.min(col + 1, lastCol); break;
      case 'ArrowLeft': col = Math.max(col - 1, 0); break;
      case 'ArrowDown': row = Math.min(row + 1, lastRow); break;
      case 'ArrowUp': row = Math.max(row - 1, 0); break;
      case 'PageDown': row = Math.min(row + PAGE_JUMP, lastRow); break;
      case 'PageUp': row = Math.max(row - PAGE_JUMP, 0); break;
      case 'Home': col = 0; if (e.ctrlKey) row = 0; break;
      case 'End': col = lastCol; if (e.ctrlKey) row = lastRow; break;
      case 'F2': {
        const button = cell.querySelector(':scope > button.cell');
        if (button instanceof HTMLButtonElement) {
          e.preventDefault();
          openEditor(button);
        }
        return;
      }
      default: return;
    }
    e.preventDefault();
    active.row = row;
    active.col = col;
    markActive(true);
  });

  // ---- editing a cell: one editor at a time ----

  /** Turns a cell's button into an input; Enter or leaving saves, Escape cancels. @param {HTMLButtonElement} button */
  async function openEditor(button) {
    if (editor) {
      if (editor.button === button) {
        editor.input.focus();
        return;
      }
      const open = editor;
      // The open editor is left first: it saves, or stays open with its error.
      if (!(await commit(open, 'leave'))) {
        if (editor === open) {
          open.input.focus();
          open.error.scrollIntoView({ block: 'nearest', inline: 'nearest' });
        }
        return;
      }
      if (editor) return; // another editor opened meanwhile
    }
    if (!button.isConnected) return;
    const td = /** @type {HTMLTableCellElement} */ (button.parentElement);
    const key = /** @type {HTMLElement} */ (td.parentElement).dataset.key ?? '';
    const field = current.fields.find((f) => f.Name === button.dataset.field);
    if (!field) return;
    const row = current.rows.find((r) => String(r[KEY_FIELD]) === key);
    const before = display(row?.[field.Name]);
    const errorId = `cell-error-${key}-${field.Name}`.replace(/[^\w-]/g, '_');
    const input = el('input', {
      type: 'text', className: 'cell-input', value: before, 'aria-label': `${field.Name} of record ${key}`,
      inputMode: isNumeric(field) ? 'decimal' : 'text', spellcheck: false, 'aria-describedby': errorId,
    });
    const error = el('p', { id: errorId, className: 'cell-error', role: 'alert', hidden: true });
    /** @type {Editor} */
    const ed = { td, button, input, error, field, key, before, pending: null };
    editor = ed;
    td.replaceChildren(input, error);
    active.row = /** @type {HTMLTableRowElement} */ (td.parentElement).rowIndex;
    active.col = td.cellIndex;
    markActive(false);
    input.focus();
    input.select();
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') {
        e.preventDefault();
        commit(ed, 'enter');
      } else if (e.key === 'Escape') {
        e.preventDefault();
        e.stopPropagation(); // an Escape here closes the editor, not a dialog around the page
        if (!ed.pending) closeEditor(true);
      }
    });
    input.addEventListener('blur', () => {
      if (editor === ed && !ed.pending) commit(ed, 'leave');
    });
  }

  /**
   * Saves what the editor holds: true when the editor closed (saved or unchanged), false
   * when it stays open with its error beside the cell.
   * @param {Editor} ed @param {'enter' | 'leave'} how
   * @returns {Promise<boolean>}
   */
  function commit(ed, how) {
    if (editor !== ed) return Promise.resolve(true);
    if (ed.pending) return ed.pending;
    const { input, field, key } = ed;
    if (input.value === ed.before) {
      closeEditor(how === 'enter');
      return Promise.resolve(true);
    }
    let value;
    try {
      value = parseValue(field, input.value);
    } catch (err) {
      cellError(ed, err, `${field.Name} was not saved`, how === 'enter');
      return Promise.resolve(false);
    }
    const table = current.table;
    input.readOnly = true;
    input.setAttribute('aria-busy', 'true');
    ed.pending = (async () => {
      try {
        const result = await session.use((client) => client.updateRecords(table, `${KEY_FIELD}=${key}`, { [field.Name]: value }));
        const row = current.rows.find((r) => String(r[KEY_FIELD]) === key);
        if (row) row[field.Name] = value;
        ed.button.textContent = display(value);
        ed.button.setAttribute('aria-label', cellLabel(field, key, value));
        ed.pending = null;
        if (editor === ed) closeEditor(how === 'enter' || document.activeElement === input || document.activeElement === document.body);
        announce(`Saved ${field.Name} of record ${key} (${result.recordsAffected} record changed).`, 'ok');
        return true;
      } catch (err) {
        ed.pending = null;
        input.readOnly = false;
        input.removeAttribute('aria-busy');
        cellError(ed, err, `${field.Name} of record ${key} was not saved`, editor === ed && document.activeElement === input);
        return false;
      }
    })();
    return ed.pending;
  }

  /**
   * Shows an editor's error beside its cell; reveal scrolls it into view (not when the
   * focus went elsewhere on the page, which stays where the user took it).
   * @param {Editor} ed @param {unknown} err @param {string} title @param {boolean} reveal
   */
  function cellError(ed, err, title, reveal) {
    const e = /** @type {any} */ (err);
    ed.input.setAttribute('aria-invalid', 'true');
    ed.error.replaceChildren(
      el('strong', {}, `${title}: `),
      e?.code === 'CASPIO_API_ERROR' ? `${e.Message || e.message}${e.RequestId ? ` (request ${e.RequestId})` : ''}` : e instanceof Error ? e.message : String(err));
    ed.error.hidden = false;
    if (reveal) ed.error.scrollIntoView({ block: 'nearest', inline: 'nearest' });
  }

  /** Closes the open editor, leaving the cell as it was or as saved. @param {boolean} focus */
  function closeEditor(focus) {
    const ed = editor;
    if (!ed) return;
    editor = null;
    ed.td.replaceChildren(ed.button);
    markActive(false);
    if (focus) ed.button.focus();
  }

  // ---- adding and deleting ----

  const addDialog = /** @type {HTMLDialogElement} */ ($('add-dialog'));
  const addForm = /** @type {HTMLFormElement} */ ($('add-form'));
  /** The record the last Add put in, to focus when the dialog closes. */
  let addedThisTime = '';

  function openAdd() {
    clearError($('add-error'));
    addedThisTime = '';
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
    const table = current.table;
    try {
      const { results: [result] } = await session.use((client) => client.insertRecords(table, [record], { returnRows: true }));
      if (result.outcome === 'refused') throw result.error;
      if (result.outcome !== 'inserted') {
        showError($('add-error'), result.error, 'No answer said whether the record was added: close this and look for it before adding it again');
        return;
      }
      const added = result.record?.[KEY_FIELD];
      addedThisTime = added === undefined ? '' : String(added);
      addDialog.close();
    } catch (err) {
      showError($('add-error'), err, 'The record was not added');
    } finally {
      save.disabled = false;
    }
  });
  $('add-cancel').addEventListener('click', () => addDialog.close());
  addDialog.addEventListener('close', async () => {
    const key = addedThisTime;
    addedThisTime = '';
    if (key === '') {
      if (!view.hidden) $('record-add').focus();
      return;
    }
    await goToRecord(key);
  });

  /** Shows the page holding a new record, in the grid's order and filter, marked and focused. @param {string} key */
  async function goToRecord(key) {
    const table = current.table;
    addedKey = key;
    try {
      const position = await positionOf(key);
      if (position < 0) {
        await refresh();
        announce(`Added record ${key} to ${table}; the filter hides it.`, 'ok');
        $('record-add').focus();
        return;
      }
      const page = Math.floor(position / current.size) + 1;
      await show({ page, size: current.size, where: current.where, sort: current.sort }, { quiet: true, reveal: key, focus: 'row' });
      announce(`Added record ${key} to ${table}: page ${page}, marked.`, 'ok');
    } catch (err) {
      showError(errorBox, err, `Record ${key} was added, but its page could not be found`);
    }
  }

  /**
   * Where a record stands in the grid's order and filter, from 0; -1 when the filter hides
   * it. In key order it is the count of the records up to its key; in another order, its
   * place among the keys of every record, read by the records API.
   * @param {string} key
   */
  async function positionOf(key) {
    const keyOrder = orderByOf(current.sort) === '';
    const upTo = `${KEY_FIELD} <= ${key}`;
    const where = keyOrder ? (current.where ? `(${current.where}) AND ${upTo}` : upTo) : current.where;
    const keys = await session.use((client) => client.records(current.table, { select: [KEY_FIELD], where, orderBy: orderByOf(current.sort), pageSize: 1000 }).toArray());
    const i = keys.findIndex((r) => String(r[KEY_FIELD]) === key);
    return keyOrder && i >= 0 ? keys.length - 1 : i;
  }

  const deleteDialog = /** @type {HTMLDialogElement} */ ($('delete-dialog'));
  /** @param {HTMLButtonElement} button */
  function confirmDelete(button) {
    const key = button.dataset.key ?? '';
    const rowIndex = /** @type {HTMLTableRowElement} */ (button.closest('tr')).rowIndex;
    $('delete-text').textContent = `Record ${key} will be deleted from ${current.table}. This cannot be undone.`;
    deleteDialog.returnValue = '';
    deleteDialog.showModal();
    deleteDialog.addEventListener('close', async () => {
      if (deleteDialog.returnValue !== 'delete') {
        if (button.isConnected) button.focus();
        return;
      }
      try {
        const result = await session.use((client) => client.deleteRecords(current.table, `${KEY_FIELD}=${key}`));
        // The focus goes to the record that takes the deleted one's place (the one before
        // it when it was the last), in the same column.
        active.row = rowIndex;
        const lastOnPage = current.rows.length === 1 && current.page > 1;
        await show({ page: current.page - (lastOnPage ? 1 : 0), size: current.size, where: current.where, sort: current.sort }, { quiet: true });
        if (lastOnPage) active.row = grid.rows.length - 1;
        markActive(true);
        announce(`Deleted record ${key} (${result.recordsAffected} record removed).`, 'ok');
      } catch (err) {
        showError(errorBox, err, `Record ${key} was not deleted`);
        if (button.isConnected) button.focus();
      }
    }, { once: true });
  }

  // ---- the view kept for a reload or a new tab ----

  function saveView() {
    const saved = JSON.stringify({
      base: session.resourceBase, table: current.table, page: current.page, size: current.size, where: current.where, sort: current.sort,
    });
    for (const area of [sessionStorage, localStorage]) {
      try {
        area.setItem(VIEW_KEY, saved);
      } catch {
        // A full or blocked storage only costs the kept view.
      }
    }
  }

  /** The view kept for this account: this tab's first, then this device's. @returns {(Partial<View> & {table: string}) | null} */
  function savedView() {
    for (const area of [sessionStorage, localStorage]) {
      try {
        const v = JSON.parse(area.getItem(VIEW_KEY) ?? 'null');
        if (v && typeof v.table === 'string' && v.base === session.resourceBase) {
          return {
            table: v.table,
            page: Number.isInteger(v.page) && v.page > 0 ? v.page : 1,
            size: Number(v.size),
            where: typeof v.where === 'string' ? v.where : '',
            sort: v.sort && typeof v.sort.field === 'string' ? { field: v.sort.field, desc: Boolean(v.sort.desc) } : null,
          };
        }
      } catch {
        // Not ours to understand: ignored.
      }
    }
    return null;
  }

  // ---- wiring ----

  list.addEventListener('click', (e) => {
    const button = /** @type {HTMLElement} */ (e.target).closest('button');
    if (button?.dataset.table) openTable(button.dataset.table);
  });
  grid.addEventListener('click', (e) => {
    const button = /** @type {HTMLButtonElement | null} */ (/** @type {HTMLElement} */ (e.target).closest('button'));
    if (!button) return;
    if (button.classList.contains('cell')) openEditor(button);
    else if (button.classList.contains('row-delete')) confirmDelete(button);
    else if (button.classList.contains('sort')) sortBy(button.dataset.sort ?? '');
  });
  /** Sorts by a column; the column sorted already turns round. @param {string} field */
  function sortBy(field) {
    const now = current.sort ?? (hasKey() ? { field: KEY_FIELD, desc: false } : null);
    const sort = { field, desc: now?.field === field ? !now.desc : false };
    show({ page: 1, size: current.size, where: current.where, sort });
  }
  filterForm.addEventListener('submit', (e) => {
    e.preventDefault();
    show({ page: 1, size: current.size, where: filter.value.trim(), sort: current.sort });
  });
  $('grid-filter-clear').addEventListener('click', () => {
    filter.value = '';
    markFilter(null);
    if (current.where) show({ page: 1, size: current.size, where: '', sort: current.sort });
    filter.focus();
  });
  const go = (page) => show({ page, size: current.size, where: current.where, sort: current.sort });
  prev.addEventListener('click', () => { go(Math.max(1, current.page - 1)); });
  next.addEventListener('click', () => { go(current.page + 1); });
  pageSize.addEventListener('change', () => {
    // The first record in view stays in view: the page of the new size that holds it.
    const shown = firstVisibleIndex();
    const first = current.rows[shown];
    const index = (current.page - 1) * current.size + shown;
    const size = Number(pageSize.value);
    show({ page: Math.floor(index / size) + 1, size, where: current.where, sort: current.sort },
      { reveal: first ? String(first[KEY_FIELD] ?? '') : '' });
  });
  pageNumber.addEventListener('change', () => {
    const n = Math.floor(Number(pageNumber.value));
    go(Number.isFinite(n) && n >= 1 ? n : 1);
  });
  $('record-add').addEventListener('click', openAdd);
  reload.addEventListener('click', () => { loadTables().catch(() => {}); });

  session.addEventListener('disconnected', () => {
    list.replaceChildren();
    view.hidden = true;
    current.table = '';
    editor = null;
    grid.replaceChildren();
    clearError(errorBox);
    $('tables-empty').hidden = false;
    $('tables-empty').textContent = 'Connect to list the account\'s tables.';
    reload.disabled = true;
  });

  return { loadTables };
}

/** Whether Caspio refused the query (a 400: a bad q.where, an unknown field). @param {unknown} err */
function isQueryError(err) {
  const e = /** @type {any} */ (err);
  return e?.code === 'CASPIO_API_ERROR' && e.status === 400;
}

/** @param {Field} f @param {string} key @param {unknown} value */
function cellLabel(f, key, value) { return `${f.Name} of record ${key}: ${display(value) || 'empty'}; edit`; }

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
