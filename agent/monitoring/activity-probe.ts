import { request } from 'node:http';
import type { ActivityProbe, LaunchSpec } from '../../protocol/launch-spec.ts';

/*
 * The app's own activity signal (DESIGN.md "One launch" step 5; issue 7): for a jupyter spec
 * the agent asks the Jupyter server, through the container's published port, for
 *
 *   GET /api/status                         {"started": …, "last_activity": "2024-…Z", "connections": 1, "kernels": 1}
 *   GET /api/kernels?no_track_activity=1    [{"id": …, "name": "python3", "last_activity": "…Z", "execution_state": "busy", "connections": 1}]
 *
 * (the Jupyter Server REST API, jupyter_server/services/api/api.yaml; the kernel model is
 * documented at https://jupyterlab.readthedocs.io/en/4.3.x/api/interfaces/services.Kernel.IModel.html),
 * with `Authorization: token <T>`, T being the spec's env[probe.tokenEnv]. `/api/status` does
 * not count as activity itself; `no_track_activity` keeps the kernels listing from counting.
 * The sample's `activityAt` is the newest of the server's and the kernels' last_activity, or
 * now while a kernel is busy (a long-running cell is use even when nobody looks at it).
 */

const TIMEOUT_MS = 3_000;
const MAX_BODY = 1024 * 1024;

/** Jupyter's ISO times (`2024-05-01T12:00:00.123456Z`, `+00:00` in older servers) in Unix ms; undefined when not a time. */
export function parseJupyterTime(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  // JavaScript's Date reads at most milliseconds: drop the microseconds.
  const ms = Date.parse(value.replace(/(\.\d{3})\d+/, '$1'));
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
}

/**
 * The app's last activity from the bodies of `/api/status` and `/api/kernels` (either may be
 * undefined when its request failed): the newest last_activity, or `now` when a kernel is busy.
 * Undefined when neither says anything usable.
 */
export function jupyterActivityAt(status: unknown, kernels: unknown, now: number): number | undefined {
  const times: number[] = [];
  const push = (t: number | undefined) => {
    if (t !== undefined) times.push(t);
  };
  if (status && typeof status === 'object') push(parseJupyterTime((status as { last_activity?: unknown }).last_activity));
  if (Array.isArray(kernels)) {
    for (const k of kernels) {
      if (!k || typeof k !== 'object') continue;
      const kernel = k as { last_activity?: unknown; execution_state?: unknown };
      push(parseJupyterTime(kernel.last_activity));
      if (kernel.execution_state === 'busy') times.push(now);
    }
  }
  if (!times.length) return undefined;
  // A clock ahead of ours must not claim activity in the future: that would keep it busy.
  return Math.round(Math.min(now, Math.max(...times)));
}

function getJson(host: string, port: number, path: string, headers: Record<string, string>): Promise<unknown> {
  return new Promise((resolve) => {
    const req = request({ host, port, path, method: 'GET', timeout: TIMEOUT_MS, headers: { ...headers, accept: 'application/json', 'user-agent': 'wharf-agent activity' } }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        resolve(undefined);
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY) req.destroy();
        else chunks.push(c);
      });
      res.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch {
          resolve(undefined);
        }
      });
      res.on('error', () => resolve(undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

/** The host address the agent reaches a port published on `hostIp` at. */
export function probeHostOf(hostIp: string | undefined): string {
  if (!hostIp || hostIp === '0.0.0.0') return '127.0.0.1';
  if (hostIp === '::') return '::1';
  return hostIp;
}

/**
 * Asks the app for its last activity through host:hostPort, per the spec's activity probe;
 * undefined for specs without one and when the app did not answer.
 */
export async function probeActivity(spec: Pick<LaunchSpec, 'activity' | 'env'>, host: string, hostPort: number, now: () => number = Date.now): Promise<number | undefined> {
  const probe: ActivityProbe = spec.activity;
  if (probe.kind !== 'jupyter') return undefined;
  const token = spec.env[probe.tokenEnv];
  const headers: Record<string, string> = token ? { authorization: `token ${token}` } : {};
  const [status, kernels] = await Promise.all([
    getJson(host, hostPort, probe.path, headers),
    getJson(host, hostPort, '/api/kernels?no_track_activity=1', headers),
  ]);
  return jupyterActivityAt(status, kernels, now());
}

/**
 * Where to probe a container's app, from its `inspect`: the published port of the probe's
 * container port (or the port itself with host networking); undefined without a probe.
 */
export function activityTarget(spec: Pick<LaunchSpec, 'activity'>, inspect: { NetworkSettings?: { Ports?: unknown }; HostConfig?: { NetworkMode?: string } }): { host: string; port: number } | undefined {
  const probe = spec.activity;
  if (probe.kind !== 'jupyter') return undefined;
  if (inspect.HostConfig?.NetworkMode === 'host') return { host: '127.0.0.1', port: probe.port };
  const bindings = (inspect.NetworkSettings?.Ports as Record<string, { HostIp?: string; HostPort?: string }[] | null> | undefined)?.[`${probe.port}/tcp`];
  const port = Number(bindings?.[0]?.HostPort);
  return Number.isInteger(port) && port > 0 ? { host: probeHostOf(bindings?.[0]?.HostIp), port } : undefined;
}
