// CPU per request of client.fetch while its token is valid, beside the baseline: plain
// fetch with a fixed Authorization header, against the same local server, in one process
// and one run. The server runs in another process, so only the client's CPU is counted.
// Budget: client.fetch at most 1.05 times the CPU of plain fetch, and no call into the
// WebAssembly core during the measured requests (the lease and the resolved URL serve).
//
//   node tests/bench/hotpath.mjs [requests] [concurrency]   (after ./build.sh)
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createClient } from '../../js/node.js';
import { startCore } from '../../js/core.js';
import { startSandbox } from '../js/helpers/sandbox.js';

const requests = Number(process.argv[2] ?? 5000);
const concurrency = Number(process.argv[3] ?? 50);
const rounds = 5;
if (!(requests >= 100 && requests <= 100_000 && concurrency >= 1 && concurrency <= 500)) {
  throw new TypeError('give requests from 100 to 100000 and concurrency from 1 to 500');
}

// A minimal resource server, in a child process.
const server = fork(fileURLToPath(new URL('./resource-server.mjs', import.meta.url)), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
const [port] = await once(server, 'message');
const sandbox = await startSandbox();

try {
  const resourceUrl = `http://127.0.0.1:${port}/rest/v2`;
  const client = await createClient({ tokenUrl: sandbox.url + '/oauth/token', resourceUrl, clientId: 'sandbox-client', clientSecret: 'sandbox-secret' });
  const { accessToken } = await client.token();
  const plainHeaders = { Authorization: 'Bearer ' + accessToken };

  const variants = {
    'plain fetch, fixed Authorization (baseline)': () => fetch(resourceUrl + '/tables', { headers: plainHeaders }),
    'client.fetch': () => client.fetch('tables'),
  };

  async function run(send, n) {
    let started = 0;
    const worker = async () => {
      while (started < n) {
        started++;
        const res = await send();
        if (res.status !== 200) throw new Error(`status ${res.status}`);
        await res.arrayBuffer();
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  }

  async function cpuPerRequest(send) {
    const before = process.cpuUsage();
    await run(send, requests);
    const used = process.cpuUsage(before);
    return (used.user + used.system) / requests;
  }

  for (const send of Object.values(variants)) await run(send, 1000); // warm up both
  const core = await startCore(() => { throw new Error('the core runs already'); });
  let coreCalls = 0;
  for (const [name, fn] of Object.entries(core)) if (typeof fn === 'function') core[name] = (...args) => { coreCalls++; return fn(...args); };
  const samples = Object.fromEntries(Object.keys(variants).map((name) => [name, []]));
  for (let r = 0; r < rounds; r++) {
    // Alternate the order, so neither always runs on a warmer process.
    const names = Object.keys(variants);
    if (r % 2) names.reverse();
    for (const name of names) samples[name].push(await cpuPerRequest(variants[name]));
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const [baseName, oursName] = Object.keys(variants);
  const base = median(samples[baseName]);
  const ours = median(samples[oursName]);
  const measuredCalls = coreCalls;
  const stats = client.stats();

  console.log(`${requests} requests at concurrency ${concurrency}, ${rounds} alternating rounds, Node ${process.version}\n`);
  console.log('| variant | CPU per request (median of rounds) | rounds |');
  console.log('| --- | ---: | --- |');
  for (const name of Object.keys(variants)) {
    console.log(`| ${name} | ${median(samples[name]).toFixed(1)} µs | ${samples[name].map((x) => x.toFixed(0)).join(', ')} |`);
  }
  const ratio = ours / base;
  console.log(`\nratio: ${ratio.toFixed(3)} (budget 1.05); calls into the core during the measured requests: ${measuredCalls} (budget 0); token requests during the run: ${JSON.stringify(stats.tokenRequests)}`);
  const within = ratio <= 1.05 && measuredCalls === 0;
  console.log(within ? 'within budget' : 'OVER BUDGET');
  process.exitCode = within ? 0 : 1;
  client.close();
} finally {
  server.kill();
  await sandbox.stop();
}
