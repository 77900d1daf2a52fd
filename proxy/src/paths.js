// @ts-check
// The request path: its segments checked before any rule sees them (only what a resource
// name needs gets through), spelled one way for Caspio, and resolved on the REST base by the
// caspio-auth client, which gives the resource path the rules match. The path rules are the
// core's (caspio.ParseResourcePath and ResourceRef, reached through proxyRules()), which
// the Go proxy asks too; how a reference maps onto the REST base (a leading REST base or
// version, another version's base refused) is the core's decision, made by client.resolve:
// the proxy keeps no copy of either.
import { CaspioURLError } from 'caspio-auth';

/**
 * The resource that the checked path and the query resolve to: the reference to hand to
 * client.fetch (which resolves it to the same URL, from the client's cache), the resource
 * path below the REST base (for the rules and the log) and its decoded segments; or why the
 * path is refused.
 * @param {import('caspio-auth').CaspioClient} client
 * @param {import('caspio-auth').ProxyRules} paths the core's path rules
 * @param {string} resourceBase the client's REST base (client.toJSON().resourceBase)
 * @param {string} ref the checked path spelled for Caspio, as paths.parsePath gave it
 * @param {string} search the request's query, "" or starting with "?"
 * @returns {{ref: string, path: string, resource: string[]} | string}
 */
export function resolveResource(client, paths, resourceBase, ref, search) {
  ref += search;
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
  const checked = paths.parsePath(path);
  if ('problem' in checked) return checked.problem;
  return { ref, path, resource: checked.segments };
}
