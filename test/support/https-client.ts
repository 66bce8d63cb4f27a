import https from 'node:https';
import http from 'node:http';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface RequestOptions {
  /** Host header and TLS server name (Node does not resolve *.apps.localhost, so we connect to 127.0.0.1). */
  host: string;
  /** TLS server name when it must differ from the Host header. */
  servername?: string;
  path?: string;
  method?: string;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
  ca: string;
  agent?: https.Agent | false;
  /** Client certificate, for mutual TLS. */
  cert?: string;
  key?: string;
}

/** One HTTPS request to the gateway on 127.0.0.1:port, with Host and SNI set to `host`. */
export function request(port: number, o: RequestOptions): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1',
      port,
      method: o.method ?? 'GET',
      path: o.path ?? '/',
      servername: o.servername ?? o.host.split(':')[0],
      headers: { host: o.host, ...o.headers },
      ca: o.ca,
      cert: o.cert,
      key: o.key,
      agent: o.agent ?? false,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

/** A plain-HTTP GET to 127.0.0.1:port (admin port, redirect entrypoint). */
export function plainGet(port: number, path: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    }).on('error', reject);
  });
}
