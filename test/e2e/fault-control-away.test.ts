import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlProcess } from '../support/control-process.ts';
import { docker, startStack, type Stack } from '../support/stack.ts';
import { freePort, until } from '../support/tcp.ts';

/*
 * Faults (issue 19), the short form for `npm test`: control away for three times the agent
 * grace (2 s here) on the real Docker Engine, while the app prints 8,000 console lines. The
 * gateway keeps serving the app and the agent keeps it running; the agent keeps the newest
 * console lines up to its bound (4,000) and counts the rest as dropped; control, back on the
 * same address and store, finds the app active, and its console has the kept lines after a
 * note of how many were dropped. The resource samples taken meanwhile (one a second here) wait
 * in the agent too, and reach control when it is back.
 */
const GRACE_S = 2;
/** Three agent graces and a little; `npm run soak` sets WHARF_CONTROL_AWAY_S=300 (5 minutes). */
const AWAY_MS = process.env.WHARF_CONTROL_AWAY_S ? Number(process.env.WHARF_CONTROL_AWAY_S) * 1000 : 3 * GRACE_S * 1000 + 2_000;

describe('control away for three agent graces', () => {
  let stack: Stack;
  let port: number;

  beforeAll(async () => {
    port = await freePort();
    // A sample a second, so that several are taken while control is away.
    stack = await startStack({ controlArgs: ['--listen', `127.0.0.1:${port}`, '--agent-grace', String(GRACE_S)], agentEnv: { WHARF_SAMPLE_INTERVAL_S: '1' } });
  }, 90_000);
  afterAll(async () => {
    await stack?.stop();
  });

  it('leaves the app served and running, bounds the console kept meanwhile, and catches up when control returns', async () => {
    const view = await stack.launch({ name: 'chatty', command: "sh -c 'mkdir -p /www && echo up > /www/index.html && exec httpd -f -p 8080 -h /www'", routing: { mode: 'https', port: 8080 } });
    await stack.waitFor(view.id, 'active', 60_000);
    const token = await stack.token(view.id);
    await until('the gateway serves the app', async () => (await stack.appGet(view.id, token)).status === 200, 10_000);

    await stack.control.stop();
    // The app's own output (its PID 1's stdout), while control is away.
    const printed = await docker('exec', `wharf-${view.id}`, 'sh', '-c', 'seq 1 8000 | sed "s/^/line /" > /proc/1/fd/1');
    expect(printed.code, printed.stderr).toBe(0);
    const deadline = Date.now() + AWAY_MS;
    let served = 0;
    let refused = 0;
    while (Date.now() < deadline) {
      // The gateway checks the token with the keys it holds, and routes from its last snapshot.
      if ((await stack.appGet(view.id, token)).status === 200) served++;
      else refused++;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(refused).toBe(0);
    expect(served).toBeGreaterThan(10);
    expect(stack.agent!.child.exitCode).toBeNull();
    // The resource samples taken meanwhile wait in the agent (until its bound).
    const agentMetrics = /metrics (http:\/\/\S+\/metrics)/.exec(stack.agentOutput())![1];
    const metric = async (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(await (await fetch(agentMetrics)).text())?.[1]);
    expect(await metric('wharf_agent_samples_waiting')).toBeGreaterThanOrEqual(3);

    stack.control = await startControlProcess(stack.env(), ['--listen', `127.0.0.1:${port}`, '--tcp-ports', `${stack.tcpBase}-${stack.tcpBase + 19}`, '--idle-window', '86400', '--agent-grace', String(GRACE_S)]);
    // The agent's next heartbeat brings it back before its instances could be failed.
    const back = await stack.waitFor(view.id, 'active', 20_000);
    expect(back.statusReason).toBeNull();
    // …and reach control once it is back: none waits, none was dropped.
    await until('the waiting samples are sent', async () => (await metric('wharf_agent_samples_waiting')) === 0, 30_000, 250);
    expect(await metric('wharf_agent_samples_dropped_total')).toBe(0);
    const note = '[wharf: 4000 console lines dropped: control did not keep up]';
    let texts: string[] = [];
    await until('the kept lines reach control', async () => {
      texts = ((await stack.api('GET', `/api/v1/instances/${view.id}/console?limit=10000`)).json.lines as { text: string }[]).map((l) => l.text);
      return texts.includes('line 8000');
    }, 20_000);
    const at = texts.indexOf(note);
    expect(at, texts.slice(-5).join('\n')).toBeGreaterThanOrEqual(0);
    expect(texts.slice(at + 1, at + 4_001)).toEqual(Array.from({ length: 4_000 }, (_, i) => `line ${4_001 + i}`));
    expect((await stack.appGet(view.id, token)).status).toBe(200);
  }, AWAY_MS + 110_000);
});
