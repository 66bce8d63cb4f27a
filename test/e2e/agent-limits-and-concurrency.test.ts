import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspect, startStack, type Stack } from '../support/stack.ts';

/*
 * Issue 5, "Done when", what the agent puts on containers and how many it runs, with real
 * control, gateway and agent processes on the real Docker Engine: `docker inspect` shows the
 * agent's default limits (WHARF_DEFAULT_MEMORY, WHARF_DEFAULT_CPUS), the config's parsed
 * containerArgs (`--shm-size 256m`) and the contract labels; with WHARF_MAX_APPS=1 a second
 * job stays `queued` until the first stops, then starts with its own limits.
 */

const HTTPD = "sh -c 'mkdir -p /www && echo up > /www/index.html && exec httpd -f -p 8080 -h /www'";
const MiB = 1024 * 1024;

describe('the agent\'s limits, labels and WHARF_MAX_APPS', () => {
  let stack: Stack;
  let first: string;
  let second: string;

  beforeAll(async () => {
    stack = await startStack({ agentEnv: { WHARF_MAX_APPS: '1', WHARF_DEFAULT_MEMORY: '256m', WHARF_DEFAULT_CPUS: '0.5' } });
    first = (await stack.launch({ routing: { mode: 'https', port: 8080 }, command: HTTPD, containerArgs: '--shm-size 256m' })).id;
    await stack.waitFor(first, 'active');
    second = (await stack.launch({ routing: { mode: 'https', port: 8080 }, command: HTTPD, containerArgs: '--memory 64m --cpus 0.25' })).id;
  }, 90_000);
  afterAll(async () => {
    await stack?.stop();
  });

  it('docker inspect shows the default limits, the parsed --shm-size and the contract labels', async () => {
    const info = await inspect(`wharf-${first}`);
    expect(info.HostConfig.Memory).toBe(256 * MiB);
    expect(info.HostConfig.NanoCpus).toBe(500_000_000);
    expect(info.HostConfig.ShmSize).toBe(268_435_456);
    expect(info.Config.Labels).toMatchObject({
      'wharf.type': 'application',
      'wharf.instance': first,
      'wharf.agent': stack.agentId,
      'wharf.test': stack.testLabel,
    });
    expect((await stack.show(first)).agent).toBe(stack.agentId);
    // Published on the agent's bind address only.
    const bindings = info.HostConfig.PortBindings['8080/tcp'] as { HostIp: string }[];
    expect(bindings.map((b) => b.HostIp)).toEqual(['127.0.0.1']);
  });

  it('with WHARF_MAX_APPS=1 a second job waits, queued, until the first stops, then starts', async () => {
    // Several heartbeats and lease polls: the second job is not taken while the first runs.
    await sleep(2_000);
    expect((await stack.show(second)).status).toBe('queued');
    expect(await inspect(`wharf-${second}`)).toBeUndefined();

    const stopped = await stack.cli(['stop', first]);
    expect(stopped.code, stopped.stderr).toBe(0);
    await stack.waitFor(first, 'stopped', 15_000);
    await stack.waitFor(second, 'active', 20_000);
    // An app that sets its own limits keeps them instead of the defaults.
    const info = await inspect(`wharf-${second}`);
    expect(info.HostConfig.Memory).toBe(64 * MiB);
    expect(info.HostConfig.NanoCpus).toBe(250_000_000);
  });
});
