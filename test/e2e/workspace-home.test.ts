import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspect, startStack, type Stack } from '../support/stack.ts';

/*
 * Issue 6: "the workspace path (`~` expanded for the container's user)". The agent resolves
 * `~` from the image's /etc/passwd for the user the container runs as, before the volume is
 * mounted: root's `~/work` is /root/work; with `--user nobody` (home `/` in the busybox
 * image) `~/work` is /work.
 */
describe('~ in workspace.path', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
  });

  const mountOf = async (id: string) => {
    const info = await inspect(`wharf-${id}`);
    return (info.Mounts as { Type: string; Name?: string; Destination: string }[]).find((m) => m.Type === 'volume' && m.Name === `wharf-ws-${id}`)?.Destination;
  };

  it('is the home folder of the container\'s user', async () => {
    const base = { app: 'container', image: 'wharf/busybox:local', command: 'sleep 3600', routing: { mode: 'none' }, workspace: { path: '~/work' } };
    const asRoot = await stack.launch(base);
    const asNobody = await stack.launch({ ...base, containerArgs: '--user nobody' });
    await stack.waitFor(asRoot.id, 'active');
    await stack.waitFor(asNobody.id, 'active');
    expect(await mountOf(asRoot.id)).toBe('/root/work');
    expect(await mountOf(asNobody.id)).toBe('/work');
    const logs = await stack.cli(['logs', asNobody.id]);
    expect(logs.stdout).toContain('workspace ~/work is /work for user nobody');
  }, 60_000);
});
