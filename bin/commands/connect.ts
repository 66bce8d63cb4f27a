import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';
import { legacyTunnelStream, speaksHalfClose, TunnelClosedError, TUNNEL_VERSION, TUNNEL_VERSION_HEADER, tunnelStream } from '../../gateway/tcp/tunnel-stream.ts';
import { wharfHome } from '../../protocol/home.ts';
import { parsers, UsageError } from '../../protocol/settings.ts';
import { ControlClient } from './control-client.ts';

export const connectHelp = `wharf connect ID [--port N] [--gateway URL] [--token T] [--ca FILE]

Opens 127.0.0.1:N (0 or none: any free port) and carries each connection to the TCP app ID
through the gateway's HTTPS port, over a WebSocket: for clients (psql, redis-cli, ssh) that
can reach only HTTPS. A client that ends its sending side (\`echo hi | nc 127.0.0.1 N\`) still
gets the app's reply: ends are passed on both ways. ID must be a TCP app (routing.mode "tcp");
through control, an HTTPS app is refused before anything listens (open it with \`wharf open ID\`).

With control reachable (WHARF_URL and WHARF_TOKEN, an API token, as for every command), that
is all it needs: control gives the gateway's address, a token for ID and the local CA.
Without control:
  --gateway URL   the gateway (env WHARF_GATEWAY_URL; default: the local one, from WHARF_HOME/run/gateway.json)
  --token T       a gateway token whose scope names ID (\`wharf token ID\`; WHARF_TOKEN too, when it is one)
  --ca FILE       CA to trust for the gateway (default: WHARF_HOME/certs/ca.pem when it exists)`;

const JWT = /^eyJ[\w-]*\.[\w-]+\.[\w-]+$/;

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
  const localCa = existsSync(join(home, 'certs', 'ca.pem')) ? join(home, 'certs', 'ca.pem') : undefined;
  let gateway = values.gateway ?? process.env.WHARF_GATEWAY_URL;
  // WHARF_TOKEN is either an API token (for control, as for every command) or, as before
  // control existed, a gateway token for the app itself: a JWT says which.
  const envToken = process.env.WHARF_TOKEN;
  let token = values.token ?? (envToken && JWT.test(envToken) ? envToken : undefined);
  let ca: string | Buffer | undefined = values.ca ? readFileSync(values.ca) : undefined;
  if (!token) {
    // Control knows the rest: the gateway's main host, a token scoped to ID, and the local CA.
    let control: ControlClient;
    try {
      control = new ControlClient();
    } catch (err) {
      throw new UsageError(`no token: pass --token T (a token whose scope names the app), or set WHARF_URL and WHARF_TOKEN so that control issues one (${(err as Error).message})`);
    }
    // Before listening: a client pointed at an HTTPS app would only ever get a refusal.
    const config = await control.call<{ routing?: { mode?: string } }>('GET', `/api/v1/instances/${encodeURIComponent(id)}/config`);
    const mode = config.routing?.mode;
    if (mode !== 'tcp') {
      throw new Error(mode === 'https'
        ? `${id} is an HTTPS app, not a TCP app: wharf connect carries TCP apps only (routing.mode "tcp"); open it with \`wharf open ${id}\``
        : `${id} is not a TCP app (routing.mode "${mode ?? 'none'}"): wharf connect carries TCP apps only (routing.mode "tcp")`);
    }
    const issued = await control.call<{ token: string; gateway: string }>('POST', `/api/v1/instances/${encodeURIComponent(id)}/token`, { purpose: 'connect' });
    token = issued.token;
    gateway ??= issued.gateway;
    if (!ca && !localCa) ca = await control.text('/api/v1/ca.pem').catch(() => undefined);
  }
  gateway ??= localGateway(home);
  if (!gateway) throw new UsageError('no gateway: pass --gateway https://HOST:PORT (or set WHARF_GATEWAY_URL)');
  let base: URL;
  try {
    base = new URL(gateway);
  } catch {
    throw new UsageError(`--gateway: "${gateway}" is not a URL`);
  }
  if (base.protocol !== 'https:') throw new UsageError('--gateway: must be an https:// URL');
  if (!ca && localCa) ca = readFileSync(localCa);
  const url = new URL(`/_wharf/tunnel/${id}`, base);
  url.protocol = 'wss:';

  // Half-open both ways: a client that ends its sending side (`echo hi | nc`) still gets the
  // reply, and an app that ends first still gets what the client sends after (tunnel-stream.ts).
  const server = net.createServer({ allowHalfOpen: true }, (local) => {
    local.pause();
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}`, [TUNNEL_VERSION_HEADER]: TUNNEL_VERSION }, ca, perMessageDeflate: false, maxPayload: 1 << 20 });
    // An older gateway does not answer the header: then the old format, without half-close.
    let halfClose = false;
    ws.once('upgrade', (res) => {
      halfClose = speaksHalfClose(res.headers);
    });
    ws.once('unexpected-response', (_req, res) => {
      console.error(`wharf connect: the gateway refused the tunnel: ${res.statusCode} ${res.headers['x-wharf-error'] ?? ''}`.trim());
      res.resume();
      local.destroy();
    });
    let remote: Duplex | undefined;
    let gaveUp = false;
    ws.once('error', (err) => {
      if (!gaveUp) console.error(`wharf connect: ${err.message}`);
      local.destroy();
    });
    // An error or reset on the client's side aborts the tunnel rather than ending it.
    local.on('error', (err) => {
      if (remote) remote.destroy(err);
      else local.destroy();
    });
    local.once('close', (hadError) => {
      // Closed normally after its end went into the tunnel: the tunnel sends what it still holds
      // and its end, then closes itself. Otherwise (a reset, or closed before its end) abort it.
      if (remote) {
        if (hadError || !remote.writableEnded) remote.destroy();
      }
      else if (ws.readyState === ws.CONNECTING) {
        // The client gave up before the tunnel opened.
        gaveUp = true;
        ws.terminate();
      }
    });
    ws.once('open', () => {
      remote = halfClose ? tunnelStream(ws) : legacyTunnelStream(ws);
      remote.on('error', (err) => {
        if (err instanceof TunnelClosedError && err.code === 1013) console.error('wharf connect: the gateway refused the tunnel: too many connections (1013)');
        local.destroy();
      });
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
