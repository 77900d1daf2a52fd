// A process of the cross-process test: makes a client of the sandbox at url on a
// redisStorage, says "ready", waits for "go" on stdin, gets a token and prints what it got as
// JSON: a digest of the access token (never the token), the state's logins and refreshes,
// and the storage events it saw.
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { createClient as createRedis } from 'redis';
import { createClient } from 'caspio-auth';
import { redisStorage } from 'caspio-auth/redis';

const [url, redisUrl, key] = process.argv.slice(2);
const rdb = createRedis({ url: redisUrl });
rdb.on('error', () => {});
await rdb.connect();
const seen = { storage_error: 0, state_discarded: 0 };
const client = await createClient({
  integrationUrl: url, clientId: 'sandbox-client', clientSecret: 'sandbox-secret', storage: redisStorage(rdb, key),
  onEvent: (e) => { if (e.type in seen) seen[e.type]++; },
});
const lines = createInterface({ input: process.stdin });
process.stdout.write('ready\n');
for await (const line of lines) {
  if (line === 'go') break;
}
const token = await client.token();
const digest = createHash('sha256').update(token.accessToken).digest('hex').slice(0, 16);
process.stdout.write(JSON.stringify({ token: digest, logins: token.logins, refreshes: token.refreshes, storage_errors: seen.storage_error, state_discarded: seen.state_discarded }) + '\n');
client.close();
lines.close();
await rdb.close();
