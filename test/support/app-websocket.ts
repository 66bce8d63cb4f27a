import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';

/**
 * Opens a WebSocket to the app on `host` (at `path`) through a gateway's HTTPS port with an app `cookie`;
 * resolves once open, rejects with the gateway's status and error code when refused. Each
 * socket is pushed to `opened`, for the test to terminate at the end.
 */
export function openAppSocket(gw: { httpsPort: number; ca: string | Buffer }, host: string, cookie: string, opened: WebSocket[], path = '/ws'): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`wss://127.0.0.1:${gw.httpsPort}${path}`, { headers: { host, cookie }, servername: host, ca: gw.ca, handshakeTimeout: 5_000 } as WebSocket.ClientOptions);
    opened.push(ws);
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res: IncomingMessage) => reject(new Error(`WebSocket refused: ${res.statusCode} ${res.headers['x-wharf-error']}`)));
    ws.once('error', reject);
  });
}

/** Sends `text` and resolves with the next message (the test upstream echoes). */
export function echoOnce(ws: WebSocket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    ws.once('message', (data) => resolve(data.toString()));
    ws.once('error', reject);
    ws.send(text);
  });
}
