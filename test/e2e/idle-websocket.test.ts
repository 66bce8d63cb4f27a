import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { exec, startStack, type InstanceView, type Stack } from '../support/stack.ts';
import { until } from '../support/tcp.ts';
import { WS_ECHO_SOURCE } from '../support/ws-echo-source.ts';

/*
 * Issue 6, "Done when": "a WebSocket app (on `wharf/node:local`) with traffic above
 * `idle.networkMBps` stays active". Real `wharf control` (idle window 3 s), gateway and
 * `wharf agent` (samples every second) on the real Docker Engine. Two identical apps run a
 * small WebSocket echo server on wharf/node:local with idle.maxHours 0.005 (18 s) and
 * idle.networkMBps 0.005 (5 kB/s). One gets ~20 kB/s of messages each way through the
 * gateway (wss, Bearer token) and stays `active` for well past 18 s, its echoes coming back
 * all along; its twin gets none and is stopped at its limit with "idle limit reached".
 */

// A WebSocket echo server in plain Node (test/support/ws-echo-source.ts). Plain HTTP requests
// (the agent's readiness probe) get "ws echo".
const SERVER = String.raw`
const http = require('node:http');
const crypto = require('node:crypto');
${WS_ECHO_SOURCE}
const server = http.createServer((req, res) => res.end('ws echo\n'));
server.on('upgrade', wsEcho);
server.listen(8080, () => console.log('ws echo on 8080'));
`;

const IDLE = { maxHours: 0.005, networkMBps: 0.005, cpuPercent: 50 };
const LIMIT_MS = 18_000;
const WATCH_MS = 30_000;
/** Traffic has been flowing this long when the busy app's idleSeconds must be 0. */
const WARM_UP_MS = 8_000;

type View = InstanceView & { idleSeconds: number | null; idleWarning: { stopsAt: string; secondsLeft: number } | null };

describe('idle shutdown spares a WebSocket app with traffic', () => {
  let stack: Stack;
  let busy: View;
  let twin: View;
  let twinActiveAt = 0;
  let ws: WebSocket | undefined;
  let pump: NodeJS.Timeout | undefined;
  const traffic = { sent: 0, echoed: 0, echoedBytes: 0, mismatched: 0, lastEchoAt: 0, closed: null as null | string };

  beforeAll(async () => {
    const built = await exec(new URL('../../images/build.sh', import.meta.url).pathname, ['node'], 300_000);
    if (built.code !== 0) throw new Error(`images/build.sh node failed (${built.code}):\n${built.stdout}${built.stderr}`);
    stack = await startStack({ controlArgs: ['--idle-window', '3'], agentEnv: { WHARF_SAMPLE_INTERVAL_S: '1' } });
    const config = {
      image: 'wharf/node:local', command: 'node /app/ws.js', routing: { mode: 'https', port: 8080 }, idle: IDLE,
      files: [{ path: '/app/ws.js', content: SERVER, mode: '0644' }],
    };
    [busy, twin] = await Promise.all([stack.launch({ name: 'ws-busy', ...config }), stack.launch({ name: 'ws-twin', ...config })]) as View[];
    await Promise.all([
      stack.waitFor(busy.id, 'active', 60_000),
      stack.waitFor(twin.id, 'active', 60_000).then(() => { twinActiveAt = Date.now(); }),
    ]);

    // wss://<id>.apps.localhost:<port>/ through the gateway: 127.0.0.1 with Host and SNI, the stack's CA, a Bearer token.
    const host = `${busy.id}.apps.localhost`;
    const token = await stack.token(busy.id);
    const open = () => new Promise<WebSocket>((resolve, reject) => {
      const s = new WebSocket(`wss://127.0.0.1:${stack.gateway.httpsPort}/`, {
        headers: { host, authorization: `Bearer ${token}` }, servername: host, ca: stack.gateway.ca,
      } as WebSocket.ClientOptions);
      s.once('open', () => resolve(s));
      s.once('error', reject);
      s.once('unexpected-response', (_req, res) => { s.terminate(); reject(new Error(`upgrade answered ${res.statusCode}`)); });
    });
    // The route reaches the gateway shortly after `active`.
    await until('the gateway upgrades a WebSocket to the busy app', async () => {
      try {
        ws = await open();
        return true;
      } catch {
        return false;
      }
    }, 15_000, 200);
    const socket = ws!;
    socket.on('message', (data, binary) => {
      const text = binary ? '' : String(data);
      if (!/^\d+:x+$/.test(text) || text.length !== 100) traffic.mismatched++;
      traffic.echoed++;
      traffic.echoedBytes += text.length;
      traffic.lastEchoAt = Date.now();
    });
    socket.on('close', (code) => { traffic.closed = `closed ${code}`; });
    socket.on('error', (err) => { traffic.closed = `error ${err.message}`; });
    // A 100-byte message every 5 ms: ~20 kB/s each way, four times idle.networkMBps (5 kB/s).
    pump = setInterval(() => {
      if (socket.readyState !== WebSocket.OPEN) return;
      const head = `${traffic.sent++}:`;
      socket.send(head.padEnd(100, 'x'));
    }, 5);
  }, 120_000);

  afterAll(async () => {
    if (pump) clearInterval(pump);
    ws?.terminate();
    await stack?.stop();
  });

  const view = async (id: string) => (await stack.api('GET', `/api/v1/instances/${id}`)).json as View;

  it('keeps the app with WebSocket traffic active past its limit, and stops its quiet twin at the limit', async () => {
    const start = Date.now();
    const echoedAtStart = traffic.echoedBytes;

    // The twin: idle, then stopped by the idle monitor near its 18 s limit.
    const twinSeen: { at: number; view: View }[] = [];
    const twinStopped = until('the quiet twin is stopped by the idle monitor', async () => {
      const v = await view(twin.id);
      twinSeen.push({ at: Date.now(), view: v });
      return ['stopping', 'stopped', 'failed'].includes(v.status);
    }, LIMIT_MS + 20_000, 250);

    // The busy app: polled through the whole period, the first non-active view fails the test.
    let polls = 0;
    let maxIdle = 0;
    while (Date.now() - start < WATCH_MS) {
      const v = await view(busy.id);
      polls++;
      expect(v.status, `${v.name} after ${Math.round((Date.now() - start) / 1000)} s: ${v.statusReason}`).toBe('active');
      maxIdle = Math.max(maxIdle, v.idleSeconds ?? 0);
      // Control sees traffic a sample or a gateway delta late, so the quiet spell before the
      // WebSocket opened may still count a second or two at first; with traffic flowing it
      // never grows, and once the samples have caught up it stays at 0.
      expect(v.idleSeconds ?? 0, 'idleSeconds of the busy app').toBeLessThan(5);
      if (Date.now() - start > WARM_UP_MS) {
        expect(v.idleSeconds ?? 0, `idleSeconds of the busy app after ${Math.round((Date.now() - start) / 1000)} s`).toBe(0);
        expect(v.idleWarning, 'no idle warning for the busy app').toBeNull();
      }
      expect(traffic.closed, 'the WebSocket stays open').toBeNull();
      await new Promise((r) => setTimeout(r, 250));
    }
    const seconds = (Date.now() - start) / 1000;
    expect(polls).toBeGreaterThan(40);

    // Echoes came back all along, intact, well above the threshold (ws text frames, one direction counted).
    expect(traffic.mismatched).toBe(0);
    expect(Date.now() - traffic.lastEchoAt).toBeLessThan(1_000);
    expect(traffic.sent - traffic.echoed).toBeLessThan(200);
    const rate = (traffic.echoedBytes - echoedAtStart) / seconds;
    expect(rate).toBeGreaterThan(IDLE.networkMBps * 1e6 * 2);

    // By now the busy app has been active for longer than its limit and never stopped,
    // while the twin, launched with it, went idle and was stopped at its limit.
    await twinStopped;
    const statuses = twinSeen.map((s) => s.view.status);
    expect(statuses).toContain('idle');
    const stopped = twinSeen.find((s) => ['stopping', 'stopped', 'failed'].includes(s.view.status))!;
    expect(stopped.view.status, stopped.view.statusReason ?? '').not.toBe('failed');
    expect(stopped.view.statusReason).toBe('idle limit reached');
    // Exact: the warning (the default lead, 10 min, exceeds the 18 s limit: it shows as soon as
    // the quiet period starts) names quietSince + 18 s; the stop comes not before it, and soon after.
    const warned = twinSeen.find((s) => s.view.idleWarning !== null);
    expect(warned, 'the twin shows an idle warning before the stop').toBeDefined();
    expect(twinSeen.indexOf(warned!)).toBeLessThan(twinSeen.indexOf(stopped));
    const stopsAt = Date.parse(warned!.view.idleWarning!.stopsAt);
    expect(stopped.at).toBeGreaterThanOrEqual(stopsAt);
    expect(stopped.at).toBeLessThan(stopsAt + 5_000);
    // Its quiet period starts no earlier than its start: never stopped before 18 s of life.
    expect(stopped.at - twinActiveAt).toBeGreaterThanOrEqual(LIMIT_MS - 1_000);
    expect(stopped.at - twinActiveAt).toBeLessThan(LIMIT_MS + 10_000);
    const counts = twinSeen.map((s) => s.view.idleSeconds).filter((n): n is number => n !== null && n > 0);
    expect(Math.max(...counts)).toBeLessThanOrEqual(LIMIT_MS / 1000);
    const final = await stack.waitFor(twin.id, 'stopped', 30_000);
    expect(final.statusReason).toBe('idle limit reached');

    // And the busy one is still active after all that, its WebSocket still open, and its
    // console never says it reached the limit.
    expect((await view(busy.id)).status).toBe('active');
    expect(ws!.readyState).toBe(WebSocket.OPEN);
    const logs = await stack.cli(['logs', busy.id]);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).not.toContain('idle limit reached');
    console.log(`busy: ${polls} polls over ${seconds.toFixed(1)} s, max idleSeconds ${maxIdle}, echoes ${(rate / 1000).toFixed(1)} kB/s; twin stopped ${((stopped.at - twinActiveAt) / 1000).toFixed(1)} s after active`);
  }, 90_000);
});
