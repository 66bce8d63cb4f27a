import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

export interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  remotePort: number;
  body: string;
}

export interface Upstream {
  port: number;
  url: string;
  /** Requests seen, in order, WebSocket handshakes included. */
  seen: SeenRequest[];
  /** Remote ports of every TCP connection the upstream accepted. */
  connections: number[];
  server: http.Server;
  close(): Promise<void>;
}

/**
 * A real HTTP server on 127.0.0.1:0 that answers every request with JSON describing what it
 * received, and echoes WebSocket messages (with the handshake's headers recorded too).
 * `handler` may take over a request (to be slow, cut off, and so on).
 */
export async function startUpstream(handler?: (req: http.IncomingMessage, res: http.ServerResponse, body: string) => boolean): Promise<Upstream> {
  const seen: SeenRequest[] = [];
  const connections: number[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, rawHeaders: req.rawHeaders, remotePort: req.socket.remotePort!, body });
      if (handler?.(req, res, body)) return;
      const reply = JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': 'yes' });
      res.end(reply);
    });
  });
  server.on('connection', (s) => connections.push(s.remotePort!));
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    seen.push({ method: req.method!, url: req.url!, headers: req.headers, rawHeaders: req.rawHeaders, remotePort: req.socket.remotePort!, body: '' });
    wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (data, binary) => ws.send(data, { binary })));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    seen,
    connections,
    server,
    close: () => new Promise((r) => {
      for (const c of wss.clients) c.terminate();
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}
