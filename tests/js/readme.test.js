// The JavaScript examples of README.md and js/README.md, type-checked against the package's
// index.d.ts (resolved through its exports map, as a user's project resolves it), so that
// the examples a newcomer copies keep up with the API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));

/** The ```js blocks of a Markdown file that import the package. */
async function examples(file) {
  const text = await readFile(join(root, file), 'utf8');
  return text.split('```js\n').slice(1).map((part) => part.split('```')[0]).filter((block) => block.includes("from 'caspio-auth'"));
}

test('README JavaScript examples type-check against index.d.ts', async () => {
  const blocks = [...await examples('README.md'), ...await examples('js/README.md')];
  assert.ok(blocks.length >= 2, 'the READMEs should show the package in use');
  // Inside the repository, so that 'caspio-auth' resolves through node_modules.
  const dir = await mkdtemp(join(root, 'tests', 'js', 'types', '_readme-'));
  try {
    const files = [];
    for (const [i, block] of blocks.entries()) {
      const file = join(dir, `example${i + 1}.mjs`);
      await writeFile(file, `// @ts-check\n${block}\nexport {};\n`);
      files.push(file);
    }
    const tsc = join(root, 'node_modules', '.bin', 'tsc');
    const args = ['--noEmit', '--allowJs', '--checkJs', '--strict', '--target', 'es2022', '--module', 'nodenext',
      '--moduleResolution', 'nodenext', '--lib', 'es2022,dom', '--types', 'node', '--skipLibCheck', ...files];
    try {
      await run(tsc, args, { cwd: root });
    } catch (err) {
      assert.fail(`a README example does not type-check:\n${err.stdout}${err.stderr}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("the READMEs' record queries return records from the sandbox", async () => {
  const { startSandbox, CLIENT_ID, CLIENT_SECRET } = await import('./helpers/sandbox.js');
  const sandbox = await startSandbox();
  const home = await mkdtemp(join(tmpdir(), 'caspio-readme-'));
  const cli = join(root, 'js', 'cli.js');
  const env = {
    PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: join(home, 'config'),
    CASPIO_INTEGRATION_URL: sandbox.url, CASPIO_CLIENT_ID: CLIENT_ID, CASPIO_CLIENT_SECRET: CLIENT_SECRET,
  };
  try {
    for (const file of ['README.md', 'js/README.md']) {
      const text = await readFile(join(root, file), 'utf8');
      // The CLI's records examples, as a shell runs them (an output redirection included).
      const commands = text.split('\n').filter((line) => line.startsWith('npx caspio-auth records '));
      assert.ok(commands.length > 0, `${file} shows caspio-auth records`);
      for (const command of commands) {
        const line = command.replace(/^npx caspio-auth/, `"${process.execPath}" "${cli}"`);
        const { stdout } = await run('sh', ['-c', line.includes('>') ? `${line} && cat ${line.split('>').at(-1).trim()}` : line], { cwd: home, env, maxBuffer: 64 << 20 });
        const records = JSON.parse(stdout);
        assert.ok(Array.isArray(records) && records.length > 0, `${file}: ${command} returns no record`);
      }
      // The paths that the JS examples fetch with a q.where.
      for (const [, path] of text.matchAll(/caspio\.fetch\('([^']*q\.where[^']*)'\)/g)) {
        const { stdout } = await run(process.execPath, [cli, 'fetch', path], { cwd: home, env, maxBuffer: 64 << 20 });
        assert.ok(JSON.parse(stdout).Result.length > 0, `${file}: caspio.fetch('${path}') returns no record`);
      }
    }
  } finally {
    await sandbox.stop();
    await rm(home, { recursive: true, force: true });
  }
});
