import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, inspect, startStack, type Stack, type StackUser } from '../support/stack.ts';

/*
 * Issue 14 §2: app containers cannot reach each other. On Docker's default bridge, bob's
 * container fetched alice's private page from her container's address with no token, and
 * reached her TCP app too. Here alice runs an https app and a TCP echo app, bob a container
 * launched with `--network bridge`; from inside bob's container (docker exec: his processes,
 * his network namespace, his capabilities) neither of hers answers, while the gateway still
 * reaches hers and bob's still reaches the host. NET_RAW is gone, so no ARP spoofing either.
 */

const sh = (container: string, script: string) => docker('exec', container, 'sh', '-c', script);

/** The container's address on whatever network it is on. */
async function addressOf(container: string): Promise<string> {
  const networks = (await inspect(container)).NetworkSettings.Networks as Record<string, { IPAddress: string }>;
  return Object.values(networks)[0].IPAddress;
}

describe('app containers cannot reach each other', () => {
  let stack: Stack;
  let alice: StackUser;
  let bob: StackUser;
  let page = '';
  let echo = '';
  let bobs = '';
  let hostServer: Server;
  const secret = `alice-private-${Math.random().toString(36).slice(2)}`;

  beforeAll(async () => {
    stack = await startStack();
    [alice, bob] = [await stack.addUser('alice'), await stack.addUser('bob')];
    const launched = await Promise.all([
      stack.launch({ name: 'private page', routing: { mode: 'https', port: 8080 }, command: `sh -c 'mkdir -p /www && echo ${secret} > /www/index.html && exec httpd -f -p 8080 -h /www'` }, alice.env),
      stack.launch({ name: 'tcp echo', routing: { mode: 'tcp', port: 9000 }, command: 'nc -ll -p 9000 -e cat' }, alice.env),
      stack.launch({ name: 'curious', routing: { mode: 'none' }, containerArgs: '--network bridge', command: 'sleep 3600' }, bob.env),
    ]);
    [page, echo, bobs] = launched.map((v) => v.id);
    await Promise.all(launched.map((v) => stack.waitFor(v.id, 'active', 30_000)));
    // A service on the host, at Docker's bridge address: what an app reaches outside its network.
    hostServer = createServer((_, res) => res.end('host says hi\n'));
    await new Promise<void>((resolve) => hostServer.listen(0, '172.17.0.1', resolve));
  }, 120_000);
  afterAll(async () => {
    hostServer?.close();
    await stack?.stop();
  });

  it('puts `--network bridge` on Wharf\'s app network, without NET_RAW', async () => {
    const info = await inspect(`wharf-${bobs}`);
    expect(Object.keys(info.NetworkSettings.Networks)).toEqual(['wharf-apps']);
    expect(info.HostConfig.CapDrop).toContain('NET_RAW');
    const network = JSON.parse((await docker('network', 'inspect', 'wharf-apps')).stdout)[0];
    expect(network.Options['com.docker.network.bridge.enable_icc']).toBe('false');
  });

  it('refuses bob\'s container a connection to alice\'s web and TCP apps, by their addresses', async () => {
    const [webAddress, tcpAddress] = await Promise.all([addressOf(`wharf-${page}`), addressOf(`wharf-${echo}`)]);
    const [web, tcp] = await Promise.all([
      sh(`wharf-${bobs}`, `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${webAddress} 8080`),
      sh(`wharf-${bobs}`, `echo stolen-echo | nc -w 3 ${tcpAddress} 9000`),
    ]);
    expect(web.stdout).not.toContain(secret);
    expect(web.code).not.toBe(0);
    expect(tcp.stdout).not.toContain('stolen-echo');
    expect(tcp.code).not.toBe(0);
  }, 30_000);

  it('leaves no raw sockets to spoof ARP with', async () => {
    const webAddress = await addressOf(`wharf-${page}`);
    const arping = await sh(`wharf-${bobs}`, `arping -c 1 -w 2 -I eth0 ${webAddress}`);
    expect(arping.code).not.toBe(0);
    expect(arping.stderr).toMatch(/Operation not permitted/);
  });

  it('still lets the gateway reach alice\'s app, and bob\'s container reach the host', async () => {
    const reply = await stack.appGet(page, await stack.token(page, alice.env));
    expect(reply.status).toBe(200);
    expect(reply.body).toContain(secret);
    const port = (hostServer.address() as AddressInfo).port;
    const out = await sh(`wharf-${bobs}`, `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 172.17.0.1 ${port}`);
    expect(out.stdout).toContain('host says hi');
  });
});
