// @ts-check
// The PROXY_ALLOW rules: parsing "CALLERS METHOD /path" and matching a rule against a
// request's method and resource path.

/**
 * @typedef {'key' | 'access' | 'public'} CallerKind
 * @typedef {{callers: Set<CallerKind>, method: string, segments: string[]}} Rule
 */

/** Methods that only read: the only ones a PUBLIC rule may use without PROXY_PUBLIC_WRITES. */
export const READ_METHODS = new Set(['GET', 'HEAD']);

/**
 * One PROXY_ALLOW entry: who may use it, a method and a path pattern whose segments are
 * literal, "*" (any one segment) or, last, "**" (the rest of the path, zero or more
 * segments). Returns what is wrong with it as a string, without quoting it (a secret put
 * in the wrong variable must not reach a log).
 * @param {string} text
 * @param {import('caspio-auth').ProxyRules} paths the core's path rules: a literal
 *   segment may hold only what a resource name needs
 * @returns {Rule | string}
 */
export function parseRule(text, paths) {
  const fields = text.split(/\s+/).filter((f) => f !== '');
  if (fields.length !== 3) return `has ${fields.length} field${fields.length === 1 ? '' : 's'}; write "CALLERS METHOD /path", e.g. "key GET /tables/Orders/records"`;
  const callers = parseCallers(fields[0]);
  if (typeof callers === 'string') return callers;
  const method = fields[1].toUpperCase();
  if (!/^[A-Z]{1,20}$/.test(method)) return 'has a method that is not letters only (GET, POST, PUT, DELETE, ...)';
  if (method === 'OPTIONS') return 'has the method OPTIONS: the proxy answers preflights itself';
  const pattern = fields[2];
  if (!pattern.startsWith('/') || pattern === '/') return 'has a path that does not start with / and name a resource';
  const segments = pattern.slice(1).split('/');
  for (const [i, seg] of segments.entries()) {
    const where = `path segment ${i + 1}`;
    if (seg === '' || /^\.+$/.test(seg)) return `has an empty or dot ${where}`;
    if (seg === '**' && i !== segments.length - 1) return `has ** as ${where}, before the last segment`;
    if (seg === '*' || seg === '**') continue;
    if (seg.includes('*')) return `has * inside ${where}; * and ** stand for whole segments`;
    const bad = paths.badChar(seg);
    if (bad !== null) return `has ${bad.what} in ${where} at position ${bad.at}`;
  }
  return { callers, method, segments };
}

/**
 * The caller kinds of a rule: "key", "access", "key+access", or "PUBLIC" (anyone: in
 * capitals, so that it stands out), or what is wrong.
 * @param {string} field
 * @returns {Set<CallerKind> | string}
 */
function parseCallers(field) {
  if (field === 'PUBLIC') return new Set(['public']);
  if (field.toLowerCase() === 'public') return 'writes PUBLIC not in capitals; write it PUBLIC, so that it stands out: it lets anyone on the internet use the rule';
  /** @type {Set<CallerKind>} */
  const kinds = new Set();
  for (const kind of field.toLowerCase().split('+')) {
    if (kind === 'key' || kind === 'access') kinds.add(kind);
    else if (kind === 'public') return 'combines PUBLIC with other callers; PUBLIC already means anyone';
    else return 'does not start with who may use it: key, access, key+access or PUBLIC';
  }
  return kinds;
}

/**
 * Whether rule allows method on the resource path's segments (decoded).
 * @param {Rule} rule
 * @param {string} method
 * @param {string[]} segs
 */
export function matches(rule, method, segs) {
  if (method !== rule.method) return false;
  for (const [i, want] of rule.segments.entries()) {
    if (want === '**') return true;
    if (i >= segs.length || (want !== '*' && want !== segs[i])) return false;
  }
  return segs.length === rule.segments.length;
}

