// Starts the Caspio sandbox (bin/caspio-sandbox, built by build.sh) on 127.0.0.1 for a
// node --test suite, and drives its control API.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const binary = fileURLToPath(new URL('../../../bin/caspio-sandbox', import.meta.url));

export const CLIENT_ID = 'sandbox-client';
export const CLIENT_SECRET = 'sandbox-secret';

/**
 * @param {string[]} [args] extra flags, e.g. ['-token-ttl', '120s']
 * @param {{onStderrLine?: (line: string) => void}} [options] receives the sandbox's stderr
 *   (its request log with -v) line by line instead of passing it through
 * @returns {Promise<Sandbox>}
 */
export async function startSandbox(args = [], { onStderrLine } = {}) {
  const child = spawn(binary, ['-addr', '127.0.0.1:0', ...args], { stdio: ['ignore', 'pipe', onStderrLine ? 'pipe' : 'inherit'] });
  if (onStderrLine) createInterface({ input: child.stderr }).on('line', onStderrLine);
  const lines = createInterface({ input: child.stdout });
  const [first] = await Promise.race([
    once(lines, 'line'),
    once(child, 'exit').then(([code]) => { throw new Error(`caspio-sandbox exited with ${code}; run ./build.sh first`); }),
    once(child, 'error').then(([err]) => { throw err; }),
  ]);
  const match = /^listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(first);
  if (!match) {
    child.kill();
    throw new Error(`caspio-sandbox said ${JSON.stringify(first)}`);
  }
  return new Sandbox(child, match[1]);
}

export class Sandbox {
  constructor(child, url) {
    this.child = child;
    this.url = url;
  }

  /** Client options for this sandbox. */
  options(extra = {}) {
    return { integrationUrl: this.url, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, ...extra };
  }

  async control(method, path, body) {
    const res = await fetch(this.url + '/__sandbox/' + path, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`sandbox ${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }

  /** @returns {Promise<{token_requests: Record<string, number>, refresh_tokens_minted: number, refresh_tokens_live: number, refresh_tokens_evicted: number, access_tokens_minted: number, resource_requests: number, unauthorized: number}>} */
  stats() { return this.control('GET', 'stats'); }
  advance(duration) { return this.control('POST', 'clock?advance=' + encodeURIComponent(duration)); }
  fault(faults) { return this.control('POST', 'faults', faults); }
  reset() { return this.control('POST', 'reset'); }
  revoke() { return this.control('POST', 'revoke'); }

  async stop() {
    if (this.child.exitCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGTERM');
    await exited;
  }
}
