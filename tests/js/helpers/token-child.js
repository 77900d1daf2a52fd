// A child process for the cross-process test: makes a client on a shared token file, says
// "ready", waits for "go" on stdin, gets a token and prints it as JSON.
import { createInterface } from 'node:readline';
import { createClient, fileStorage } from 'caspio-auth';

const [url, file] = process.argv.slice(2);
const client = await createClient({
  integrationUrl: url, clientId: 'sandbox-client', clientSecret: 'sandbox-secret', storage: fileStorage(file),
});
const lines = createInterface({ input: process.stdin });
process.stdout.write('ready\n');
for await (const line of lines) {
  if (line === 'go') break;
}
const token = await client.token();
process.stdout.write(JSON.stringify({ accessToken: token.accessToken, logins: token.logins, stats: client.stats() }) + '\n');
client.close();
lines.close();
