// npm runs this before `npm pack` and `npm publish` (the "prepack" script): the package needs
// files that ./build.sh builds and that the repository does not hold, and a package packed
// without them installs but fails on import. Refuses to pack until they are there.
import { statSync } from 'node:fs';

const built = ['caspio.wasm', 'node.js', 'wasm_exec.js', 'LICENSE', 'redis-scripts/save.lua', 'redis-scripts/extend.lua', 'redis-scripts/release.lua'];
const missing = built.filter((name) => {
  try {
    return statSync(new URL(name, import.meta.url)).size === 0;
  } catch {
    return true;
  }
});
if (missing.length > 0) {
  console.error(`caspio-auth: cannot pack the package: ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not built. `
    + 'Run ./build.sh build at the root of the repository (it needs Go and Node), then pack again.');
  process.exit(1);
}
