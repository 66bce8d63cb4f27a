// Helpers shared by the tcp-*.test.ts end-to-end files: TCP upstreams, clients, routes files,
// Prometheus scraping and the `wharf` CLI as a process.
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { plainGet } from './https-client.ts';

export const WHARF = new URL('../../bin/wharf.ts', import.meta.url).pathname;

/**
 * A base port for a file's fixed ports (base … base + 19), random in 30000–32739 so that
 * concurrent runs rarely collide, and below Linux's ephemeral range (32768–60999), where
 * ports bound to 0 and outgoing connections would.
 */
export function randomPortBase(): number {
  return 30_000 + Math.floor(Math.random() * 2_740);
}

/** A port nothing listens on right now (bound to 0, then released). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

export async function until(what: string, check: () => Promise<boolean> | boolean, ms = 5_000, every = 25): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(every);
  }
}

/** Replaces a routes file in one step (write + rename), as careful tools do. */
export function writeRoutes(file: string, routes: object[]): void {
  const tmp = join(dirname(file), `.routes.${Math.random().toString(36).slice(2)}.tmp`);
  writeFileSync(tmp, JSON.stringify({ routes }));
  renameSync(tmp, file);
}

export interface TcpUpstream {
  port: number;
  target: string;
  /** Connections accepted so far. */
  connections: number;
  /** Bytes received from all connections. */
  received: number;
  /** Live server-side sockets. */
  sockets: Set<net.Socket>;
  server: net.Server;
  close(): Promise<void>;
}

/**
 * A real TCP server on 127.0.0.1:0 (half-open allowed). The default handler echoes every byte
 * back and ends when the client ends.
 */
export async function startTcpUpstream(handler?: (socket: net.Socket) => void): Promise<TcpUpstream> {
  const sockets = new Set<net.Socket>();
  const up: TcpUpstream = {
    port: 0,
    target: '',
    connections: 0,
    received: 0,
    sockets,
    server: net.createServer({ allowHalfOpen: true }, (socket) => {
      up.connections++;
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => socket.destroy());
      socket.on('data', (c: Buffer) => (up.received += c.length));
      if (handler) handler(socket);
      else socket.pipe(socket);
    }),
    close: () => new Promise((r) => {
      for (const s of sockets) s.destroy();
      up.server.close(() => r());
    }),
  };
  await new Promise<void>((r) => up.server.listen(0, '127.0.0.1', r));
  up.port = (up.server.address() as AddressInfo).port;
  up.target = `tcp://127.0.0.1:${up.port}`;
  return up;
}

/** Connects to 127.0.0.1:port; rejects on refusal. */
export function connectTcp(port: number, options: { allowHalfOpen?: boolean } = {}): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: options.allowHalfOpen ?? false });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** True when a connection to 127.0.0.1:port is refused outright (nothing listening). */
export async function refuses(port: number): Promise<boolean> {
  try {
    const s = await connectTcp(port);
    s.destroy();
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ECONNREFUSED';
  }
}

/** What a stream sent until it closed: its bytes, and whether it ended cleanly or with an error. */
export interface Drained {
  data: Buffer;
  error?: Error;
}

/** Collects everything `socket` receives from now until it closes (or `ms` pass: rejects); at once if it is already closed. */
export function drain(socket: net.Socket, ms = 5_000): Promise<Drained> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let error: Error | undefined;
    const t = setTimeout(() => reject(new Error(`the connection was not closed within ${ms} ms (got ${Buffer.concat(chunks).length} bytes)`)), ms);
    if (socket.closed) {
      clearTimeout(t);
      resolve({ data: Buffer.alloc(0) });
      return;
    }
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (err) => (error = err));
    socket.once('close', () => {
      clearTimeout(t);
      resolve({ data: Buffer.concat(chunks), error });
    });
  });
}

/** Writes `data` and waits until exactly that many bytes came back (an echo). */
export function echo(socket: net.Socket, data: Buffer | string, ms = 5_000): Promise<Buffer> {
  const want = Buffer.from(data);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const done = (err?: Error) => {
      clearTimeout(t);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('error', onError);
      if (err) reject(err);
      else resolve(Buffer.concat(chunks));
    };
    const t = setTimeout(() => done(new Error(`no full echo within ${ms} ms (${got} of ${want.length} bytes)`)), ms);
    const onData = (c: Buffer) => {
      chunks.push(c);
      got += c.length;
      if (got >= want.length) done();
    };
    const onClose = () => done(new Error(`the connection closed after ${got} of ${want.length} echoed bytes`));
    const onError = (err: Error) => done(err);
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.once('error', onError);
    socket.write(want);
  });
}

/** The value of one sample on the admin port's /metrics, or undefined when it is not there. */
export async function metric(adminPort: number, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const body = (await plainGet(adminPort, '/metrics')).body;
  for (const line of body.split('\n')) {
    if (line.startsWith('#') || !line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const have: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) have[k] = v;
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

/** The admin port's GET /routes. */
export async function adminRoutes(adminPort: number): Promise<{ routes: Record<string, unknown>[]; errors: unknown[] }> {
  return JSON.parse((await plainGet(adminPort, '/routes')).body);
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion with `input` on its stdin (killed after `timeoutMs`). */
export function runCommand(command: string, args: string[], env: NodeJS.ProcessEnv = process.env, input?: string | Buffer, timeoutMs?: number): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['pipe', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.on('error', () => {}); // a command that exits before reading all of its input
    child.stdin.end(input);
  });
}

/** Runs `wharf ARGS…` to completion. */
export function runWharf(args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<CliResult> {
  return runCommand(process.execPath, [WHARF, ...args], env, input);
}

/** Parses KEY=VALUE lines, as `wharf agents add` and `wharf gateways add` print them. */
export function envLines(text: string): Record<string, string> {
  return Object.fromEntries(text.trim().split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

/** A long-running child process with its output collected. */
export interface Running {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

export function spawnCollect(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Running {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.on('data', (c) => (err += c));
  // 'exit' can come before the last output is read: wait for 'close' (both pipes read to
  // their end), but not for long, as a grandchild holding the pipes open keeps them from closing.
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code, signal) => {
    const result = code ?? (signal ? -1 : null);
    const timer = setTimeout(() => resolve(result), 1_000);
    child.once('close', () => { clearTimeout(timer); resolve(result); });
  }));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const code = await Promise.race([exited, sleep(5_000).then(() => 'timeout' as const)]);
      if (code === 'timeout') {
        child.kill('SIGKILL');
        return exited;
      }
      return code;
    },
  };
}

/** SHA-256 fingerprint of a PEM certificate, in the `AA:BB:…` form of tls getPeerCertificate(). */
export function fingerprint256(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}
