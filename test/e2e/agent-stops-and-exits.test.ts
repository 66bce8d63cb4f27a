import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspect, startStack, type Stack } from '../support/stack.ts';
import { until } from '../support/tcp.ts';

/*
 * Issue 5, "Done when", how apps end, with real control, gateway and agent processes on the
 * real Docker Engine: `wharf stop` removes the container and the route; an app exiting 0 is
 * `stopped`, one exiting 3 is `failed` with its code and last lines, both containers kept
 * for inspection; a missing image and an app that never answers (short
 * WHARF_READINESS_TIMEOUT_S) end `failed` with a reason that says why.
 */

const HTTPD = "sh -c 'mkdir -p /www && echo served > /www/index.html && exec httpd -f -p 8080 -h /www'";

describe('the agent stops apps, and reports apps that exit or fail', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ agentEnv: { WHARF_READINESS_TIMEOUT_S: '3' } });
  }, 90_000);
  afterAll(async () => {
    await stack?.stop();
  });

  it('wharf stop removes the container and the route', async () => {
    const { id } = await stack.launch({ routing: { mode: 'https', port: 8080 }, command: HTTPD });
    await stack.waitFor(id, 'active');
    const token = await stack.token(id);
    await until('the gateway serves the app', async () => (await stack.appGet(id, token)).status === 200, 10_000, 100);
    expect((await stack.appGet(id, token)).body).toBe('served\n');
    expect((await stack.containers()).get(`wharf-${id}`)).toBe('running');

    const stopped = await stack.cli(['stop', id]);
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(stopped.stdout.trim()).toMatch(new RegExp(`^${id} (stopping|stopped)$`));
    const view = await stack.waitFor(id, 'stopped', 15_000);
    expect(view.statusReason).toBeNull();
    // The container is gone (docker ps -a), and so is the route.
    expect(await inspect(`wharf-${id}`)).toBeUndefined();
    expect((await stack.containers()).has(`wharf-${id}`)).toBe(false);
    await until('the gateway drops the route', async () => [404, 503].includes((await stack.appGet(id, token)).status), 10_000, 100);
    const after = await stack.appGet(id, token);
    expect(after.status).toBe(404);
    expect(after.body).not.toBe('served\n');
  });

  it('an app exiting 0 is stopped; its container is kept, exited', async () => {
    const { id } = await stack.launch({ routing: { mode: 'none' }, command: "sh -c 'echo bye; exit 0'" });
    const view = await stack.waitFor(id, ['stopped', 'failed']);
    expect(view.status).toBe('stopped');
    const info = await inspect(`wharf-${id}`);
    expect(info?.State).toMatchObject({ Status: 'exited', ExitCode: 0 });
  });

  it('an app exiting 3 is failed with its code and last lines; its container is kept, exited', async () => {
    const { id } = await stack.launch({ routing: { mode: 'none' }, command: "sh -c 'echo line-one; echo line-two; exit 3'" });
    const view = await stack.waitFor(id, ['stopped', 'failed']);
    expect(view.status).toBe('failed');
    expect(view.statusReason).toMatch(/exited with code 3/);
    expect(view.statusReason).toMatch(/line-one.*line-two/);
    const info = await inspect(`wharf-${id}`);
    expect(info?.State).toMatchObject({ Status: 'exited', ExitCode: 3 });
    // `wharf logs` shows the app's own lines too.
    const logs = await stack.cli(['logs', id]);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toMatch(/line-one[\s\S]*line-two/);
  });

  it('a missing image fails the instance with a reason that names the image', async () => {
    const image = `wharf/no-such-image-${stack.testLabel}:local`;
    const { id } = await stack.launch({ image, routing: { mode: 'https', port: 8080 } });
    const view = await stack.waitFor(id, ['failed', 'active', 'stopped'], 30_000);
    expect(view.status).toBe('failed');
    expect(view.statusReason).toContain(image);
    expect(await inspect(`wharf-${id}`)).toBeUndefined();
  });

  it('an app that never answers on its port fails at the readiness timeout', async () => {
    const t0 = Date.now();
    const { id } = await stack.launch({ routing: { mode: 'https', port: 8080 }, command: 'sleep 600' });
    await stack.waitFor(id, 'starting', 10_000);
    const view = await stack.waitFor(id, ['failed', 'active', 'stopped'], 20_000);
    const took = Date.now() - t0;
    expect(view.status).toBe('failed');
    expect(view.statusReason).toMatch(/did not answer on port 8080 within 3 s/);
    expect(view.statusReason).toMatch(/readiness timeout/);
    expect(took).toBeGreaterThanOrEqual(3_000);
    expect(took).toBeLessThan(15_000);
    // Kept for inspection, not left running.
    const info = await inspect(`wharf-${id}`);
    expect(info?.State.Running).toBe(false);
  });
});
