// Writes a runtime's outcomes of the conversation vectors to
// $CASPIO_RELIABILITY_DIR/<runtime>.json, as tests/vectors/conversations/report.mjs reads
// them (./build.sh reliability); nothing when the variable is not set.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** @param {string} runtime @param {{file: string, name: string, outcome?: object}[]} results */
export async function recordOutcomes(runtime, results) {
  const dir = process.env.CASPIO_RELIABILITY_DIR;
  if (!dir) return;
  await mkdir(dir, { recursive: true });
  const cases = Object.fromEntries(results.map((r) => [`${r.file}#${r.name}`, r.outcome ?? { outcome: 'replay failed' }]));
  await writeFile(join(dir, `${runtime}.json`), `${JSON.stringify({ runtime, cases }, null, 1)}\n`);
}
