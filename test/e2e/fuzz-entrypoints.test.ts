import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlProcess } from '../support/control-process.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { FLAG, FRAME, frame, headerBlock, rawH2 } from '../support/h2-frames.ts';
import { envLines, runWharf, type Running } from '../support/tcp.ts';

/*
 * Hostile input (issue 19), the short form for `npm test`: random bytes and mutated requests
 * at the real processes' entrypoints, a `wharf gateway` fed by a `wharf control`: its HTTPS
 * port (raw TCP, TLS, HTTP/1.1, HTTP/2) and control's API. Every input gets an answer or a
 * close, no answer carries a stack trace, and both processes are alive and serving at the end.
 * A fixed seed, so that a failure is found again; the soak runs more.
 */
const RUNS = Number(process.env.WHARF_FUZZ_RUNS ?? 150);
const SEED = Number(process.env.WHARF_FUZZ_SEED ?? 20261207);
const STACK = /\n\s+at [^\n]+:\d+:\d+/;

describe('the entrypoints under random and mutated input', () => {
  let home: string;
  let control: Running | undefined;
  let gw: GatewayProcess | undefined;
  let url: string;
  let token: string;
  const answers: string[] = [];

  /** Writes `bytes` on a fresh connection and collects what comes back until the close (or a second of silence). */
  const exchange = (socket: net.Socket, bytes: Buffer): Promise<string> => new Promise((resolve) => {
    let got = '';
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(got);
    };
    // What the gateway answers comes at once; a connection it keeps waiting on more bytes is left.
    let timer = setTimeout(done, 300);
    socket.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      clearTimeout(timer);
      timer = setTimeout(done, 150);
    });
    socket.on('error', done);
    socket.on('close', done);
    socket.write(bytes);
  });
  const overTcp = (bytes: Buffer) => exchange(net.connect({ host: '127.0.0.1', port: gw!.httpsPort }), bytes);
  const overTls = (bytes: Buffer, servername = 'localhost', ALPNProtocols = ['http/1.1']) => new Promise<string>((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port: gw!.httpsPort, servername, ca: gw!.ca, ALPNProtocols }, () => resolve(exchange(socket, bytes)));
    socket.once('error', () => resolve(''));
  });
  const alive = async () => {
    expect(control!.child.exitCode, control!.stderr()).toBeNull();
    expect(gw!.child.exitCode, gw!.output()).toBeNull();
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  };

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'wharf-fuzz-'));
    const env = { ...process.env, WHARF_HOME: home, WHARF_URL: '', WHARF_TOKEN: '' };
    control = await startControlProcess(env, ['--public-url', 'https://localhost:8443/']);
    url = (JSON.parse(readFileSync(join(home, 'run', 'control.json'), 'utf8')) as { url: string }).url;
    token = readFileSync(join(home, 'admin.token'), 'utf8').trim();
    const added = await runWharf(['gateways', 'add', 'g1'], env);
    expect(added.code, added.stderr).toBe(0);
    gw = await startGateway({ env: envLines(added.stdout) });
  }, 60_000);

  afterAll(async () => {
    await gw?.stop();
    await control?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
    for (const a of answers) expect(a).not.toMatch(STACK);
  });

  it('answers or closes random bytes on the HTTPS port, in clear and inside TLS', async () => {
    const samples = fc.sample(fc.uint8Array({ minLength: 1, maxLength: 600 }), { numRuns: RUNS, seed: SEED });
    for (let i = 0; i < samples.length; i += 10) {
      answers.push(...await Promise.all(samples.slice(i, i + 10).flatMap((bytes) => [overTcp(Buffer.from(bytes)), overTls(Buffer.from(bytes))])));
    }
    await alive();
  }, 120_000);

  it('answers "GET / HTTP/2.0" on an HTTP/1.1 connection with 400 (this run found that it killed the gateway)', async () => {
    const answer = await overTls(Buffer.from('GET / HTTP/2.0\r\nHost: localhost\r\n\r\n'));
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).toContain('GW_BAD_REQUEST');
    await alive();
  });

  it('answers mutated HTTP/1.1 requests without a stack trace', async () => {
    const token = fc.string({ unit: 'binary-ascii', maxLength: 40 });
    const request = fc.record({
      method: fc.oneof(fc.constantFrom('GET', 'POST', 'HEAD', 'OPTIONS', 'CONNECT', 'TRACE', 'PRI'), token),
      target: fc.oneof(fc.constantFrom('/', '*', 'http://evil.example/', '/app/x/', '/api/v1/instances', '/%00', '//x', '/?wharf_token=a.b.c'), token),
      version: fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/9', ''),
      host: fc.oneof(fc.constantFrom('localhost', 'x.apps.localhost', '[::1]', 'localhost:99999', ''), token),
      headers: fc.array(fc.tuple(fc.oneof(fc.constantFrom('Content-Length', 'Transfer-Encoding', 'Cookie', 'Authorization', 'Upgrade', 'Connection', 'Sec-WebSocket-Key', 'Expect'), token), token), { maxLength: 6 }),
      body: token,
    }).map((r) => Buffer.from(`${r.method} ${r.target} ${r.version}\r\nHost: ${r.host}\r\n${r.headers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n${r.body}`, 'latin1'));
    for (const bytes of fc.sample(request, { numRuns: RUNS * 2, seed: SEED })) answers.push(await overTls(bytes));
    await alive();
  }, 120_000);

  it('answers mutated HTTP/2 frames without a stack trace', async () => {
    const field = fc.string({ unit: 'binary-ascii', maxLength: 30 });
    const frames = fc.record({
      headers: fc.array(fc.tuple(fc.oneof(fc.constantFrom(':method', ':path', ':authority', ':scheme', ':protocol', 'cookie', 'content-length', 'te', 'connection'), field), field), { maxLength: 8 }),
      type: fc.integer({ min: 0, max: 12 }),
      flags: fc.integer({ min: 0, max: 255 }),
      stream: fc.integer({ min: 0, max: 9 }),
      payload: fc.uint8Array({ maxLength: 64 }),
    });
    const send = async (f: (typeof samples)[number]) => {
      const h2 = await rawH2(gw!.httpsPort, 'localhost', gw!.ca);
      const text: string[] = [];
      h2.socket.on('data', (d: Buffer) => text.push(d.toString('latin1')));
      h2.socket.write(frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 1, headerBlock(f.headers)));
      h2.socket.write(frame(f.type, f.flags, f.stream, Buffer.from(f.payload)));
      await Promise.race([h2.closed, new Promise((r) => setTimeout(r, 200))]);
      h2.socket.destroy();
      return text.join('');
    };
    const samples = fc.sample(frames, { numRuns: RUNS, seed: SEED });
    for (let i = 0; i < samples.length; i += 10) answers.push(...await Promise.all(samples.slice(i, i + 10).map(send)));
    await alive();
  }, 120_000);

  it('answers random paths, queries and bodies on control\'s API with JSON errors, never a 500 or a stack trace', async () => {
    const segment = fc.oneof(fc.constantFrom('api', 'v1', 'instances', 'users', 'projects', 'audit', 'agents', 'tokens', 'auth', 'me', 'members', 'shares', 'config', 'token', 'clone', '..', '%2e%2e', '%00'), fc.webSegment());
    const call = fc.record({
      method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE'),
      path: fc.array(segment, { minLength: 1, maxLength: 5 }).map((s) => `/api/v1/${s.join('/')}`),
      query: fc.webQueryParameters(),
      body: fc.oneof(fc.json({ maxDepth: 3 }), fc.string({ maxLength: 80 })),
      type: fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', ''),
    });
    const served: string[] = [];
    for (const c of fc.sample(call, { numRuns: RUNS * 2, seed: SEED })) {
      const res = await fetch(`${url}${c.path}?${c.query}`, {
        method: c.method, headers: { authorization: `Bearer ${token}`, ...(c.type ? { 'content-type': c.type } : {}) },
        body: c.method === 'GET' || c.method === 'DELETE' ? undefined : c.body,
      });
      const text = await res.text();
      answers.push(text);
      if (res.status >= 500) served.push(`${c.method} ${c.path}: ${res.status} ${text.slice(0, 200)}`);
      if (res.status >= 400) expect(res.headers.get('content-type') ?? '', `${c.method} ${c.path}`).toMatch(/^application\/json/);
    }
    expect(served).toEqual([]);
    await alive();
  }, 120_000);
});
