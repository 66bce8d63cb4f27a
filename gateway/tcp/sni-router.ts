import net from 'node:net';
import tls, { type SecureContext } from 'node:tls';
import type { Logger } from 'pino';
import type { TcpRoute } from '../../protocol/route.ts';
import type { TlsMaterial } from '../entrypoints/tls-material.ts';
import { TLS_PROFILE } from '../entrypoints/tls-profile.ts';
import type { LiveRoutes, LiveTcpRoute } from '../routing/live-routes.ts';
import type { HostMatcher } from '../routing/route-table.ts';
import { Allowlist } from './allowlist.ts';
import { admit, type ConnectionCaps } from './connection-caps.ts';
import { MAX_HELLO_BYTES, readServerName } from './client-hello.ts';
import type { TcpConnections } from './tcp-connections.ts';
import { pipeTcp } from './tcp-pipe.ts';

export interface SniRouterOptions {
  /** Gets every connection that is not for a TLS TCP route. */
  https: net.Server;
  live: LiveRoutes;
  hosts: HostMatcher;
  tls: TlsMaterial;
  /** The CA whose client certificates `clientCert: true` routes accept (PEM). */
  clientCa: string;
  connections: TcpConnections;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  handshakeTimeoutMs: number;
  /** The caps on client connections, in total and per address. */
  caps: ConnectionCaps;
  log: Logger;
}

/**
 * The HTTPS port's front door. While the table holds TCP routes with `tls: terminate` or
 * `passthrough`, it reads the ClientHello's server name first (without consuming it): a name
 * `<route>.<appsDomain>` of such a route is carried to that route, TLS terminated here or
 * passed through untouched; every other connection goes on to the HTTPS entrypoint as if it
 * had arrived there. With no such route, connections go straight on, unread.
 */
export function createSniRouter(o: SniRouterOptions): net.Server {
  const contexts = new Map<string, SecureContext>();
  const allowlists = new WeakMap<TcpRoute, Allowlist>();
  let tlsRoutes = { version: -1, any: false };
  const hasTlsRoutes = () => {
    const table = o.live.table;
    if (tlsRoutes.version !== table.version) {
      tlsRoutes = { version: table.version, any: [...table.values()].some((l) => l.route.kind === 'tcp' && l.route.tls !== 'none') };
    }
    return tlsRoutes.any;
  };

  const server = net.createServer({ pauseOnConnect: true }, (socket) => {
    admit(o.caps, socket.remoteAddress ?? '', socket, () => accept(socket), () => socket.destroy());
  });

  function accept(socket: net.Socket): void {
    if (!hasTlsRoutes()) {
      o.https.emit('connection', socket);
      return;
    }
    peek(socket);
  }

  function peek(socket: net.Socket): void {
    let buf: Buffer = Buffer.alloc(0);
    socket.setTimeout(o.handshakeTimeoutMs, () => socket.destroy());
    socket.on('error', () => socket.destroy());
    const onData = (chunk: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      const hello = readServerName(buf);
      if (hello.kind === 'need-more' && buf.length < MAX_HELLO_BYTES) return;
      socket.off('data', onData);
      socket.pause();
      socket.setTimeout(0);
      const id = hello.kind === 'sni' ? o.hosts.routeId(hello.servername) : undefined;
      const live = id === undefined ? undefined : o.live.table.get(id);
      if (hello.kind === 'sni' && live?.route.kind === 'tcp' && live.route.tls !== 'none') {
        routeTcp(socket, live as LiveTcpRoute, hello.servername, buf);
      } else {
        socket.unshift(buf);
        o.https.emit('connection', socket);
      }
    };
    socket.on('data', onData);
    socket.resume();
  }

  function routeTcp(socket: net.Socket, live: LiveTcpRoute, servername: string, hello: Buffer): void {
    const { route, record } = live;
    let allow = allowlists.get(route);
    if (!allow) allowlists.set(route, (allow = new Allowlist(route.allow)));
    if (route.status !== 'active' || !allow.allows(socket.remoteAddress)) {
      socket.destroy();
      return;
    }
    const pipeOptions = { connectTimeoutMs: o.connectTimeoutMs, idleTimeoutMs: o.idleTimeoutMs, stats: record.stats, log: o.log, route: route.id };
    if (route.tls === 'passthrough') {
      o.connections.admit(route.id, socket, () => pipeTcp(socket, route.target, pipeOptions, hello), () => socket.destroy());
      return;
    }
    socket.unshift(hello);
    const secure = new tls.TLSSocket(socket, {
      isServer: true,
      secureContext: context(servername, route.clientCert),
      requestCert: route.clientCert,
      rejectUnauthorized: route.clientCert,
    });
    secure.setTimeout(o.handshakeTimeoutMs, () => secure.destroy());
    secure.on('error', (err) => {
      o.log.debug({ route: route.id, err: err.message }, 'tls for a tcp route failed');
      secure.destroy();
    });
    secure.once('secure', () => {
      secure.setTimeout(0);
      // A TLSSocket made by hand checks only that a certificate came, not who signed it
      // (tls.Server does that part): a certificate must chain to Wharf's CA.
      const verifyError = route.clientCert ? (secure as tls.TLSSocket & { ssl?: { verifyError(): Error | null } }).ssl?.verifyError() : null;
      if (verifyError) {
        o.log.debug({ route: route.id, err: verifyError.message }, 'client certificate refused');
        secure.destroy();
        return;
      }
      o.connections.admit(route.id, secure, () => pipeTcp(secure, route.target, pipeOptions), () => secure.destroy());
    });
  }

  /** The served certificate for `servername`, plus Wharf's CA when client certificates are required. */
  function context(servername: string, clientCert: boolean): SecureContext {
    const key = `${clientCert ? 'mtls' : 'tls'}:${servername}`;
    let ctx = contexts.get(key);
    if (!ctx) {
      ctx = tls.createSecureContext({ ...TLS_PROFILE, ...o.tls.pairFor(servername), ...(clientCert ? { ca: o.clientCa } : {}) });
      contexts.set(key, ctx);
    }
    return ctx;
  }

  return server;
}
