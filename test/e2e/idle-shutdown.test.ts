import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type InstanceView, type Stack } from '../support/stack.ts';
import { connectTcp, until } from '../support/tcp.ts';

/*
 * Issue 6, "Idle detection", end to end: real `wharf control` (idle window 3 s, warning 10 s
 * ahead), gateway and `wharf agent` (samples every second) on the real Docker Engine, each app
 * with idle.maxHours 0.005 (18 s). An idle `sleep` turns idle, its idleSeconds grow, the warning
 * shows in the instance view and `wharf logs`, and control stops it at its limit with "idle limit
 * reached" (the agent takes the snapshot and stops it). A busy CPU loop is never stopped, and
 * neither is a TCP echo app whose traffic through the gateway stays over idle.networkMBps.
 */

const IDLE = { maxHours: 0.005, networkMBps: 0.05, cpuPercent: 5, gpuPercent: 5 };
const LIMIT_MS = 18_000;

interface Seen { at: number; view: InstanceView & { idleSeconds: number | null; idleWarning: { stopsAt: string; secondsLeft: number } | null } }

describe('idle shutdown', () => {
  let stack: Stack;
  let busy: InstanceView;
  let idle: InstanceView;
  let echo: InstanceView;
  let socket: Socket | undefined;
  let pump: NodeJS.Timeout | undefined;

  beforeAll(async () => {
    stack = await startStack({ controlArgs: ['--idle-window', '3', '--idle-warning', '10'], agentEnv: { WHARF_SAMPLE_INTERVAL_S: '1' } });
    busy = await stack.launch({ name: 'busy', routing: { mode: 'none' }, command: "sh -c 'while :; do :; done'", containerArgs: '--cpus 0.5', idle: IDLE });
    echo = await stack.launch({ name: 'echo', routing: { mode: 'tcp', port: 9000 }, command: 'nc -ll -p 9000 -e cat', idle: IDLE });
    await stack.waitFor(busy.id, 'active', 60_000);
    echo = await stack.waitFor(echo.id, 'active', 60_000);
    // About 200 kB/s each way through the gateway's TCP route: over 0.05 MB/s.
    const port = Number(echo.links.tcp!.split(':').at(-1));
    await until('the gateway has the TCP route', async () => {
      try {
        socket = await connectTcp(port);
        return true;
      } catch {
        return false;
      }
    }, 15_000, 200);
    socket!.on('data', () => undefined);
    socket!.on('error', () => undefined);
    const chunk = Buffer.alloc(20_000, 'x');
    pump = setInterval(() => socket!.write(chunk), 100);
    // Launched last, so that the others have been watched for longer than its limit when it stops.
    idle = await stack.launch({ name: 'idle', routing: { mode: 'none' }, command: 'sleep 600', idle: IDLE });
    await stack.waitFor(idle.id, 'active', 60_000);
  }, 180_000);
  afterAll(async () => {
    if (pump) clearInterval(pump);
    socket?.destroy();
    await stack?.stop();
  });

  const view = async (id: string) => (await stack.api('GET', `/api/v1/instances/${id}`)).json as Seen['view'];

  it('stops the idle app at its limit after the warning, never the busy ones', async () => {
    const seen: Seen[] = [];
    const others: Seen['view'][] = [];
    await until('the idle app is stopped by the idle monitor', async () => {
      const v = await view(idle.id);
      seen.push({ at: Date.now(), view: v });
      others.push(await view(busy.id), await view(echo.id));
      return v.status === 'stopping' || v.status === 'stopped' || v.status === 'failed';
    }, 60_000, 250);

    const statuses = seen.map((s) => s.view.status);
    expect(statuses).toContain('idle');
    // idleSeconds counts up while it is quiet.
    const counts = seen.map((s) => s.view.idleSeconds).filter((n): n is number => n !== null && n > 0);
    expect(counts.length).toBeGreaterThan(5);
    expect(counts.at(-1)!).toBeGreaterThan(counts[0]);
    for (let i = 1; i < counts.length; i++) expect(counts[i]).toBeGreaterThanOrEqual(counts[i - 1]);
    // The warning came before the stop, in the view and the status reason.
    const warned = seen.findIndex((s) => s.view.idleWarning !== null);
    const stopped = seen.findIndex((s) => ['stopping', 'stopped'].includes(s.view.status));
    expect(warned).toBeGreaterThanOrEqual(0);
    expect(warned).toBeLessThan(stopped);
    const stopsAt = Date.parse(seen[warned].view.idleWarning!.stopsAt);
    expect(seen[warned].view.statusReason).toBe(`idle: stops at ${seen[warned].view.idleWarning!.stopsAt}`);
    // Exact: not before quietSince + 18 s, and soon after it (1 s ticks, 250 ms polls).
    expect(seen[stopped].at).toBeGreaterThanOrEqual(stopsAt);
    expect(seen[stopped].at).toBeLessThan(stopsAt + 4_000);
    expect(Math.max(...counts)).toBeLessThanOrEqual(LIMIT_MS / 1000);
    expect(seen[stopped].view.status === 'stopped' || seen[stopped].view.statusReason === 'idle limit reached').toBe(true);
    // The agent snapshots and stops it.
    await stack.waitFor(idle.id, 'stopped', 30_000);

    // The console, as `wharf logs` prints it.
    const logs = await stack.cli(['logs', idle.id]);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toContain('[wharf] idle since');
    expect(logs.stdout).toContain('[wharf] idle warning');
    expect(logs.stdout).toContain('[wharf] idle limit reached: idle for 18 s (limit 18 s)');
    expect(logs.stdout.indexOf('[wharf] idle warning')).toBeLessThan(logs.stdout.indexOf('[wharf] idle limit reached'));

    // The CPU loop and the echo app with traffic: never idle, never stopped.
    for (const o of others) {
      expect(o.status).toBe('active');
      expect(o.idleSeconds ?? 0).toBeLessThan(3);
    }
  }, 120_000);

  it('keeps the busy apps running past their limit', async () => {
    // Both have been up for longer than 18 s by now; watch them for as long again.
    const end = Date.now() + LIMIT_MS + 2_000;
    while (Date.now() < end) {
      for (const id of [busy.id, echo.id]) {
        const v = await view(id);
        expect(v.status, `${v.name}: ${v.statusReason}`).toBe('active');
        expect(v.idleSeconds ?? 0).toBeLessThan(3);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    expect((await stack.cli(['logs', busy.id])).stdout).not.toContain('idle limit reached');
  }, 60_000);
});
