import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Child } from './children.ts';

/** A port free on 127.0.0.1 now, for peers that must be told their port in a config file. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface Probe {
  url: string;
  /** Host header and TLS server name (Node does not resolve *.apps.localhost). */
  host?: string;
  ca?: string;
  headers?: Record<string, string>;
}

/** One GET to 127.0.0.1; resolves with the status, whatever it is. */
export function probe(p: Probe): Promise<number> {
  const url = new URL(p.url);
  const tls = url.protocol === 'https:';
  return new Promise((resolve, reject) => {
    const req = (tls ? https : http).request({
      host: '127.0.0.1',
      port: url.port,
      path: url.pathname + url.search,
      headers: { ...p.headers, ...(p.host ? { host: p.host } : {}) },
      agent: false,
      timeout: 2_000,
      ...(tls ? { ca: p.ca, servername: p.host ?? 'localhost' } : {}),
    }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('timeout', () => req.destroy(new Error('probe timed out')));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Waits until a peer answers over HTTP(S) at all: any status proves it listens and speaks
 * the protocol; the cases themselves check that the answers are right.
 */
export async function waitUntilServing(child: Child | undefined, p: Probe, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    if (child && (child.process.exitCode !== null || child.process.signalCode !== null)) {
      throw new Error(`${child.name} exited before serving (${child.process.exitCode ?? child.process.signalCode}):\n${child.output()}`);
    }
    try {
      await probe(p);
      return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`${child?.name ?? p.url} did not answer on ${p.url} within ${timeoutMs} ms (${(last as Error)?.message})${child ? `:\n${child.output()}` : ''}`);
    }
    await sleep(50);
  }
}

/** A plain-HTTP GET on a fresh connection (no keep-alive to go stale between two reads). */
export function getText(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
  });
}

/** Fails early, with the status, when an endpoint does not serve: better than a table full of errors. */
export async function expectOk(p: Probe): Promise<void> {
  const status = await probe(p);
  if (status !== 200) throw new Error(`${p.url} (Host ${p.host ?? '-'}) answered ${status}; expected 200`);
}

/** Resolves when a TCP connection to 127.0.0.1:port is accepted (and closes it again). */
export function tcpConnects(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.setTimeout(2_000, () => s.destroy(new Error('connect timed out')));
    s.once('connect', () => {
      s.destroy();
      resolve();
    });
    s.once('error', reject);
  });
}

/** Waits until a peer accepts TCP connections on a port: for peers that speak no HTTP. */
export async function waitUntilListening(child: Child, port: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    if (child.process.exitCode !== null || child.process.signalCode !== null) {
      throw new Error(`${child.name} exited before listening (${child.process.exitCode ?? child.process.signalCode}):\n${child.output()}`);
    }
    try {
      await tcpConnects(port);
      return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${child.name} did not listen on port ${port} within ${timeoutMs} ms (${(last as Error)?.message}):\n${child.output()}`);
    await sleep(50);
  }
}
