// What caspio.wasm holds besides the Go runtime: the size of each function's code, by
// package, beside the empty syscall/js program (empty-wasm.mjs), both built with build.sh's
// flags but keeping the name section (no -s -w). `go tool nm` does not read wasm files.
// Code only: the data section (strings, tables, the runtime's function tables) is not named;
// measure a change's whole effect with size.mjs.
//
//   node tests/bench/size-profile.mjs [functions]   (default: the 40 largest functions)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildEmptyWasm } from './empty-wasm.mjs';

const top = Number(process.argv[2] ?? 40);
const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'caspio-size-'));
let ours;
try {
  execFileSync('go', ['build', '-trimpath', '-buildvcs=false', '-gcflags=all=-l', '-o', join(dir, 'caspio.wasm'), './wasm'],
    { cwd: root, env: { ...process.env, GOOS: 'js', GOARCH: 'wasm' } });
  ours = functionSizes(readFileSync(join(dir, 'caspio.wasm')));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const empty = functionSizes(buildEmptyWasm({ names: true }));

// Each function's size in bytes, by name (wasm binary format: the code section's bodies, and
// the function names of the custom "name" section, indexed after the imported functions).
function functionSizes(b) {
  let p = 8;
  const leb = () => { let r = 0, s = 0, x; do { x = b[p++]; r += (x & 0x7f) * 2 ** s; s += 7; } while (x & 0x80); return r; };
  const bodies = [], names = new Map();
  let imported = 0;
  while (p < b.length) {
    const id = b[p++], len = leb(), end = p + len;
    if (id === 2) { // imports: count the functions
      for (let n = leb(); n > 0; n--) {
        for (let part = 0; part < 2; part++) { const len = leb(); p += len; } // module and field names
        const kind = b[p++];
        if (kind === 0) { leb(); imported++; } else if (kind === 1 || kind === 2) { if (kind === 1) p++; const max = b[p++] & 1; leb(); if (max) leb(); } else p += 2;
      }
    } else if (id === 10) {
      for (let n = leb(); n > 0; n--) { const size = leb(); bodies.push(size); p += size; }
    } else if (id === 0) {
      const nameLen = leb(), section = b.subarray(p, p + nameLen).toString(); p += nameLen;
      while (section === 'name' && p < end) {
        const sub = b[p++], subLen = leb(), subEnd = p + subLen;
        if (sub === 1) for (let n = leb(); n > 0; n--) { const i = leb(), l = leb(); names.set(i, b.subarray(p, p + l).toString()); p += l; }
        p = subEnd;
      }
    }
    p = end;
  }
  return new Map(bodies.map((size, i) => [names.get(i + imported) ?? `#${i + imported}`, size]));
}

// "github.com_caspio_auth_caspio.__Flow_.ResolveURL" -> "github.com_caspio_auth_caspio" (the
// name section spells "/" as "_"); "type_.eq.X" -> "type_", the generated equality functions.
const packageOf = (name) => {
  const dot = name.indexOf('.', name.startsWith('github.com') ? 'github.com'.length : 0);
  return dot < 0 ? name : name.slice(0, dot);
};
const added = [...ours].map(([name, size]) => [name, size - (empty.get(name) ?? 0)]).filter(([, d]) => d !== 0);
const byPackage = new Map();
for (const [name, d] of added) byPackage.set(packageOf(name), (byPackage.get(packageOf(name)) ?? 0) + d);
const sum = (m) => [...m.values()].reduce((a, b) => a + b, 0);

console.log(`code: caspio.wasm ${sum(ours)} bytes, the empty program ${sum(empty)} bytes, +${sum(ours) - sum(empty)}\n`);
console.log('| package | code added (bytes) |\n| --- | ---: |');
for (const [pkg, d] of [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 20)) console.log(`| ${pkg} | ${d} |`);
console.log(`\n| function | code added (bytes) |\n| --- | ---: |`);
for (const [name, d] of added.sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`| ${name} | ${d} |`);
