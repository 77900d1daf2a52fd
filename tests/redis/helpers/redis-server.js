// Starts redis-server (Debian's package; build.sh test installs it when missing) on
// 127.0.0.1 on a free port, without persistence, for a node --test suite, and stops it by its
// PID.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { createClient } from 'redis';

/** A free loopback port. */
export async function freePort() {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = /** @type {import('node:net').AddressInfo} */ (srv.address());
  await new Promise((resolve) => { srv.close(resolve); });
  return port;
}

export class RedisServer {
  /** @param {number} port @param {string[]} extra */
  constructor(port, extra) {
    this.port = port;
    this.extra = extra;
    this.url = `redis://127.0.0.1:${port}`;
    this.child = null;
  }

  /** Starts it (again, empty) and waits until it answers PING. */
  async start() {
    this.child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...this.extra], { stdio: 'ignore' });
    const failed = once(this.child, 'error').then(([err]) => { throw new Error(`redis-server did not start (${err.message}); install it (Debian: apt-get install redis-server)`); });
    failed.catch(() => {});
    for (let i = 0; i < 200; i++) {
      const c = createClient({ url: this.url, socket: { reconnectStrategy: false } });
      c.on('error', () => {});
      try {
        await Promise.race([c.connect(), failed]);
        await c.ping();
        await c.close();
        return this;
      } catch (err) {
        if (String(err.message).startsWith('redis-server did not start')) throw err;
        await c.destroy?.();
      }
      await new Promise((resolve) => { setTimeout(resolve, 25); });
    }
    throw new Error(`redis-server on port ${this.port} did not answer within 5 s`);
  }

  /** Stops it by its PID and waits until it exited. */
  async stop() {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    process.kill(child.pid, 'SIGKILL');
    await exited;
  }

  /** A connected node-redis client, that keeps reconnecting after a loss. */
  async client(options = {}) {
    const c = createClient({ url: this.url, socket: { reconnectStrategy: (n) => Math.min(n * 50, 500) }, ...options });
    c.on('error', () => {}); // losses are the tests' subject: the storage reports them
    await c.connect();
    return c;
  }
}

/** Starts a redis-server with extra arguments (e.g. --replicaof). */
export async function startRedis(extra = []) {
  return new RedisServer(await freePort(), extra).start();
}
