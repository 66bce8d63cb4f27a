import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JUPYTER } from '../support/jupyter.ts';
import { docker, startStack, type InstanceView, type Stack } from '../support/stack.ts';
import { until } from '../support/tcp.ts';

/*
 * Issue 15: a Jupyter console showed the agent's own probes as refused requests
 * (`[W … NotebookApp] Forbidden`, `403 GET /api/status`): the readiness probe sent no token. Both
 * probes now carry Jupyter's token, as the gateway does. A real Jupyter (wharf/jupyter:local)
 * launched by a real agent, with samples (and so activity probes) every half second.
 */

describe('jupyter: the agent\'s probes are not refused', () => {
  let stack: Stack;
  let app: InstanceView;

  beforeAll(async () => {
    expect((await docker('image', 'inspect', JUPYTER)).code, `${JUPYTER} is missing: images/build.sh jupyter`).toBe(0);
    stack = await startStack({ agentEnv: { WHARF_SAMPLE_INTERVAL_S: '0.5', WHARF_READINESS_TIMEOUT_S: '120' } });
    app = await stack.launch({ app: 'jupyter', image: JUPYTER, name: 'quiet' });
    await stack.waitFor(app.id, 'active', 120_000);
  }, 180_000);
  afterAll(async () => {
    await stack?.stop();
  });

  it('Jupyter logs no 403 for the readiness and activity probes; its own start-up lines are in the console', async () => {
    // A sample of the app on the agent's /metrics: the activity probe of that sample (GET
    // /api/status and /api/kernels) has been answered.
    const run = JSON.parse(readFileSync(join(stack.home, 'run', `agent-${stack.agentId}.json`), 'utf8')) as { metrics: string };
    const sampled = async () => (await (await fetch(`http://${run.metrics}/metrics`)).text()).includes(`wharf_agent_app_memory_bytes{instance="${app.id}"}`);
    await until('the agent sampled the app', sampled, 30_000, 100);
    const logs = await docker('logs', `wharf-${app.id}`);
    expect(logs.code).toBe(0);
    const jupyterLog = logs.stdout + logs.stderr;
    expect(jupyterLog).toMatch(/Jupyter Notebook [\d.]+ is running at/);
    expect(jupyterLog).not.toMatch(/\b403 GET\b|Forbidden/);

    const lines = (await stack.api('GET', `/api/v1/instances/${app.id}/console?limit=1000`)).json.lines as { stream: string; text: string }[];
    // Jupyter writes its log to stderr: the console keeps the stream as it came (the dashboard
    // shows it as output, console-log.ts), and none of it is a refused probe.
    expect(lines.some((l) => l.stream === 'stderr' && /is running at/.test(l.text))).toBe(true);
    expect(lines.filter((l) => /\b403 GET\b|Forbidden/.test(l.text))).toEqual([]);
  }, 90_000);
});
