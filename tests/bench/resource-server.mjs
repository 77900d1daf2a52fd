// A minimal resource endpoint for the hot-path benchmark: every request gets the same small
// JSON answer. It tells its parent its port over IPC.
import { createServer } from 'node:http';

const body = JSON.stringify({ Result: ['Customers', 'Orders', 'Products'] });
const server = createServer((req, res) => {
  req.resume();
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.send(server.address().port));
process.on('disconnect', () => process.exit(0));
