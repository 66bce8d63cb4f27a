import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inputRule, publishedPortRange } from '../../agent/isolation/published-ports-rule.ts';
import { BUSYBOX, docker, exec, inspect, startStack, type Stack, type StackUser } from '../support/stack.ts';

/*
 * Issue 14 §2, published ports: with a non-loopback WHARF_AGENT_BIND, a container reached
 * other apps' published ports through the host's address. docker-proxy carries that through
 * the host's INPUT and OUTPUT, never FORWARD, so the app network's "no inter-container
 * traffic" does not see it: the agent adds an INPUT rule with a short-lived helper container.
 * Here the agent publishes on Docker's bridge address (a non-loopback address every Docker
 * host has); bob's container is refused alice's published port there, while the gateway
 * still reaches it. An agent that cannot add the rule refuses to start, saying what to do.
 */

/** Docker's default bridge address: non-loopback, on every Docker host, where containers reach the host. */
async function bridgeAddress(): Promise<string> {
  const out = await docker('run', '--rm', BUSYBOX, 'ip', 'route', 'show', 'default');
  const address = /default via (\d+\.\d+\.\d+\.\d+)/.exec(out.stdout)?.[1];
  if (!address) throw new Error(`no default route in a container on Docker's bridge: ${out.stdout}${out.stderr}`);
  return address;
}

describe('app containers cannot reach published ports through a non-loopback bind', () => {
  let stack: Stack;
  let bind = '';
  let alice: StackUser;
  let bob: StackUser;
  let page = '';
  let bobs = '';
  const secret = `alice-published-${Math.random().toString(36).slice(2)}`;

  beforeAll(async () => {
    bind = await bridgeAddress();
    stack = await startStack({ agentEnv: { WHARF_AGENT_BIND: bind, WHARF_FIREWALL_IMAGE: BUSYBOX } });
    [alice, bob] = [await stack.addUser('alice'), await stack.addUser('bob')];
    const [p, b] = await Promise.all([
      stack.launch({ routing: { mode: 'https', port: 8080 }, command: `sh -c 'mkdir -p /www && echo ${secret} > /www/index.html && exec httpd -f -p 8080 -h /www'` }, alice.env),
      stack.launch({ routing: { mode: 'none' }, command: 'sleep 3600' }, bob.env),
    ]);
    [page, bobs] = [p.id, b.id];
    await Promise.all([stack.waitFor(page, 'active', 30_000), stack.waitFor(bobs, 'active', 30_000)]);
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
    // The rule outlives the agent on purpose (apps keep running); this test's bind is Docker's
    // bridge address, where other tests serve files to containers: take it out again.
    const rule = inputRule('wharf-apps', bind, publishedPortRange(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')));
    while ((await exec('iptables', ['-w', '-D', 'INPUT', ...rule])).code === 0);
  });

  it('refuses bob\'s container alice\'s published port on the bind address', async () => {
    const binding = (await inspect(`wharf-${page}`)).NetworkSettings.Ports['8080/tcp'][0] as { HostIp: string; HostPort: string };
    expect(binding.HostIp).toBe(bind);
    const out = await docker('exec', `wharf-${bobs}`, 'sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${bind} ${binding.HostPort}`);
    expect(out.stdout).not.toContain(secret);
    expect(out.code).not.toBe(0);
  });

  it('still lets the gateway reach alice\'s app there', async () => {
    const reply = await stack.appGet(page, await stack.token(page, alice.env));
    expect(reply.status).toBe(200);
    expect(reply.body).toContain(secret);
  });

  it('refuses to start an agent that cannot add the rule, saying what to do', async () => {
    // On a bare host there is no image of the agent's own to run the helper from.
    const started = stack.startAgent({ WHARF_AGENT_BIND: bind, WHARF_FIREWALL_IMAGE: '' });
    await expect(started).rejects.toThrow(/WHARF_AGENT_BIND=\S+ lets app containers reach every app's published port .*set WHARF_FIREWALL_IMAGE .*iptables -I INPUT 1 -i wharf-apps/);
  });
});
