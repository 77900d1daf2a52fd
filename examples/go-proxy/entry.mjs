// The Worker's entry: the generated build/worker.mjs behind one guard. syumai/workers turns
// each request into an http.Request with Go's url.Parse before any handler runs, and answers
// a URL that Go cannot parse with a 500 that quotes the whole URL. Such a path (a "%" not
// followed by two hex digits, as in %zz or %u002e) is answered here instead, as the JS
// proxy answers it: 400 bad_path, quoting nothing.
import worker from './build/worker.mjs';

const MALFORMED_ESCAPE = /%(?![0-9A-Fa-f]{2})/;

export default {
  async fetch(request, env, ctx) {
    if (MALFORMED_ESCAPE.test(new URL(request.url).pathname)) {
      return Response.json({ error: 'bad_path', message: 'the request target is not a plain path' }, { status: 400, headers: { 'Cache-Control': 'no-store' } });
    }
    return worker.fetch(request, env, ctx);
  },
};
