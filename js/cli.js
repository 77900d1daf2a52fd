#!/usr/bin/env node
// caspio-auth: the command line of the caspio-auth package. It prints a token, sends a
// request to the REST API, or lists a table's records, with the token cached in a file in
// the user's config folder so that repeated runs do not log in again (each login mints one of
// the account's 1,000 refresh tokens). The client secret is read from the environment only.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { text as readStream } from 'node:stream/consumers';
import { parseArgs } from 'node:util';
import {
  createClient, fileStorage, memoryStorage, apiErrorFromResponse, VERSION,
  CaspioError, CaspioAPIError, CaspioURLError,
} from './node.js';
import { startCore } from './core.js';

const EXIT_OK = 0;
const EXIT_OTHER = 1;
const EXIT_USAGE = 2;
const EXIT_AUTH = 3;
const EXIT_API = 4;

/** Caspio returns at most 1,000 records per call. */
const PAGE_SIZE = 1000;

const CONFIG_HELP = `Configuration (a flag wins over the environment):
  --account ID            CASPIO_ACCOUNT          the account ID, e.g. c1abc123
  --integration-url URL   CASPIO_INTEGRATION_URL  e.g. https://c1abc123.caspio.com
  --token-url URL         CASPIO_TOKEN_URL        with --resource-url, both endpoints
  --resource-url URL      CASPIO_RESOURCE_URL     e.g. https://c1abc123.caspio.com/rest/v2
  --api-version v2|v3     CASPIO_API_VERSION
  --client-id ID          CASPIO_CLIENT_ID
                          CASPIO_CLIENT_SECRET    only from the environment, never a flag,
                                                  so that it stays out of shell history and ps
  --credentials body|basic                        where a login sends the ID and secret
  --token-file PATH       CASPIO_TOKEN_FILE       where the token is cached (default: a 0600
                                                  file per token URL and client ID in
                                                  ${'$'}XDG_CONFIG_HOME/caspio-auth, ~/.config/caspio-auth,
                                                  ~/Library/Application Support/caspio-auth
                                                  or %APPDATA%\\caspio-auth)

Exit status: 0 ok, 1 other failure, 2 usage, 3 authentication or configuration, 4 the API
answered an error (its Code, Message and RequestId are printed on stderr).`;

const HELP = {
  main: `caspio-auth ${VERSION}: OAuth 2.0 for the Caspio REST API

Usage:
  caspio-auth token [--json]                  print a valid access token
  caspio-auth fetch [-X METHOD] [-d BODY|@FILE] [-H 'Name: value'] PATH
                                              send a request to the REST API
  caspio-auth records TABLE [--where EXPR] [--select FIELDS] [--order-by F]
                      [--limit N] [--all] [--format jsonl|json]
                                              list a table's records
  caspio-auth COMMAND --help                  help for a command

${CONFIG_HELP}`,
  token: `Usage: caspio-auth token [--json]

Prints a valid access token, from the cache when it has one, else by a refresh or a login.
  --json   print {accessToken, tokenType, expiresAt, validUntil, refreshTokenExpiresAt,
           logins, refreshes} instead of the token alone

${CONFIG_HELP}`,
  fetch: `Usage: caspio-auth fetch [-X METHOD] [-d BODY|@FILE|@-] [-H 'Name: value'] PATH

Sends a request to the REST API with the token and prints the response body. PATH is
relative to the REST base (e.g. tables, tables/Orders/records?q.limit=5) or a URL on it.
  -X, --request METHOD   the method (default GET, or POST with -d)
  -d, --data BODY        the body; @FILE reads a file, @- standard input; Content-Type
                         defaults to application/json
  -H, --header 'N: v'    a request header (repeatable)

${CONFIG_HELP}`,
  records: `Usage: caspio-auth records TABLE [options]

Prints a table's records as JSON lines (one record a line), or one JSON array.
  --where EXPR       q.where, e.g. "Status = 'Shipped'"
  --select FIELDS    q.select, e.g. "OrderID,Total"
  --order-by F       q.orderBy, e.g. "OrderID DESC"
  --limit N          at most N records (without --all: 1 to 1000)
  --all              every record, a page of 1,000 at a time (progress on stderr)
  --format F         jsonl (default) or json

${CONFIG_HELP}`,
};

const CONFIG_OPTIONS = {
  account: { type: 'string' },
  'integration-url': { type: 'string' },
  'token-url': { type: 'string' },
  'resource-url': { type: 'string' },
  'api-version': { type: 'string' },
  'client-id': { type: 'string' },
  credentials: { type: 'string' },
  'token-file': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

const COMMAND_OPTIONS = {
  token: { json: { type: 'boolean' } },
  fetch: {
    request: { type: 'string', short: 'X' },
    data: { type: 'string', short: 'd' },
    header: { type: 'string', short: 'H', multiple: true },
  },
  records: {
    where: { type: 'string' },
    select: { type: 'string' },
    'order-by': { type: 'string' },
    limit: { type: 'string' },
    all: { type: 'boolean' },
    format: { type: 'string' },
  },
};

class UsageError extends Error {}

/**
 * The core's exports, for the messages that show what was typed: its rule (input.go) says
 * what a message may quote (an option's name, a command, an enumerated value) and what it
 * only describes (a header, a value that may be a secret). core.js keeps one core per realm,
 * the one that node.js's clients use.
 */
function core() {
  return startCore(async () => WebAssembly.compile(await readFile(new URL('./caspio.wasm', import.meta.url))));
}

/** A closed standard output (the reader went away: `| head`) ends the command quietly. */
function isClosedPipe(err) {
  return err?.code === 'EPIPE' || err?.code === 'ERR_STREAM_DESTROYED';
}

/**
 * Runs the command line; returns the exit status.
 * @param {string[]} argv the arguments after the program name
 * @param {NodeJS.ProcessEnv} env
 */
async function main(argv, env) {
  // Write errors reach the write() that failed; without a listener, the stream's 'error'
  // event would crash the process with an unhandled EPIPE as well.
  process.stdout.on('error', () => {});
  process.stderr.on('error', () => {});
  try {
    return await run(argv, env);
  } catch (err) {
    if (isClosedPipe(err)) return EXIT_OK;
    return report(err);
  }
}

async function run(argv, env) {
  if (argv.some((a) => /^--?(client-?secret|secret)(=|$)/i.test(a))) {
    throw new UsageError('the client secret is read from the environment variable CASPIO_CLIENT_SECRET only, never from a flag (flags stay in shell history and in ps)');
  }
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    await write(process.stdout, HELP.main + '\n');
    return command === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (command === '--version') {
    await write(process.stdout, VERSION + '\n');
    return EXIT_OK;
  }
  if (!Object.hasOwn(COMMAND_OPTIONS, command)) {
    const { showUnknown } = await core();
    throw new UsageError(`unknown command ${showUnknown('command', command, Object.keys(COMMAND_OPTIONS))}; the commands are token, fetch and records (see caspio-auth --help)`);
  }
  const options = { ...CONFIG_OPTIONS, ...COMMAND_OPTIONS[command] };
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options, allowPositionals: true, strict: true });
  } catch (err) {
    // Node's message for an unknown option quotes it whole, "--name=value" and all.
    const problem = err?.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? await unknownOption(rest, options) : err.message;
    throw new UsageError(`${command}: ${problem} (see caspio-auth ${command} --help)`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    await write(process.stdout, HELP[command] + '\n');
    return EXIT_OK;
  }
  switch (command) {
    case 'token': return tokenCommand(values, positionals, env);
    case 'fetch': return fetchCommand(values, positionals, env);
    default: return recordsCommand(values, positionals, env);
  }
}

async function tokenCommand(values, positionals, env) {
  if (positionals.length > 0) {
    const { showInput } = await core();
    const shown = showInput('stray', positionals[0]);
    throw new UsageError(`token takes no arguments, but was given ${positionals.length === 1 ? `one (${shown})` : `${positionals.length} (the first: ${shown})`} (see caspio-auth token --help)`);
  }
  const client = await clientFrom(values, env);
  try {
    const t = await client.token();
    if (values.json) {
      await write(process.stdout, JSON.stringify({
        accessToken: t.accessToken,
        tokenType: t.tokenType,
        expiresAt: t.expiresAt.toISOString(),
        validUntil: t.validUntil.toISOString(),
        refreshTokenExpiresAt: t.refreshTokenExpiresAt?.toISOString() ?? null,
        logins: t.logins,
        refreshes: t.refreshes,
      }, null, 2) + '\n');
    } else {
      await write(process.stdout, t.accessToken + '\n');
    }
    return EXIT_OK;
  } finally {
    client.close();
  }
}

async function fetchCommand(values, positionals, env) {
  if (positionals.length !== 1) throw new UsageError('fetch takes one PATH, e.g. caspio-auth fetch tables (see caspio-auth fetch --help)');
  const headers = new Headers({ Accept: 'application/json' });
  // A header may hold a credential (Authorization: Bearer ...): its errors describe it.
  for (const [n, h] of (values.header ?? []).entries()) {
    const which = `-H (header ${n + 1})`;
    // The core, for its rule of what a message may show, only when there is a message: a
    // command with a cached token may end before the core starts (createClient).
    const showInput = async (/** @type {string} */ name, /** @type {string} */ value) => (await core()).showInput(name, value);
    const i = h.indexOf(':');
    if (i <= 0) throw new UsageError(`${which}: expected 'Name: value', but it has ${i === 0 ? 'no name before ":"' : `no ":" (${await showInput('header', h)})`}`);
    const name = h.slice(0, i).trim();
    const bad = name.search(/[^!#$%&'*+.^_`|~0-9A-Za-z-]/);
    if (name === '' || bad >= 0) {
      throw new UsageError(`${which}: the name ${name === '' ? 'is blank' : `has ${name[bad] === ' ' ? 'a space' : 'a character that a header name cannot have'} at character ${[...name.slice(0, bad)].length + 1} of ${[...name].length}`}; expected 'Name: value'`);
    }
    try {
      headers.set(name, h.slice(i + 1).trim());
    } catch {
      throw new UsageError(`${which}: the value has a character that a header cannot carry (${await showInput('header', h.slice(i + 1).trim())})`);
    }
  }
  let body;
  if (values.data !== undefined) {
    body = await readData(values.data);
    if (!headers.has('content-type')) headers.set('Content-Type', 'application/json');
  }
  const method = (values.request ?? (body === undefined ? 'GET' : 'POST')).toUpperCase();
  if (!/^[A-Z]+$/.test(method)) throw new UsageError(`-X: expected a method such as GET, POST, PUT or DELETE, got ${(await core()).showInput('request', values.request)}`);
  const client = await clientFrom(values, env);
  try {
    const res = await client.fetch(positionals[0], { method, headers, body });
    if (!res.ok) throw await apiErrorFromResponse(res);
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (bytes.length > 0) await write(process.stdout, bytes);
    return EXIT_OK;
  } finally {
    client.close();
  }
}

async function readData(data) {
  if (!data.startsWith('@')) return data;
  const file = data.slice(1);
  if (file === '-') return readStream(process.stdin);
  try {
    return await readFile(file);
  } catch (err) {
    throw new UsageError(`-d @FILE: ${err.code === 'ENOENT' ? 'no such file' : `the file cannot be read (${err.code ?? 'error'})`}`);
  }
}

async function recordsCommand(values, positionals, env) {
  if (positionals.length !== 1) throw new UsageError('records takes one TABLE, e.g. caspio-auth records Orders (see caspio-auth records --help)');
  const format = values.format ?? 'jsonl';
  if (format !== 'jsonl' && format !== 'json') throw new UsageError(`--format: use jsonl or json, not ${(await core()).showInput('format', format)}`);
  let limit;
  if (values.limit !== undefined) {
    limit = Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit: expected a whole number of 1 or more, got ${(await core()).showInput('limit', values.limit)}`);
    if (!values.all && limit > PAGE_SIZE) throw new UsageError(`--limit: more than ${PAGE_SIZE}, and Caspio returns at most ${PAGE_SIZE} records per call; add --all to page through more`);
  }
  const table = positionals[0];
  // Without --all, one request, as Caspio answers one: its default of 100 records.
  const query = { select: values.select, where: values.where, orderBy: values['order-by'], limit: limit ?? (values.all ? 0 : 100) };

  const client = await clientFrom(values, env);
  const out = process.stdout;
  let total = 0;
  let pages = 0;
  try {
    for await (const page of client.records(table, query).pages()) {
      for (const record of page.records) {
        if (format === 'jsonl') await write(out, JSON.stringify(record) + '\n');
        else await write(out, (total === 0 ? '[\n' : ',\n') + JSON.stringify(record));
        total++;
      }
      pages = page.pageNumber;
      if (pages > 1) await write(process.stderr, `caspio-auth: records ${table}: page ${pages}, ${total} records so far\n`);
    }
    if (pages > 1) await write(process.stderr, `caspio-auth: records ${table}: ${total} records in ${pages} pages\n`);
    if (format === 'json') await write(out, total === 0 ? '[]\n' : '\n]\n');
    return EXIT_OK;
  } catch (err) {
    // An answer the read cannot page on is no token problem: it exits 1, as other failures.
    if (err?.code === 'RESPONSE_INVALID') throw new Error(err.message, { cause: err.cause });
    throw err;
  } finally {
    client.close();
  }
}

/**
 * Names the unknown option as typed (its name only, never a value after "="), with the
 * closest known one: "unknown option "--wher" (did you mean --where?)".
 */
async function unknownOption(args, options) {
  const { tokens } = parseArgs({ args, options, allowPositionals: true, strict: false, tokens: true });
  const known = new Set(Object.keys(options));
  const token = tokens.find((t) => t.kind === 'option' && !known.has(t.name));
  if (token === undefined) return 'an unknown option';
  const names = Object.entries(options).flatMap(([name, o]) => (o.short ? [`--${name}`, `-${o.short}`] : [`--${name}`]));
  return `unknown option ${(await core()).showUnknown('option', token.rawName, names)}`;
}

/** The client for the flags and environment, with the token cached in a file. */
async function clientFrom(values, env) {
  const pick = (flag, name) => values[flag] ?? (env[name] === '' ? undefined : env[name]);
  const options = {
    account: pick('account', 'CASPIO_ACCOUNT'),
    integrationUrl: pick('integration-url', 'CASPIO_INTEGRATION_URL'),
    tokenUrl: pick('token-url', 'CASPIO_TOKEN_URL'),
    resourceUrl: pick('resource-url', 'CASPIO_RESOURCE_URL'),
    apiVersion: pick('api-version', 'CASPIO_API_VERSION'),
    clientId: pick('client-id', 'CASPIO_CLIENT_ID'),
    clientSecret: env.CASPIO_CLIENT_SECRET || undefined,
    credentials: pick('credentials', 'CASPIO_CREDENTIALS'),
  };
  for (const key of Object.keys(options)) if (options[key] === undefined) delete options[key];
  let tokenFile = pick('token-file', 'CASPIO_TOKEN_FILE');
  if (tokenFile === undefined) {
    // The file is named after the token URL and client ID as the core normalises them,
    // which a client made for that alone tells. The name is kept, under a name made of the
    // options as given and this version, so that the next command finds the file without
    // starting the core (a cached token then answers before the core has started).
    const folder = join(configDir(env), 'caspio-auth');
    const { clientSecret, ...shown } = options;
    const given = join(folder, 'names', createHash('sha256').update(JSON.stringify([VERSION, shown])).digest('hex').slice(0, 32));
    let name = readName(given);
    if (name === null) {
      const probe = await createClient({ ...options, storage: memoryStorage() });
      const { tokenUrl, clientId } = probe.toJSON();
      probe.close();
      name = createHash('sha256').update(`${tokenUrl}\n${clientId}`).digest('hex').slice(0, 32);
      keepName(given, name);
    }
    tokenFile = join(folder, 'tokens', `${name}.json`);
  }
  return createClient({ ...options, storage: fileStorage(tokenFile) });
}

/** The token file's name kept at path, or null when none is (or it is not one). @param {string} path */
function readName(path) {
  try {
    const name = readFileSync(path, 'utf8');
    return /^[0-9a-f]{32}$/.test(name) ? name : null;
  } catch {
    return null;
  }
}

/** Keeps a token file's name at path; a failure costs only the next command's speed. @param {string} path @param {string} name */
function keepName(path, name) {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileSync(tmp, name, { mode: 0o600 });
    renameSync(tmp, path);
  } catch {
    try { unlinkSync(tmp); } catch { /* not written */ }
  }
}

/** The user's config folder, as Go's os.UserConfigDir finds it. */
function configDir(env) {
  if (process.platform === 'win32') return env.APPDATA || join(homedir(), 'AppData', 'Roaming');
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Application Support');
  return env.XDG_CONFIG_HOME || join(homedir(), '.config');
}

/** Prints the error on stderr (no secret is in any message) and returns the exit status. */
function report(err) {
  let status = EXIT_OTHER;
  if (err instanceof UsageError || err instanceof CaspioURLError) status = EXIT_USAGE;
  else if (err instanceof CaspioAPIError) status = EXIT_API;
  else if (err instanceof CaspioError || err instanceof TypeError && String(err.message).startsWith('caspio-auth: option')) status = EXIT_AUTH;
  let message = err instanceof Error ? err.message : String(err);
  if (!/^caspio(-auth)?:/.test(message)) message = `caspio-auth: ${message}`;
  if (err instanceof Error && err.cause instanceof Error && !message.includes(err.cause.message)) message += `: ${err.cause.message}`;
  const lines = [message];
  if (err instanceof CaspioAPIError) {
    lines.push(`  Code: ${err.Code || '(none)'}`, `  Message: ${err.Message}`, `  RequestId: ${err.RequestId || '(none)'}`);
  } else if (status === EXIT_AUTH && err?.code === 'CONFIG_INVALID') {
    lines.push('  (set it with a flag or the environment; see caspio-auth --help)');
  }
  process.stderr.write(lines.join('\n') + '\n');
  return status;
}

/** Writes, waiting when the stream's buffer is full. */
function write(stream, chunk) {
  return new Promise((resolve, reject) => {
    stream.write(chunk, (err) => (err ? reject(err) : resolve()));
  });
}

process.exitCode = await main(process.argv.slice(2), process.env);
