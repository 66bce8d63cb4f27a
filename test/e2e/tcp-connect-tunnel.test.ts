import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { createSigner, jwks, type Signer } from '../support/tokens.ts';
import {
  connectTcp, drain, freePort, metric, randomPortBase, runCommand, spawnCollect, until, WHARF, writeRoutes, type Running,
} from '../support/tcp.ts';

// Issue "Raw TCP apps through the gateway": `wharf connect ID --port N --token T` opens
// 127.0.0.1:N and carries each connection over wss://localhost:PORT/_wharf/tunnel/ID with
// `Authorization: Bearer T`, for clients (redis-cli, psql, ssh) that can reach only HTTPS.
// Here a real redis-cli talks to a real redis-server through it.

/** Runs a command to completion (10 s at most). */
const run = (command: string, args: string[], input?: string | Buffer, env: NodeJS.ProcessEnv = process.env) => runCommand(command, args, env, input, 10_000);

const LISTENING = /^wharf connect: 127\.0\.0\.1:(\d+) → (\S+) through (https:\/\/\S+)$/m;

describe('wharf connect: TCP apps over the HTTPS port', () => {
  const base = randomPortBase();
  let gw: GatewayProcess;
  let signer: Signer;
  let redis: Running;
  let redisPort: number;
  let routesFile: string;
  const connects: Running[] = [];
  const cleanEnv = (): NodeJS.ProcessEnv => {
    const env: NodeJS.ProcessEnv = { ...process.env, WHARF_HOME: gw.home };
    delete env.WHARF_TOKEN;
    delete env.WHARF_GATEWAY_URL;
    return env;
  };

  /** Starts `wharf connect ARGS…` and waits for its listening line; returns the local port. */
  async function startConnect(args: string[], env: NodeJS.ProcessEnv = cleanEnv()): Promise<{ proc: Running; port: number; line: RegExpExecArray }> {
    const proc = spawnCollect(process.execPath, [WHARF, 'connect', ...args], env);
    connects.push(proc);
    await until('wharf connect listens', () => LISTENING.test(proc.stdout()) || proc.child.exitCode !== null, 10_000).catch(() => {});
    const line = LISTENING.exec(proc.stdout());
    if (!line) throw new Error(`wharf connect did not start (exit ${proc.child.exitCode}):\n${proc.stdout()}\n${proc.stderr()}`);
    return { proc, port: Number(line[1]), line };
  }
  const cli = (port: number, ...args: string[]) => run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args]);

  beforeAll(async () => {
    redisPort = await freePort();
    redis = spawnCollect('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
    await until('redis-server answers', async () => (await cli(redisPort, 'ping')).stdout.trim() === 'PONG', 10_000, 50);
    signer = await createSigner('tunnel-key');
    const dir = mkdtempSync(join(tmpdir(), 'wharf-tcp-connect-'));
    writeFileSync(join(dir, 'jwks.json'), jwks(signer));
    routesFile = join(dir, 'routes.json');
    writeRoutes(routesFile, [
      { id: 'cache', kind: 'tcp', target: `tcp://127.0.0.1:${redisPort}` },
      { id: 'spare', kind: 'tcp', target: `tcp://127.0.0.1:${redisPort}` },
    ]);
    gw = await startGateway({ args: ['--routes', routesFile, '--jwks', join(dir, 'jwks.json'), '--tcp-ports', `${base}-${base + 9}`, '--tcp-close-grace-ms', '500'] });
  });
  afterAll(async () => {
    await Promise.all(connects.map((c) => c.stop()));
    await gw?.stop();
    await redis?.stop();
  });

  it('carries a real redis-cli session to redis-server', async () => {
    const token = await signer.sign({ scope: ['cache'] });
    const local = await freePort();
    const { proc, port, line } = await startConnect(['cache', '--port', String(local), '--token', token]);
    expect(port).toBe(local);
    expect(line[0]).toBe(`wharf connect: 127.0.0.1:${local} → cache through https://localhost:${gw.httpsPort}`);
    expect(await cli(port, 'ping')).toMatchObject({ code: 0, stdout: 'PONG\n' });
    expect(await cli(port, 'set', 'k', 'v')).toMatchObject({ code: 0, stdout: 'OK\n' });
    expect(await cli(port, 'get', 'k')).toMatchObject({ code: 0, stdout: 'v\n' });
    // It really is the redis-server behind the route.
    expect((await cli(redisPort, 'get', 'k')).stdout).toBe('v\n');
    // A value larger than one WebSocket frame, both ways.
    const big = randomBytes(1536 * 1024).toString('hex');
    expect(await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), '-x', 'set', 'big'], big)).toMatchObject({ code: 0, stdout: 'OK\n' });
    expect((await cli(port, 'strlen', 'big')).stdout).toBe(`${big.length}\n`);
    const back = await cli(port, '--raw', 'get', 'big');
    expect(back.stdout.trimEnd()).toBe(big);
    expect(proc.stderr()).toBe('');
    expect(await metric(gw.adminPort, 'wharf_gateway_tcp_connections_total', { route: 'cache' })).toBeGreaterThanOrEqual(6);
    expect(await metric(gw.adminPort, 'wharf_gateway_bytes_total', { route: 'cache', direction: 'in' })).toBeGreaterThanOrEqual(big.length);
    expect(await metric(gw.adminPort, 'wharf_gateway_bytes_total', { route: 'cache', direction: 'out' })).toBeGreaterThanOrEqual(big.length);
  });

  it('takes the token from WHARF_TOKEN and the gateway and CA from flags', async () => {
    const token = await signer.sign({ scope: ['cache'] });
    const { port, line } = await startConnect(
      ['cache', '--port', '0', '--gateway', `https://localhost:${gw.httpsPort}`, '--ca', join(gw.home, 'certs', 'ca.pem')],
      { ...cleanEnv(), WHARF_TOKEN: token },
    );
    expect(line[3]).toBe(`https://localhost:${gw.httpsPort}`);
    expect(await cli(port, 'get', 'k')).toMatchObject({ code: 0, stdout: 'v\n' });
  });

  it('refuses to start without a token, with a one-line reason', async () => {
    const proc = spawnCollect(process.execPath, [WHARF, 'connect', 'cache', '--port', '0'], cleanEnv());
    connects.push(proc);
    const code = await proc.exited;
    expect(code).not.toBe(0);
    expect(proc.stdout()).not.toMatch(LISTENING);
    const lines = proc.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/token/i);
  });

  it('with a token for another instance, starts but the tunnel is refused with 403 and redis-cli gets nothing', async () => {
    const token = await signer.sign({ scope: ['other'] });
    const { proc, port } = await startConnect(['cache', '--port', '0', '--token', token]);
    const result = await cli(port, 'set', 'k2', 'stolen');
    expect(result.stdout).not.toContain('OK');
    await until('connect reports the refusal', () => proc.stderr().includes('refused'));
    expect(proc.stderr()).toContain('wharf connect: the gateway refused the tunnel: 403 GW_FORBIDDEN');
    expect((await cli(redisPort, 'exists', 'k2')).stdout).toBe('0\n');
    // connect keeps listening for the next connection.
    expect(proc.child.exitCode).toBeNull();
  });

  it('with a malformed token, the tunnel is refused with 401 GW_AUTH_INVALID', async () => {
    const { proc, port } = await startConnect(['cache', '--port', '0', '--token', 'not-a-jwt']);
    const local = await connectTcp(port);
    local.write('PING\r\n');
    const { data } = await drain(local);
    expect(data.length).toBe(0);
    await until('connect reports the refusal', () => proc.stderr().includes('refused'));
    expect(proc.stderr()).toContain('wharf connect: the gateway refused the tunnel: 401 GW_AUTH_INVALID');
  });

  it('with an expired token, the tunnel is refused with 401', async () => {
    const token = await signer.sign({ scope: ['cache'], exp: Math.floor(Date.now() / 1000) - 60 });
    const { proc, port } = await startConnect(['cache', '--port', '0', '--token', token]);
    const result = await cli(port, 'ping');
    expect(result.stdout).not.toContain('PONG');
    await until('connect reports the refusal', () => proc.stderr().includes('refused'));
    expect(proc.stderr()).toMatch(/wharf connect: the gateway refused the tunnel: 401 GW_AUTH_\w+/);
  });

  it('for an app that is not a TCP route, the tunnel is refused with 404', async () => {
    const token = await signer.sign({ scope: ['*'] });
    const { proc, port } = await startConnect(['nothere', '--port', '0', '--token', token]);
    const local = await connectTcp(port);
    const { data } = await drain(local);
    expect(data.length).toBe(0);
    await until('connect reports the refusal', () => proc.stderr().includes('refused'));
    expect(proc.stderr()).toContain('wharf connect: the gateway refused the tunnel: 404 GW_ROUTE_NOT_FOUND');
  });

  it('closes a live tunnelled connection when its route is removed, and refuses new ones', async () => {
    const token = await signer.sign({ scope: ['spare'] });
    const { proc, port } = await startConnect(['spare', '--port', '0', '--token', token]);
    const local = await connectTcp(port);
    const pong = new Promise<string>((resolve) => local.once('data', (c: Buffer) => resolve(c.toString())));
    local.write('PING\r\n');
    expect(await pong).toBe('+PONG\r\n');
    const closed = drain(local, 5_000);
    writeRoutes(routesFile, [{ id: 'cache', kind: 'tcp', target: `tcp://127.0.0.1:${redisPort}` }]);
    await closed;
    const again = await cli(port, 'ping');
    expect(again.stdout).not.toContain('PONG');
    await until('connect reports the refusal', () => proc.stderr().includes('404'));
    // The other route's tunnel is unaffected.
    const other = await startConnect(['cache', '--port', '0', '--token', await signer.sign({ scope: ['cache'] })]);
    expect((await cli(other.port, 'get', 'k')).stdout).toBe('v\n');
  });
});
