// A minimal resource endpoint for the benchmarks: every request gets the same small JSON
// answer, but a POST to /oauth/token, which gets a token (a day long), so that a client can
// log in once and store it. It tells its parent its port over IPC.
import { createServer } from 'node:http';

const body = JSON.stringify({ Result: ['Customers', 'Orders', 'Products'] });
const token = JSON.stringify({ access_token: 'bench-token', token_type: 'bearer', expires_in: 86399, refresh_token: 'bench-refresh' });
const server = createServer((req, res) => {
  req.resume();
  if (req.method === 'POST' && req.url === '/oauth/token') {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(token) });
    res.end(token);
    return;
  }
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.send(server.address().port));
process.on('disconnect', () => process.exit(0));
