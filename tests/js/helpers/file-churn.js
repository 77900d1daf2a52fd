// A writer for the kill -9 tests: takes the token file's lock, reads the state, stores it
// again (unless the mode is 'lock') and releases the lock, again and again, for at most
// the given milliseconds. It says "churning" first, so that the test kills it mid-loop.
//
//   node file-churn.js PATH [write|lock] [MS]
import { fileStorage } from '../../../js/file-storage.js';
import { lockPolicy } from './lock-policy.js';

const [path, mode = 'write', ms = '10000'] = process.argv.slice(2);
const storage = fileStorage(path);
const policy = lockPolicy(Number(ms));
const end = Date.now() + Number(ms);
process.stdout.write('churning\n');
while (Date.now() < end) {
  const release = await storage.lock({ policy });
  try {
    const state = await storage.get();
    if (state !== null && mode === 'write') await storage.set(state);
  } finally {
    await release();
  }
}
