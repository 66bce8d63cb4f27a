import { performance } from 'node:perf_hooks';
import { until } from '../../test/support/tcp.ts';
import { formatMs } from '../format.ts';
import { startAppStack } from '../support/app-stack.ts';
import type { BenchContext } from './context.ts';

/** What one launch case runs: the app, how many launches (full run; the smoke run does fewer), its image. */
export interface LaunchCase {
  name: string;
  image: 'busybox' | 'jupyter';
  config: Record<string, unknown>;
  samples: number;
}

/** Issue 5: the busybox https app, 20 launches. */
export const BUSYBOX_LAUNCH: LaunchCase = {
  name: 'busybox https app', image: 'busybox', samples: 20,
  config: {
    app: 'container', name: 'bench', queue: 'bench', image: 'wharf/busybox:local',
    command: "sh -c 'mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www'",
    routing: { mode: 'https', port: 8080 },
  },
};

/** Issue 7: the Jupyter app with no git, packages or init script, 10 launches; `active` is Jupyter answering. */
export const JUPYTER_LAUNCH: LaunchCase = {
  name: 'Jupyter app', image: 'jupyter', samples: 10,
  config: { app: 'jupyter', name: 'bench', queue: 'bench' },
};

/** Launches measured: the case's own count in the full run, 3 in the smoke run. */
export function launchSamples(durationS: number, c: LaunchCase = BUSYBOX_LAUNCH): number {
  return durationS >= 5 ? c.samples : 3;
}

export interface LaunchResult {
  samples: number;
  /** POST /api/v1/instances sent → the instance view says `active`, in ms. */
  p50: number;
  p95: number;
  max: number;
  /** The agent's own share, lease → endpoint reported ("ready in N ms" console line), in ms. */
  agentP50: number;
  /** Polling resolution of the clock, in ms. */
  pollMs: number;
  failures: number;
}

const POLL_MS = 5;
const LABEL = 'wharf.bench=launch';

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];

/**
 * Launch → active of one app case with its image present, in real processes: a
 * `wharf control`, a `wharf agent` on the local Docker Engine, and the bench as the user
 * over control's API. Each launch is stopped (and its container removed) before the next,
 * so every sample creates a fresh container.
 */
export async function runLaunch(ctx: Pick<BenchContext, 'durationS' | 'log' | 'work'>, c: LaunchCase = BUSYBOX_LAUNCH): Promise<LaunchResult> {
  const samples = launchSamples(ctx.durationS, c);
  const stack = await startAppStack({ home: ctx.work.sub(`launch-${c.image}-home`), queue: 'bench', label: LABEL, image: c.image, agentEnv: { WHARF_HEARTBEAT_S: '0.5' } });
  const { api } = stack;
  try {
    const config = c.config;
    const total: number[] = [];
    const agentMs: number[] = [];
    let failures = 0;
    for (let i = 0; i < samples + 1; i++) {
      const t0 = performance.now();
      const { id } = await api('POST', '/instances', config);
      let status = '';
      await until(`instance ${id} leaves queued/starting`, async () => {
        status = (await api('GET', `/instances/${id}`)).status;
        return status !== 'queued' && status !== 'starting';
      }, 60_000, POLL_MS);
      const ms = performance.now() - t0;
      await api('POST', `/instances/${id}/stop`);
      await until(`instance ${id} stops`, async () => (await api('GET', `/instances/${id}`)).status === 'stopped', 30_000, 50);
      if (status !== 'active') failures++;
      // The first launch warms the agent's and control's code paths: not a sample.
      else if (i > 0) {
        total.push(ms);
        const { lines } = await api('GET', `/instances/${id}/console`) as { lines: { text: string }[] };
        const m = lines.map((l) => /^ready in (\d+) ms/.exec(l.text)).find(Boolean);
        if (m) agentMs.push(Number(m[1]));
      }
    }
    total.sort((a, b) => a - b);
    agentMs.sort((a, b) => a - b);
    const result: LaunchResult = {
      samples: total.length, p50: quantile(total, 0.5), p95: quantile(total, 0.95), max: total.at(-1)!,
      agentP50: agentMs.length ? quantile(agentMs, 0.5) : NaN, pollMs: POLL_MS, failures,
    };
    ctx.log(`  launch → active, ${c.name}, image present: p50 ${formatMs(result.p50)} p95 ${formatMs(result.p95)} max ${formatMs(result.max)} over ${result.samples} (agent lease → ready p50 ${formatMs(result.agentP50)}; ${failures} failed)`);
    return result;
  } finally {
    await stack.stop();
  }
}
