// Two servers on 127.0.0.1 for replaying conversation vectors with the browser's own fetch:
// the resource origin (which also serves the test pages, the package and the vectors, so
// that the page's first request is same-origin) and "elsewhere", the origin of every other
// host a vector's Location names. Each request to either, in order, gets the next send
// result loaded with POST /__script (status, Location mapped onto these origins, and
// X-Script-Now: the result's now, for the runner's clock); GET /__script tells how many
// they answered. CORS is open, as the page's requests become cross-origin after a redirect.
import { createServer } from 'node:http';
import { once } from 'node:events';
import { startStaticServer } from './server.js';

/** The host of the vectors' resource origin: their config's account c1abc123. */
const RESOURCE_HOST = 'c1abc123.caspio.com';

export async function startScriptServers() {
  let sends = [];
  let served = 0;
  let resourceOrigin = '';
  let elsewhereOrigin = '';
  /** A vector's URL with its origin moved onto these servers. */
  const mapped = (url) => url.replace(/^https:\/\/([^@/]*@)?([^/?#]+)/,
    (_, user = '', host) => (host === RESOURCE_HOST ? resourceOrigin : elsewhereOrigin).replace('//', `//${user}`));

  const answer = (req, res) => {
    const cors = { 'Access-Control-Allow-Origin': '*', 'Access-Control-Allow-Headers': '*', 'Access-Control-Allow-Methods': '*', 'Access-Control-Expose-Headers': '*' };
    if (req.method === 'OPTIONS') return res.writeHead(204, cors).end();
    req.resume();
    served++;
    const r = sends.shift()?.response ?? { status: 599 };
    const headers = { ...cors, 'Content-Type': 'application/json', 'X-Script-Now': String(r.now ?? '') };
    if (r.location) headers.Location = mapped(r.location);
    return res.writeHead(r.status || 599, headers).end(r.status === 200 || r.status === 201 ? '{}' : '');
  };

  const elsewhere = createServer(answer);
  elsewhere.listen(0, '127.0.0.1');
  await once(elsewhere, 'listening');
  elsewhereOrigin = `http://127.0.0.1:${elsewhere.address().port}`;

  const statics = await startStaticServer();
  const resource = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/__script') {
      if (req.method === 'GET') return res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ served }));
      let body = '';
      for await (const chunk of req) body += chunk;
      sends = JSON.parse(body).map((result) => ({ response: { ...result.response, now: result.now } }));
      served = 0;
      return res.writeHead(204).end();
    }
    if (/^\/(pkg|vectors|pages|js-helpers)\//.test(path) || path === '/favicon.ico') {
      const upstream = await fetch(statics.url + req.url);
      res.writeHead(upstream.status, { 'Content-Type': upstream.headers.get('content-type') ?? 'text/plain', 'Cache-Control': 'no-store' });
      return res.end(Buffer.from(await upstream.arrayBuffer()));
    }
    return answer(req, res);
  });
  resource.listen(0, '127.0.0.1');
  await once(resource, 'listening');
  resourceOrigin = `http://127.0.0.1:${resource.address().port}`;

  return {
    url: resourceOrigin,
    elsewhere: elsewhereOrigin,
    /** A vector's config, pointed at these servers. */
    config: ({ account, ...rest }) => ({ ...rest, integrationUrl: resourceOrigin }),
    async close() {
      for (const server of [resource, elsewhere]) {
        server.closeAllConnections();
        server.close();
      }
      await statics.close();
    },
  };
}
