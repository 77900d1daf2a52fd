// Builds the baseline the budgets compare against: an empty syscall/js program, by the
// same toolchain and flags as caspio.wasm (build.sh).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// names: keep the name section (no -s -w), for size-profile.mjs.
export function buildEmptyWasm({ names = false } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'caspio-empty-'));
  try {
    writeFileSync(join(dir, 'go.mod'), 'module empty\n\ngo 1.26\n');
    writeFileSync(join(dir, 'main.go'), [
      'package main', '', 'import "syscall/js"', '',
      'func main() {',
      '\tjs.Global().Get("__empty_ready__").Invoke(js.FuncOf(func(js.Value, []js.Value) any { return nil }))',
      '\tselect {}', '}', '',
    ].join('\n'));
    execFileSync('go', ['build', '-trimpath', '-buildvcs=false', '-gcflags=all=-l', names ? '-ldflags=-buildid=' : '-ldflags=-s -w -buildid=', '-o', 'empty.wasm', '.'],
      { cwd: dir, env: { ...process.env, GOOS: 'js', GOARCH: 'wasm' } });
    return readFileSync(join(dir, 'empty.wasm'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
