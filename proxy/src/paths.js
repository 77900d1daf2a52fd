// @ts-check
// The request path: its segments checked before any rule sees them (only what a resource
// name needs gets through), spelled one way for Caspio, and resolved on the REST base by the
// caspio-auth client, which gives the resource path the rules match. How a reference maps
// onto the REST base (a leading REST base or version, another version's base refused) is
// the core's decision, made by client.resolve: the proxy keeps no copy of it.
import { CaspioURLError } from 'caspio-auth';

/**
 * The resource that the checked segments and the query resolve to: the reference to hand
 * to client.fetch (which resolves it to the same URL, from the client's cache), the
 * resource path below the REST base (for the rules and the log) and its decoded segments;
 * or why the path is refused.
 * @param {import('caspio-auth').CaspioClient} client
 * @param {string} resourceBase the client's REST base (client.toJSON().resourceBase)
 * @param {string[]} segments the decoded segments after the prefix, as pathSegments gave them
 * @param {string} search the request's query, "" or starting with "?"
 * @returns {{ref: string, path: string, resource: string[]} | string}
 */
export function resolveResource(client, resourceBase, segments, search) {
  const ref = '/' + segments.map(encodeSegment).join('/') + search;
  let url;
  try {
    url = client.resolve(ref);
  } catch (err) {
    // Not the core's message: it names the resource base, which callers need not know.
    if (err instanceof CaspioURLError) return 'is not a resource path of the configured Caspio REST API version';
    throw err;
  }
  if (!url.startsWith(resourceBase)) return 'is not a resource path of the configured Caspio REST API version';
  const q = url.indexOf('?', resourceBase.length);
  const path = url.slice(resourceBase.length, q < 0 ? undefined : q);
  if (path === '' || path === '/') return { ref, path: '/', resource: [] }; // the REST base itself
  const resource = pathSegments(path);
  if (typeof resource === 'string') return resource;
  return { ref, path, resource };
}

/**
 * The path after the prefix (still percent-encoded, as the URL parser left it) as decoded
 * segments, or why it is refused. It runs before the rules match, and allows only what a
 * resource name needs, so that no spelling another server would read as something else
 * (dot segments, encoded or double-encoded separators, ";" parameters, overlong UTF-8,
 * look-alike dots and slashes) reaches a rule.
 * @param {string} rest
 * @returns {string[] | string}
 */
export function pathSegments(rest) {
  const lower = rest.toLowerCase();
  if (lower.includes('%2e') || lower.includes('%2f') || lower.includes('%5c')) return "has a percent-encoded '.', '/' or '\\'";
  if (rest.includes('\\')) return 'has a backslash';
  const segments = [];
  for (const [i, seg] of rest.slice(1).split('/').entries()) {
    const where = `segment ${i + 1}`;
    if (seg === '') return `has an empty ${where}`;
    let s;
    try {
      s = decodeURIComponent(seg);
    } catch {
      return `has a malformed percent-encoding, or one that is not UTF-8, in ${where}`;
    }
    if (/^\.+$/.test(s)) return `has a ${where} of dots only`;
    if (/^ | $|\.$/.test(s)) return `has a ${where} that starts with a space or ends with a space or a dot`;
    const bad = firstBadChar(s);
    if (bad !== null) return `has ${bad.what} in ${where} at position ${bad.at}`;
    segments.push(s);
  }
  return segments;
}

/**
 * The first character of a decoded segment that a resource name does not need, described,
 * with its position (from 1, in characters), or null. Allowed: ASCII letters and digits,
 * space and - . _ ~ ! $ & ' ( ) * + , =, and any other letter, combining mark or decimal
 * digit. Not: % (a double encoding), ; : @ / \ ? # and the other ASCII punctuation, control
 * characters, and every other character, such as fullwidth or one-dot-leader dots.
 * @param {string} s
 * @returns {{what: string, at: number} | null}
 */
export function firstBadChar(s) {
  let at = 0;
  for (const ch of s) {
    at++;
    const c = /** @type {number} */ (ch.codePointAt(0));
    if (c < 0x80) {
      if (/[A-Za-z0-9 \-._~!$&'()*+,=]/.test(ch)) continue;
      if (c < 0x20 || c === 0x7f) return { what: 'a control character', at };
      if (ch === '%') return { what: "'%' after decoding (a double-encoded character)", at };
      return { what: `'${ch}'`, at };
    }
    if (/[\p{L}\p{M}\p{Nd}]/u.test(ch)) continue;
    return { what: `U+${c.toString(16).toUpperCase().padStart(4, '0')}, which is not a letter or digit,`, at };
  }
  return null;
}

/**
 * A decoded segment as sent to Caspio: unreserved characters as they are, every other byte
 * of its UTF-8 percent-encoded, so that what reaches Caspio is what the rules matched.
 * @param {string} s
 */
export function encodeSegment(s) {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

