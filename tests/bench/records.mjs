// Rows per second reading all of the sandbox's Orders (2,500 records, pages of 1,000) with
// client.records, beside a hand-written loop over client.fetch that pages in PK_ID order
// with q.pageNumber and q.pageSize, in one process and one run; the sandbox runs in another process. Each
// variant's median round is reported, with this process's CPU per row.
// Budget: client.records within 1.1 times the hand loop's time per row.
//
//   node tests/bench/records.mjs [rounds] [reads]   (after ./build.sh)
import { createClient } from '../../js/node.js';
import { startSandbox } from '../js/helpers/sandbox.js';

const rounds = Number(process.argv[2] ?? 7);
const reads = Number(process.argv[3] ?? 10);
if (!(rounds >= 1 && rounds <= 100 && reads >= 1 && reads <= 1000)) throw new TypeError('give rounds from 1 to 100 and reads from 1 to 1000');

const sandbox = await startSandbox();
try {
  const client = await createClient(sandbox.options());
  const variants = {
    'hand-written loop over client.fetch (q.pageNumber, baseline)': async () => {
      let n = 0;
      for (let page = 1; page <= 100; page++) {
        const res = await client.fetch(`tables/Orders/records?q.orderBy=PK_ID&q.pageSize=1000&q.pageNumber=${page}`);
        if (!res.ok) throw new Error(`status ${res.status}`);
        const { Result } = await res.json();
        for (const row of Result) if (row) n++;
        if (Result.length < 1000) break;
      }
      return n;
    },
    'client.records': async () => {
      let n = 0;
      for await (const row of client.records('Orders')) if (row) n++;
      return n;
    },
  };
  for (const [name, read] of Object.entries(variants)) {
    const n = await read(); // warm up
    if (n !== 2500) throw new Error(`${name}: ${n} records`);
  }
  const results = Object.fromEntries(Object.keys(variants).map((name) => [name, { rates: [], cpu: [] }]));
  for (let r = 0; r < rounds; r++) {
    for (const [name, read] of Object.entries(variants)) {
      const cpu = process.cpuUsage();
      const start = performance.now();
      let rows = 0;
      for (let k = 0; k < reads; k++) rows += await read();
      const seconds = (performance.now() - start) / 1000;
      const used = process.cpuUsage(cpu);
      results[name].rates.push(rows / seconds);
      results[name].cpu.push((used.user + used.system) / rows);
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const [baseName] = Object.keys(variants);
  const base = median(results[baseName].rates);
  console.log(`Reading all 2,500 Orders from the sandbox (another process), ${reads} reads per round, median of ${rounds} rounds (Node ${process.versions.node})\n`);
  console.log('| variant | rows per second | CPU per row (this process) | time per row vs baseline |');
  console.log('| --- | ---: | ---: | ---: |');
  let ratio = 1;
  for (const name of Object.keys(variants)) {
    const m = median(results[name].rates);
    ratio = base / m;
    console.log(`| ${name} | ${Math.round(m)} | ${median(results[name].cpu).toFixed(2)} us | ${ratio.toFixed(2)}x |`);
  }
  client.close();
  if (ratio > 1.1) {
    console.error(`client.records took ${ratio.toFixed(2)} times the hand loop's time per row; the budget is 1.1`);
    process.exitCode = 1;
  }
} finally {
  await sandbox.stop();
}
