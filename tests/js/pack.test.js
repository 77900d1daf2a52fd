// `npm pack` of js/ on a fresh clone, before ./build.sh build: the package's prepack script
// refuses to pack it without the files that the build makes, instead of packing a package
// that installs and then fails on import.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const packageDir = fileURLToPath(new URL('../../js/', import.meta.url));
const BUILT = ['caspio.wasm', 'node.js', 'wasm_exec.js', 'LICENSE', 'redis-scripts/'];

test('npm pack without the built files refuses, naming them and ./build.sh build', async () => {
  const pkg = JSON.parse(await readFile(join(packageDir, 'package.json'), 'utf8'));
  assert.equal(pkg.scripts?.prepack, 'node prepack.js');
  // What a fresh clone holds: the package's files, minus those the build makes.
  const clone = await mkdtemp(join(tmpdir(), 'caspio-pack-'));
  try {
    for (const name of ['package.json', 'prepack.js', ...pkg.files.filter((f) => !BUILT.includes(f))]) {
      await copyFile(join(packageDir, name), join(clone, name));
    }
    const err = await run('npm', ['pack', '--dry-run', '--json'], { cwd: clone }).then(() => null, (e) => e);
    assert.ok(err, 'npm pack should fail');
    assert.match(err.stderr, /cannot pack the package: caspio\.wasm, node\.js, wasm_exec\.js, LICENSE, redis-scripts\/save\.lua, redis-scripts\/extend\.lua, redis-scripts\/release\.lua are not built/);
    assert.match(err.stderr, /Run \.\/build\.sh build/);
    // With them, as ./build.sh build leaves them, it packs them: tarball.test.js packs js/.
  } finally {
    await rm(clone, { recursive: true, force: true });
  }
});
