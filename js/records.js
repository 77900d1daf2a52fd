// @ts-check
// Records of a table or view: client.records, viewRecords and the writes. Every rule is the
// core's (records.go, through the page, recordsRef, recordsError and insertOutcome exports):
// which request each page takes, when a read stops, how many records of a page to hand out,
// what a write's URL is, what an insert's answer says of its record. This file sends the
// requests the core names through client.fetch (which refreshes after a 401 and sends
// again after a 429 or 5xx, as the core says), and reads three facts off each page: the
// records in Result, the last one's PK_ID and v3's Pagination.TotalCount.
import { call } from './core.js';
import { CaspioError } from './errors.js';

/**
 * What records.js needs of a client: its core and handle, and its fetch.
 * @typedef {{core: any, h: number, fetch: (input: string, init?: any) => Promise<Response>}} IO
 */

const JSON_HEADERS = { Accept: 'application/json' };

/**
 * A lazy read of the records of a table or view (RecordsRead in index.d.ts). The query is
 * checked by the core at once: a bad one throws here, before any request.
 */
export class RecordsRead {
  #io; #source; #name; #query; #args; #first;

  /** @param {IO} io @param {'tables' | 'views'} source @param {string} name @param {any} [query] */
  constructor(io, source, name, query) {
    if (typeof name !== 'string') throw new TypeError(`caspio-auth: the ${source === 'views' ? 'view' : 'table'} name must be a string`);
    if (query !== undefined && (typeof query !== 'object' || query === null)) throw new TypeError('caspio-auth: the records query must be an object');
    this.#io = io;
    this.#source = source;
    this.#name = name;
    this.#query = { ...query };
    const q = this.#query;
    const text = (v) => (typeof v === 'string' ? v : '');
    const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
    // The core's page export takes the query as plain arguments (a list of fields each
    // after a newline), so that a page's call crosses into Go with no object to read.
    const select = Array.isArray(q.select) ? q.select.map((f) => `\n${f}`).join('') : text(q.select);
    this.#args = [source, name, select, text(q.where), text(q.orderBy), text(q.groupBy), num(q.limit), num(q.pageSize), num(q.startPage)];
    this.#first = this.#page(null, null);
  }

  /** The core's answer for the page after cursor's (null: the first), of whose answer facts tells. */
  #page(cursor, facts) {
    const c = cursor ?? { page: 0, after: 0, fetched: 0 };
    const f = facts ?? { count: 0, lastKey: -1, total: -1 };
    const out = call(this.#io.core.page, this.#io.h, ...this.#args, c.page, c.after, c.fetched, f.count, f.lastKey, f.total);
    const [url, page, after, fetched, keep, size] = out.split('\n');
    return { url, cursor: { page: Number(page), after: after === '' ? 0 : Number(after), fetched: Number(fetched) }, keep: Number(keep), size: Number(size) };
  }

  /**
   * The records, fetched a page at a time as they are asked for. (An iterator of its own,
   * not an async generator: a generator's yield costs microseconds a record.)
   * @returns {AsyncIterator<any>}
   */
  [Symbol.asyncIterator]() {
    const pages = this.pages();
    /** @type {any[]} */
    let rows = [];
    let i = 0;
    const more = async () => {
      for (;;) {
        const r = await pages.next();
        if (r.done) return { value: undefined, done: true };
        rows = /** @type {{records: any[]}} */ (r.value).records;
        i = 0;
        if (rows.length > 0) return { value: rows[i++], done: false };
      }
    };
    return {
      next: () => (i < rows.length ? Promise.resolve({ value: rows[i++], done: false }) : more()),
      return: async (value) => {
        rows = [];
        await pages.return(undefined);
        return { value, done: true };
      },
    };
  }

  /**
   * Whole pages: {records, pageNumber, pageSize, total, last}; total is null when Caspio gives
   * none (v2); last is the core's word that the read ends with this page (see index.d.ts).
   */
  async* pages() {
    const io = this.#io;
    let step = this.#first;
    for (let number = 1; step.url !== ''; number++) {
      const pageNumber = step.cursor.page;
      const res = await io.fetch(step.url, { headers: JSON_HEADERS });
      if (!res.ok) throw await apiError(io, res, this.#name);
      const body = await res.json();
      const rows = Array.isArray(body?.Result) ? body.Result : null;
      const last = rows?.[rows.length - 1];
      const total = body?.Pagination?.TotalCount;
      step = this.#page(step.cursor, {
        count: rows === null ? -1 : rows.length,
        lastKey: typeof last?.PK_ID === 'number' ? last.PK_ID : -1,
        total: typeof total === 'number' ? total : -1,
      });
      if (step.keep === 0 && number > 1) continue; // the empty page that ends a read
      yield { records: /** @type {any[]} */ (rows).slice(0, step.keep), pageNumber, pageSize: step.size, total: typeof total === 'number' ? total : null, last: step.url === '' };
    }
  }

  /**
   * Every record in an array; limit (if given) caps them, as the query's limit does.
   * @param {{limit?: number}} [options]
   */
  async toArray({ limit } = {}) {
    const read = limit === undefined ? this : new RecordsRead(this.#io, this.#source, this.#name, { ...this.#query, limit: Math.min(limit, this.#query.limit || Infinity) });
    const out = [];
    for await (const page of read.pages()) out.push(...page.records);
    return out;
  }

  get [Symbol.toStringTag]() { return 'RecordsRead'; }
}

/**
 * Inserts rows, one POST each, never sent again once it may have reached Caspio.
 * @param {IO} io @param {string} table @param {object[]} rows @param {{returnRows?: boolean}} [options]
 */
export async function insertRecords(io, table, rows, { returnRows = false } = {}) {
  if (!Array.isArray(rows)) throw new TypeError('caspio-auth: insertRecords(table, rows) takes an array of records');
  const url = call(io.core.recordsRef, io.h, 'insert', String(table), '', returnRows);
  const results = [];
  let inserted = 0;
  for (const row of rows) {
    let status = 0;
    /** @type {any} */
    let error;
    let record;
    try {
      const res = await io.fetch(url, { method: 'POST', headers: { ...JSON_HEADERS, 'Content-Type': 'application/json' }, body: JSON.stringify(row) });
      status = res.status;
      if (res.ok) record = (await readJSON(res))?.Result?.[0];
      else error = await apiError(io, res, table);
    } catch (err) {
      // The client's own refusals (no token, a closed client) send nothing: they end the call.
      if (err instanceof CaspioError && status === 0) throw err;
      error = err;
    }
    const outcome = io.core.insertOutcome(status);
    if (outcome === 'inserted') inserted++;
    const result = { outcome };
    if (record !== undefined) result.record = record;
    if (outcome !== 'inserted') result.error = error;
    results.push(result);
  }
  return { inserted, results };
}

/**
 * @param {IO} io @param {string} table @param {string} where @param {object} values @param {{returnRows?: boolean}} [options]
 */
export async function updateRecords(io, table, where, values, { returnRows = false } = {}) {
  if (typeof values !== 'object' || values === null) throw new TypeError('caspio-auth: updateRecords(table, where, values) takes the values as an object');
  const url = call(io.core.recordsRef, io.h, 'update', String(table), typeof where === 'string' ? where : '', returnRows);
  const body = await write(io, url, 'PUT', table, JSON.stringify(values));
  return { recordsAffected: body?.RecordsAffected ?? 0, records: Array.isArray(body?.Result) ? body.Result : [] };
}

/** @param {IO} io @param {string} table @param {string} where */
export async function deleteRecords(io, table, where) {
  const url = call(io.core.recordsRef, io.h, 'delete', String(table), typeof where === 'string' ? where : '', false);
  const body = await write(io, url, 'DELETE', table, undefined);
  return { recordsAffected: body?.RecordsAffected ?? 0 };
}

async function write(io, url, method, table, body) {
  const headers = body === undefined ? JSON_HEADERS : { ...JSON_HEADERS, 'Content-Type': 'application/json' };
  const res = await io.fetch(url, { method, headers, body });
  if (!res.ok) throw await apiError(io, res, table);
  return readJSON(res);
}

/** The body as JSON; undefined when empty (Caspio answers an insert with none). */
async function readJSON(res) {
  const text = await res.text();
  return text === '' ? undefined : JSON.parse(text);
}

/** The CaspioAPIError of a failed answer, with the table or field it says is missing. @param {IO} io @param {Response} res @param {string} table */
async function apiError(io, res, table) {
  let body = null;
  try {
    body = JSON.parse(await res.text());
  } catch {
    body = null;
  }
  return io.core.recordsError(res.status, res.headers.get('x-caspio-request-id') ?? '', body, String(table));
}
