import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activityTarget, jupyterActivityAt, parseJupyterTime, probeActivity, probeHostOf } from './activity-probe.ts';

/*
 * Real answers of wharf/jupyter:local (Jupyter Notebook 6.4.12), captured with curl against
 * its published port: a fresh server, a kernel running `time.sleep(4)` (busy), and after it.
 */
const FRESH_STATUS = { connections: 0, kernels: 0, last_activity: '2026-11-22T20:07:46.296798Z', started: '2026-11-22T20:07:46.296798Z' };
const BUSY_KERNELS = [{ id: '43de1862-d3ab-44be-9bf2-822c2ffcbee3', name: 'python3', last_activity: '2026-11-22T20:07:59.302084Z', execution_state: 'busy', connections: 1 }];
const BUSY_STATUS = { connections: 1, kernels: 1, last_activity: '2026-11-22T20:07:59.302084Z', started: '2026-11-22T20:07:46.296798Z' };
const IDLE_KERNELS = [{ id: '43de1862-d3ab-44be-9bf2-822c2ffcbee3', name: 'python3', last_activity: '2026-11-22T20:08:03.309560Z', execution_state: 'idle', connections: 0 }];
const IDLE_STATUS = { connections: 0, kernels: 1, last_activity: '2026-11-22T20:08:03.309560Z', started: '2026-11-22T20:07:46.296798Z' };

const NOW = Date.parse('2026-11-22T20:10:00Z');

describe('parseJupyterTime', () => {
  it('reads Jupyter\'s microsecond ISO times', () => {
    expect(parseJupyterTime('2026-11-22T20:07:46.296798Z')).toBe(Date.parse('2026-11-22T20:07:46.296Z'));
    expect(parseJupyterTime('2026-11-22T20:07:46.296798+00:00')).toBe(Date.parse('2026-11-22T20:07:46.296Z'));
    expect(parseJupyterTime('2026-11-22T20:07:46Z')).toBe(Date.parse('2026-11-22T20:07:46Z'));
    for (const bad of [undefined, null, 5, '', 'yesterday']) expect(parseJupyterTime(bad)).toBeUndefined();
  });
});

describe('jupyterActivityAt', () => {
  it('is the server\'s last activity on a fresh server', () => {
    expect(jupyterActivityAt(FRESH_STATUS, [], NOW)).toBe(Date.parse('2026-11-22T20:07:46.296Z'));
  });

  it('is now while a kernel is busy', () => {
    expect(jupyterActivityAt(BUSY_STATUS, BUSY_KERNELS, NOW)).toBe(NOW);
    // Even when /api/status did not answer.
    expect(jupyterActivityAt(undefined, BUSY_KERNELS, NOW)).toBe(NOW);
  });

  it('is the newest last activity once kernels are idle', () => {
    expect(jupyterActivityAt(IDLE_STATUS, IDLE_KERNELS, NOW)).toBe(Date.parse('2026-11-22T20:08:03.309Z'));
    expect(jupyterActivityAt(FRESH_STATUS, IDLE_KERNELS, NOW)).toBe(Date.parse('2026-11-22T20:08:03.309Z'));
  });

  it('never reports the future, and nothing for answers without times', () => {
    expect(jupyterActivityAt({ last_activity: '2030-01-01T00:00:00Z' }, [], NOW)).toBe(NOW);
    expect(jupyterActivityAt(undefined, undefined, NOW)).toBeUndefined();
    expect(jupyterActivityAt({ message: 'Forbidden' }, { message: 'Forbidden' }, NOW)).toBeUndefined();
    expect(jupyterActivityAt(null, [null, 3, { execution_state: 'idle' }], NOW)).toBeUndefined();
  });
});

describe('activityTarget and probeHostOf', () => {
  const spec = { activity: { kind: 'jupyter' as const, port: 8888, path: '/api/status', tokenEnv: 'JUPYTER_TOKEN' } };
  it('finds the published port of the probe\'s container port', () => {
    expect(activityTarget(spec, { NetworkSettings: { Ports: { '8888/tcp': [{ HostIp: '127.0.0.1', HostPort: '32927' }] } } })).toEqual({ host: '127.0.0.1', port: 32927 });
    expect(activityTarget(spec, { NetworkSettings: { Ports: { '8888/tcp': [{ HostIp: '0.0.0.0', HostPort: '40000' }] } } })).toEqual({ host: '127.0.0.1', port: 40000 });
    expect(activityTarget(spec, { HostConfig: { NetworkMode: 'host' } })).toEqual({ host: '127.0.0.1', port: 8888 });
    expect(activityTarget(spec, { NetworkSettings: { Ports: {} } })).toBeUndefined();
    expect(activityTarget({ activity: { kind: 'none' } }, { NetworkSettings: { Ports: { '8888/tcp': [{ HostPort: '1' }] } } })).toBeUndefined();
    expect(probeHostOf('::')).toBe('::1');
    expect(probeHostOf('10.0.0.5')).toBe('10.0.0.5');
  });
});

describe('probeActivity', () => {
  let server: Server;
  let port: number;
  const seen: { url: string; auth: string | undefined }[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push({ url: req.url!, auth: req.headers.authorization });
      if (req.headers.authorization !== 'token s3cret') {
        res.writeHead(403, { 'content-type': 'application/json' }).end('{"message": "Forbidden", "reason": null}');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(req.url!.startsWith('/api/kernels') ? BUSY_KERNELS : BUSY_STATUS));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const spec = (token?: string) => ({ activity: { kind: 'jupyter' as const, port: 8888, path: '/api/status', tokenEnv: 'JUPYTER_TOKEN' }, env: (token ? { JUPYTER_TOKEN: token } : {}) as Record<string, string> });

  it('asks /api/status and /api/kernels (untracked) with Jupyter\'s token', async () => {
    expect(await probeActivity(spec('s3cret'), '127.0.0.1', port, () => NOW)).toBe(NOW);
    expect(seen.map((s) => s.url).sort()).toEqual(['/api/kernels?no_track_activity=1', '/api/status']);
    expect(seen.every((s) => s.auth === 'token s3cret')).toBe(true);
  });

  it('reports nothing when refused, unreachable, or without a probe', async () => {
    expect(await probeActivity(spec('wrong'), '127.0.0.1', port)).toBeUndefined();
    expect(await probeActivity(spec(), '127.0.0.1', port)).toBeUndefined();
    expect(await probeActivity(spec('s3cret'), '127.0.0.1', 1)).toBeUndefined();
    expect(await probeActivity({ activity: { kind: 'none' }, env: {} }, '127.0.0.1', port)).toBeUndefined();
  });
});
