import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspect, startStack, type Stack } from '../support/stack.ts';
import { until } from '../support/tcp.ts';

/*
 * Issue 5, "Done when", the agent's own lifecycle (DESIGN.md "Agent lifecycle") with real
 * control, gateway and agent processes on the real Docker Engine: an agent SIGKILLed and
 * started again adopts its running app (still reachable, still `active`); SIGTERM ends the
 * agent and leaves apps running; `wharf agents drain` then stops them once the agent runs
 * again, and it takes no new job.
 */

const httpd = (text: string) => `sh -c 'mkdir -p /www && echo ${text} > /www/index.html && exec httpd -f -p 8080 -h /www'`;

describe('the agent\'s lifecycle: restart adopts, SIGTERM leaves apps running, drain stops them', () => {
  let stack: Stack;
  let id: string;
  let token: string;
  const served = async () => {
    try {
      const r = await stack.appGet(id, token);
      return r.status === 200 && r.body === 'kept\n';
    } catch {
      return false;
    }
  };

  beforeAll(async () => {
    stack = await startStack();
    id = (await stack.launch({ routing: { mode: 'https', port: 8080 }, command: httpd('kept') })).id;
    await stack.waitFor(id, 'active');
    token = await stack.token(id);
    await until('the gateway serves the app', served, 10_000, 100);
  }, 90_000);
  afterAll(async () => {
    await stack?.stop();
  });

  it('an agent SIGKILLed and started again keeps its running app reachable and active', async () => {
    const before = await inspect(`wharf-${id}`);
    expect(await stack.stopAgent('SIGKILL')).toBe(-1);
    // The app does not depend on the agent process.
    expect(await served()).toBe(true);
    await stack.startAgent();
    // Several heartbeats and an adoption later: the same container, the same status, still served.
    await until('the restarted agent adopted the app', async () => /adopting the running container/.test((await stack.cli(['logs', id])).stdout), 10_000, 250);
    await sleep(1_500);
    const after = await inspect(`wharf-${id}`);
    expect(after.Id).toBe(before.Id);
    expect(after.State.Running).toBe(true);
    expect(after.State.StartedAt).toBe(before.State.StartedAt);
    const view = await stack.show(id);
    expect(view.status).toBe('active');
    expect(view.agent).toBe(before.Config.Labels['wharf.agent']);
    expect(await served()).toBe(true);
  });

  it('SIGTERM ends the agent and leaves its app running and reachable', async () => {
    expect(await stack.stopAgent('SIGTERM')).toBe(0);
    expect((await inspect(`wharf-${id}`)).State.Running).toBe(true);
    expect(await served()).toBe(true);
    expect((await stack.show(id)).status).toBe('active');
  });

  it('wharf agents drain stops the agent\'s apps once it runs again, and it takes no new job', async () => {
    const drained = await stack.cli(['agents', 'drain', 'a1']);
    expect(drained.code, drained.stderr).toBe(0);
    expect(drained.stdout).toMatch(/drains/);
    expect((await stack.show(id)).status).toBe('stopping');
    // Launched after the drain: no agent may take it.
    const waiting = (await stack.launch({ routing: { mode: 'https', port: 8080 }, command: httpd('late') })).id;
    await stack.startAgent();
    const view = await stack.waitFor(id, 'stopped', 20_000);
    expect(view.statusReason).toMatch(/drain/);
    expect(await inspect(`wharf-${id}`)).toBeUndefined();
    await until('the gateway drops the route', async () => (await stack.appGet(id, token)).status === 404, 10_000, 100);
    await sleep(1_500); // three heartbeats: a lease would have been taken by now
    expect((await stack.show(waiting)).status).toBe('queued');
    expect((await stack.containers()).has(`wharf-${waiting}`)).toBe(false);
    const ls = await stack.cli(['agents', 'ls', '--json']);
    expect(JSON.parse(ls.stdout)).toMatchObject([{ name: 'a1', drain: true }]);
  });
});
