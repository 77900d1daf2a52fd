// The size of caspio.wasm, raw and brotli-compressed, beside the baseline: an empty
// syscall/js program built by the same toolchain with the same flags, in the same run.
// Budget: at most 500 KiB (512,000 bytes) brotli, what a browser or a Worker deploy carries;
// the raw size is shown beside it.
//
//   node tests/bench/size.mjs   (after ./build.sh)
import { readFileSync } from 'node:fs';
import { brotliCompressSync, constants } from 'node:zlib';
import { buildEmptyWasm } from './empty-wasm.mjs';

function sizes(bytes) {
  const brotli = brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
  return { raw: bytes.length, brotli };
}

const ours = sizes(readFileSync(new URL('../../js/caspio.wasm', import.meta.url)));
const empty = sizes(buildEmptyWasm());
const budget = { brotli: 512_000 };
const kb = (n) => (n / 1000).toFixed(1) + ' KB';

console.log('| build | raw | brotli (q11) |');
console.log('| --- | ---: | ---: |');
console.log(`| empty syscall/js program (baseline) | ${kb(empty.raw)} | ${kb(empty.brotli)} |`);
console.log(`| caspio.wasm | ${kb(ours.raw)} | ${kb(ours.brotli)} |`);
console.log(`| caspio.wasm minus baseline | +${kb(ours.raw - empty.raw)} | +${kb(ours.brotli - empty.brotli)} |`);
console.log(`| budget | | ${kb(budget.brotli)} (500 KiB) |`);
const within = ours.brotli <= budget.brotli;
console.log(`\ncaspio.wasm: ${ours.raw} bytes raw, ${ours.brotli} bytes brotli (budget ${budget.brotli})`);
console.log(within ? '\nwithin budget' : '\nOVER BUDGET');
process.exitCode = within ? 0 : 1;
