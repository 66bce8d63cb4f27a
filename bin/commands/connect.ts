import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createWebSocketStream, WebSocket } from 'ws';
import { wharfHome } from '../../protocol/home.ts';
import { parsers, UsageError } from '../../protocol/settings.ts';

export const connectHelp = `wharf connect ID [--port N] [--gateway URL] [--token T] [--ca FILE]

Opens 127.0.0.1:N (0 or none: any free port) and carries each connection to the TCP app ID
through the gateway's HTTPS port, over a WebSocket: for clients (psql, redis-cli, ssh) that
can reach only HTTPS.
  --gateway URL   the gateway (env WHARF_GATEWAY_URL; default: the local one, from WHARF_HOME/run/gateway.json)
  --token T       a token whose scope names ID (env WHARF_TOKEN)
  --ca FILE       CA to trust for the gateway (default: WHARF_HOME/certs/ca.pem when it exists)`;

function localGateway(home: string): string | undefined {
  const file = join(home, 'run', 'gateway.json');
  if (!existsSync(file)) return undefined;
  const https = (JSON.parse(readFileSync(file, 'utf8')) as { https?: string }).https;
  return https ? `https://localhost:${https.slice(https.lastIndexOf(':') + 1)}` : undefined;
}

export async function runConnect(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { port: { type: 'string' }, gateway: { type: 'string' }, token: { type: 'string' }, ca: { type: 'string' } } });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  const [id, ...extra] = positionals;
  if (!id) throw new UsageError('connect needs the ID of a TCP app: wharf connect ID --port N');
  if (extra.length) throw new UsageError(`unexpected argument "${extra[0]}"`);
  if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(id)) throw new UsageError(`"${id}" is not an app ID`);
  let port: number;
  try {
    port = parsers.port(values.port ?? '0');
  } catch (err) {
    throw new UsageError(`--port: ${(err as Error).message}`);
  }
  const home = wharfHome();
  const gateway = values.gateway ?? process.env.WHARF_GATEWAY_URL ?? localGateway(home);
  if (!gateway) throw new UsageError('no gateway: pass --gateway https://HOST:PORT (or set WHARF_GATEWAY_URL)');
  let base: URL;
  try {
    base = new URL(gateway);
  } catch {
    throw new UsageError(`--gateway: "${gateway}" is not a URL`);
  }
  if (base.protocol !== 'https:') throw new UsageError('--gateway: must be an https:// URL');
  const token = values.token ?? process.env.WHARF_TOKEN;
  if (!token) throw new UsageError('no token: pass --token T (or set WHARF_TOKEN) with a token whose scope names the app');
  const caFile = values.ca ?? (existsSync(join(home, 'certs', 'ca.pem')) ? join(home, 'certs', 'ca.pem') : undefined);
  const ca = caFile ? readFileSync(caFile) : undefined;
  const url = new URL(`/_wharf/tunnel/${id}`, base);
  url.protocol = 'wss:';

  const server = net.createServer((local) => {
    local.pause();
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` }, ca, perMessageDeflate: false, maxPayload: 1 << 20 });
    ws.once('unexpected-response', (_req, res) => {
      console.error(`wharf connect: the gateway refused the tunnel: ${res.statusCode} ${res.headers['x-wharf-error'] ?? ''}`.trim());
      res.resume();
      local.destroy();
    });
    ws.once('error', (err) => {
      console.error(`wharf connect: ${err.message}`);
      local.destroy();
    });
    ws.once('open', () => {
      const remote = createWebSocketStream(ws);
      remote.on('error', () => local.destroy());
      local.on('error', () => ws.terminate());
      local.on('close', () => ws.close());
      ws.once('close', () => local.destroy());
      local.pipe(remote);
      remote.pipe(local);
      local.resume();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const bound = (server.address() as net.AddressInfo).port;
  console.log(`wharf connect: 127.0.0.1:${bound} → ${id} through ${base.origin}`);
  const stop = () => server.close(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
