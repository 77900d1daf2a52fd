// The JavaScript examples of README.md and js/README.md, type-checked against the package's
// index.d.ts (resolved through its exports map, as a user's project resolves it), so that
// the examples a newcomer copies keep up with the API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
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
