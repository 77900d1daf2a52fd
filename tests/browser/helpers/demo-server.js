// Starts `caspio-demo -serve` (the walkthrough, then the admin page, the sandbox and the
// npm package on one loopback origin) for the browser suites, and reads where it listens
// from its "admin page at URL" line. The binary is built into a temporary folder from the
// current source, so that a stale bin/ cannot pass or fail a test; CASPIO_DEMO_BIN names a
// prebuilt one instead.
import { spawn, execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * @returns {Promise<{url: string, origin: string, stop: () => Promise<void>, output: () => string}>}
 *   url is the admin page ("http://127.0.0.1:PORT/"), origin the same without the slash.
 */
export async function startDemo({ timeoutMs = 60_000 } = {}) {
  let dir = '';
  let bin = process.env.CASPIO_DEMO_BIN ?? '';
  if (!bin) {
    dir = await mkdtemp(join(tmpdir(), 'caspio-demo-'));
    bin = join(dir, 'caspio-demo');
    await promisify(execFile)('go', ['build', '-o', bin, './cmd/caspio-demo'], { cwd: ROOT });
  }
  const child = spawn(bin, ['-serve', '-addr', '127.0.0.1:0'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d) => { err += d; });
  const exited = new Promise((resolve) => { child.once('exit', (code, signal) => resolve({ code, signal })); });

  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`caspio-demo printed no "admin page at" line within ${timeoutMs} ms:\n${out}${err}`)), timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (d) => {
      out += d;
      const m = /^admin page at (http:\/\/\S+\/)$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`caspio-demo exited (${code ?? signal}) before serving:\n${out}${err}`));
    });
  });

  return {
    url,
    origin: url.replace(/\/$/, ''),
    output: () => out + err,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      if (dir) await rm(dir, { recursive: true, force: true });
    },
  };
}
