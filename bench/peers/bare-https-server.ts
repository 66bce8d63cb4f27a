// A Node 24 HTTPS server that answers by itself: what any Node proxy does (TLS, HTTP
// parsing, writing the response) with nothing proxied, i.e. the ceiling for the gateway.
// Run as its own process: node bare-https-server.ts PORT CERT KEY
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { BODIES } from '../bodies.ts';

const [port, cert, key] = process.argv.slice(2);
const bodies = new Map<string, Buffer>([
  [BODIES.small.path, Buffer.alloc(BODIES.small.bytes, 'x')],
  [BODIES.large.path, randomBytes(BODIES.large.bytes)],
]);

const server = https.createServer({ cert: readFileSync(cert), key: readFileSync(key), noDelay: true, keepAliveTimeout: 65_000 }, (req, res) => {
  const body = bodies.get(req.url ?? '');
  if (!body) {
    res.writeHead(404, { 'content-length': '0' }).end();
    return;
  }
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(body.length) });
  res.end(body);
});
server.listen(Number(port), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
