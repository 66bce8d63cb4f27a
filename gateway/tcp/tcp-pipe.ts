import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { RouteStats } from '../metrics/route-stats.ts';

export interface TcpPipeOptions {
  connectTimeoutMs: number;
  /** Close a connection with no byte either way for this long; 0: never. */
  idleTimeoutMs: number;
  stats: RouteStats;
  log: Logger;
  route: string;
}

/** `tcp://host:port` → net.connect options. */
export function tcpTarget(target: string): { host: string; port: number } {
  const url = new URL(target);
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port) };
}

/**
 * Carries one client connection to the route's upstream: bytes are piped both ways with
 * backpressure and never looked at; an end from one side is passed on while the other
 * direction keeps flowing (half-close); an error or reset on either side destroys both.
 * `initial` holds bytes already read from the client (a peeked TLS ClientHello).
 * Returns a function that closes the pair.
 */
export function pipeTcp(client: Duplex, target: string, o: TcpPipeOptions, initial?: Buffer): () => void {
  const stats = o.stats;
  const started = performance.now();
  stats.tcpConnections++;
  stats.open.tcp++;
  stats.lastActivity = Date.now();
  const upstream = net.connect({ ...tcpTarget(target), allowHalfOpen: true, noDelay: true });
  let connected = false;
  const destroyBoth = () => {
    client.destroy();
    upstream.destroy();
  };
  // Counted once, when both sides have closed, however they got there.
  let closed = 0;
  const onClose = (hadError?: boolean) => {
    if (hadError) destroyBoth();
    if (++closed < 2) return;
    stats.open.tcp--;
    stats.recordTcp((performance.now() - started) / 1000);
  };
  client.once('close', onClose);
  upstream.once('close', onClose);
  upstream.setTimeout(o.connectTimeoutMs, () => upstream.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })));
  upstream.once('connect', () => {
    connected = true;
    upstream.setTimeout(o.idleTimeoutMs, () => {
      o.log.debug({ route: o.route }, 'tcp connection idle; closed');
      destroyBoth();
    });
  });
  upstream.on('error', (err: Error & { code?: string }) => {
    if (!connected) {
      stats.tcpConnectErrors++;
      o.log.warn({ route: o.route, code: err.code, err: err.message }, 'tcp upstream not reachable');
    }
    destroyBoth();
  });
  client.on('error', destroyBoth);
  upstream.on('data', (chunk: Buffer) => {
    stats.bytesOut += chunk.length;
    stats.lastActivity = Date.now();
  });
  client.on('data', (chunk: Buffer) => {
    stats.bytesIn += chunk.length;
    stats.lastActivity = Date.now();
  });
  if (initial?.length) {
    stats.bytesIn += initial.length;
    upstream.write(initial);
  }
  // pipe() ends the destination when the source ends: that is the half-close, passed on,
  // while the other direction keeps flowing until its own end.
  client.pipe(upstream);
  upstream.pipe(client);
  return destroyBoth;
}
