// The Workers in this repository install caspio-auth from it (a file: dependency on js/)
// until the package is on the npm registry: `npm install` in proxy/ or
// examples/go-proxy/broker links the repository's package, built by ./build.sh build.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const { version } = JSON.parse(await readFile(join(root, 'js', 'package.json'), 'utf8'));

for (const folder of ['proxy', 'examples/go-proxy/broker']) {
  test(`npm install in ${folder} installs caspio-auth from the repository`, async () => {
    const pkg = JSON.parse(await readFile(join(root, folder, 'package.json'), 'utf8'));
    assert.equal(pkg.dependencies['caspio-auth'], `file:${relative(join(root, folder), join(root, 'js'))}`);
    // A copy at the same depth beside the repository's js/, without wrangler (which this
    // test does not fetch), installed offline as a user would install it.
    const dir = await mkdtemp(join(tmpdir(), 'caspio-install-'));
    try {
      await symlink(join(root, 'js'), join(dir, 'js'), 'dir');
      const copy = join(dir, folder);
      await mkdir(copy, { recursive: true });
      await cp(join(root, folder, 'package.json'), join(copy, 'package.json'));
      delete pkg.devDependencies;
      await writeFile(join(copy, 'package.json'), JSON.stringify(pkg));
      await run('npm', ['install', '--offline', '--no-audit', '--no-fund'], { cwd: copy });
      const installed = JSON.parse(await readFile(join(copy, 'node_modules', 'caspio-auth', 'package.json'), 'utf8'));
      assert.equal(installed.version, version);
      const { stdout } = await run(process.execPath, ['--input-type=module', '-e',
        "const m = await import('caspio-auth'); console.log(typeof m.createClient, typeof m.TokenBroker)"], { cwd: copy });
      assert.equal(stdout.trim(), 'function function');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}
