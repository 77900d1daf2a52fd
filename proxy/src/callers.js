// @ts-check
// Who is calling: a holder of a PROXY_KEYS key (X-Proxy-Key, compared in constant time),
// a user signed in through Cloudflare Access (Cf-Access-Jwt-Assertion, an RS256 JWT checked
// against the team's published keys, which are fetched and cached here), or nobody proven.

/** The header Cloudflare Access puts the signed-in user's token in. */
const ACCESS_HEADER = 'cf-access-jwt-assertion';
/** Longest Access token read; Access tokens are about 1 KB. */
const MAX_ACCESS_TOKEN = 8192;
/** How long the team's published keys are used before they are fetched again. */
const ACCESS_KEYS_TTL_MS = 3_600_000;
/** A token signed by an unknown key refetches the keys at most this often (key rotation). */
const ACCESS_REFETCH_MS = 60_000;
const ACCESS_FETCH_TIMEOUT_MS = 5_000;
/** Seconds of clock difference tolerated for a token's nbf (not for its exp). */
const ACCESS_CLOCK_SKEW_S = 60;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** @typedef {import('./rules.js').CallerKind} CallerKind */

/**
 * The Access configuration of a proxy, and the team's keys once fetched.
 * @typedef {{issuer: string, certsUrl: string, audiences: string[],
 *   keys: Map<string, CryptoKey> | null, fetchedAt: number, pending: Promise<void> | null}} Access
 */

/**
 * The caller kinds that request proves, or the error to answer: a key that matches none,
 * an Access token that does not verify (401), Access keys that cannot be had (503).
 * @param {{keys: Uint8Array[], access: Access | null}} p the proxy's keys and Access configuration
 * @param {Request} request
 * @returns {Promise<{callers: Set<CallerKind>, error?: undefined} | {error: {status: number, code: string, message: string}}>}
 */
export async function authenticate(p, request) {
  /** @type {Set<CallerKind>} */
  const callers = new Set();
  const key = request.headers.get('x-proxy-key');
  if (key !== null && key !== '') {
    if (!keyValid(p.keys, key)) return { error: { status: 401, code: 'unauthenticated', message: 'the X-Proxy-Key header matches none of the proxy\'s keys' } };
    callers.add('key');
  }
  const token = request.headers.get(ACCESS_HEADER);
  // Without Access configured the header is ignored: the route may sit behind Access for
  // reasons of its own.
  if (p.access !== null && token !== null && token !== '') {
    const why = await verifyAccessToken(p.access, token, Date.now());
    if (why === 'unavailable') {
      return { error: { status: 503, code: 'access_unavailable', message: 'the Cloudflare Access keys could not be fetched to verify the Cf-Access-Jwt-Assertion header; try again later' } };
    }
    if (why !== null) return { error: { status: 401, code: 'unauthenticated', message: `the Cf-Access-Jwt-Assertion header ${why}` } };
    callers.add('access');
  }
  return { callers };
}

/**
 * Compares key with every configured key, in time that depends on the lengths only.
 * @param {Uint8Array[]} keys
 * @param {string} key
 */
function keyValid(keys, key) {
  const given = encoder.encode(key);
  let ok = 0;
  for (const k of keys) {
    if (k.length !== given.length) continue;
    let diff = 0;
    for (let i = 0; i < k.length; i++) diff |= k[i] ^ given[i];
    ok |= diff === 0 ? 1 : 0;
  }
  return ok === 1;
}

/**
 * Verifies a Cloudflare Access token (a JWT signed with RS256 by one of the team's
 * published keys) for this proxy's team and audiences, at nowMs. Returns null when it
 * holds, 'unavailable' when the keys cannot be fetched, or what is wrong with it (never
 * quoting it).
 * @param {Access} access
 * @param {string} token
 * @param {number} nowMs
 * @returns {Promise<string | null>}
 */
async function verifyAccessToken(access, token, nowMs) {
  if (token.length > MAX_ACCESS_TOKEN) return `is ${token.length} characters long; an Access token is at most ${MAX_ACCESS_TOKEN}`;
  const parts = token.split('.');
  if (parts.length !== 3) return `has ${parts.length} dot-separated parts; a JWT has 3`;
  for (const [i, part] of parts.entries()) {
    const bad = part.search(/[^A-Za-z0-9_-]/);
    if (part === '' || bad >= 0) return `has ${part === '' ? 'an empty' : `a character outside base64url at position ${bad + 1} of`} part ${i + 1}`;
  }
  let header;
  let claims;
  try {
    header = JSON.parse(decoder.decode(base64url(parts[0])));
    claims = JSON.parse(decoder.decode(base64url(parts[1])));
  } catch {
    return 'has a header or payload that is not base64url-encoded JSON';
  }
  if (!isObject(header) || !isObject(claims)) return 'has a header or payload that is not a JSON object';
  if (header.alg !== 'RS256') return 'is not signed with RS256, the algorithm of Cloudflare Access';
  if (typeof header.kid !== 'string' || header.kid === '') return 'has no key ID (kid) in its header';

  let key;
  try {
    key = await accessKey(access, header.kid, nowMs);
  } catch (err) {
    console.log(`access keys: ${/** @type {Error} */ (err)?.message}`);
    return 'unavailable';
  }
  if (key === null) return "is signed by a key that the team's Access keys do not include";
  const signed = encoder.encode(`${parts[0]}.${parts[1]}`);
  if (!await crypto.subtle.verify('RSASSA-PKCS1-v1_5', key, base64url(parts[2]), signed)) return 'has a signature that does not verify';

  if (claims.iss !== access.issuer) return "was issued by another team's Access, not the one of PROXY_ACCESS_TEAM_DOMAIN";
  const audiences = typeof claims.aud === 'string' ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud : [];
  if (!audiences.some((a) => access.audiences.includes(a))) return 'is for another Access application (its aud is none of PROXY_ACCESS_AUD)';
  const now = nowMs / 1000;
  if (typeof claims.exp !== 'number') return 'has no expiry (exp)';
  if (now >= claims.exp) return 'has expired; sign in again';
  if (claims.nbf !== undefined && (typeof claims.nbf !== 'number' || now + ACCESS_CLOCK_SKEW_S < claims.nbf)) return 'is not valid yet (nbf)';
  return null;
}

/** @param {unknown} v @returns {v is Record<string, unknown>} */
function isObject(v) {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** @param {string} s unpadded base64url, already checked for its alphabet */
function base64url(s) {
  const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * The team's public key with ID kid: from the keys fetched within the hour, else fetched
 * now (one fetch at a time for the isolate). An unknown kid fetches the keys again, at most
 * once a minute, for a key Cloudflare has just rotated in. Null when the team has no such
 * key; throws when the keys cannot be fetched.
 * @param {Access} access
 * @param {string} kid
 * @param {number} nowMs
 */
async function accessKey(access, kid, nowMs) {
  const stale = access.keys === null || nowMs - access.fetchedAt > ACCESS_KEYS_TTL_MS;
  const unknown = access.keys !== null && !access.keys.has(kid) && nowMs - access.fetchedAt > ACCESS_REFETCH_MS;
  if (stale || unknown) {
    access.pending ??= fetchAccessKeys(access).finally(() => { access.pending = null; });
    try {
      await access.pending;
    } catch (err) {
      if (access.keys === null) throw err;
      // Keep the keys fetched before, and try again in a minute.
      console.log(`access keys: ${/** @type {Error} */ (err)?.message}; the keys fetched before are used`);
      access.fetchedAt = Math.max(access.fetchedAt, nowMs - ACCESS_KEYS_TTL_MS + ACCESS_REFETCH_MS);
    }
  }
  return access.keys?.get(kid) ?? null;
}

/** Fetches and imports the team's published keys (its JWKS). @param {Access} access */
async function fetchAccessKeys(access) {
  let res;
  try {
    res = await fetch(access.certsUrl, { redirect: 'manual', signal: AbortSignal.timeout(ACCESS_FETCH_TIMEOUT_MS), headers: { accept: 'application/json' } });
  } catch {
    throw new Error("the team's keys endpoint could not be reached");
  }
  if (res.status !== 200) {
    await res.body?.cancel();
    throw new Error(`the team's keys endpoint answered HTTP ${res.status}`);
  }
  const jwks = await res.json().catch(() => null);
  if (!isObject(jwks) || !Array.isArray(jwks.keys)) throw new Error("the team's keys endpoint did not answer a JSON Web Key Set");
  /** @type {Map<string, CryptoKey>} */
  const keys = new Map();
  for (const k of jwks.keys) {
    if (!isObject(k) || k.kty !== 'RSA' || typeof k.kid !== 'string' || k.kid === '' || typeof k.n !== 'string' || typeof k.e !== 'string') continue;
    if (!/^[A-Za-z0-9_-]+$/.test(k.n) || base64url(k.n).length < 256) continue; // shorter than 2048 bits: verifies nothing
    try {
      keys.set(k.kid, await crypto.subtle.importKey('jwk', { kty: 'RSA', n: k.n, e: k.e, alg: 'RS256' },
        { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['verify']));
    } catch {
      // a key this runtime cannot import (too short, say) verifies nothing
    }
  }
  access.keys = keys;
  access.fetchedAt = Date.now();
}
