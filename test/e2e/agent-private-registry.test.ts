import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type Registry } from '../support/registry.ts';
import { BUSYBOX, docker, startStack, type Stack } from '../support/stack.ts';

/*
 * Issue 17, "Apps servers at scale pull their images from a private registry": a real
 * registry (docker-registry, htpasswd, TLS on the Docker bridge address, its CA in
 * /etc/docker/certs.d/), and real `wharf control` and `wharf agent` processes. The image is on
 * no host but in the registry; the agent pulls it with the credentials of its own Docker
 * config (DOCKER_CONFIG, as `docker login` writes it), and a wrong password fails the launch
 * with the registry's reason. The password appears in no log.
 */

const USER = 'puller';
const PASSWORD = `pw-${randomBytes(9).toString('hex')}`;
const WRONG = `wrong-${randomBytes(9).toString('hex')}`;

describe('the agent pulls app images from a private registry with its Docker credentials', () => {
  let registry: Registry;
  let stack: Stack;
  let image: string;

  beforeAll(async () => {
    stack = await startStack({ noAgent: true });
    registry = await startRegistry(USER, PASSWORD);
    image = await registry.push(BUSYBOX, `wharf-test/busybox:${randomBytes(4).toString('hex')}`);
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
    await registry?.stop();
  });

  const launch = () => stack.launch({ name: 'private', image, routing: { mode: 'https', port: 8080 }, command: 'httpd -f -p 8080 -h /' });

  it('holds the image in the registry only: not on this host, and refused to a client without the password', async () => {
    expect((await docker('image', 'inspect', image)).code).not.toBe(0);
    const anonymous = registry.configWith('');
    writeFileSync(join(anonymous, 'config.json'), '{}');
    const pull = await docker('--config', anonymous, 'pull', image);
    expect(pull.code).not.toBe(0);
    expect(pull.stderr).toMatch(/no basic auth credentials|unauthorized/);
  });

  it('fails the launch with the registry\'s reason when the agent\'s password is wrong', async () => {
    const agent = await stack.startAgent({ DOCKER_CONFIG: registry.configWith(WRONG) });
    try {
      const instance = await launch();
      const failed = await stack.waitFor(instance.id, 'failed', 60_000);
      expect(failed.statusReason).toContain(image);
      expect(failed.statusReason).toMatch(/cannot be pulled: .*(unauthorized|authentication required)/i);
      expect(agent.stderr() + agent.stdout()).not.toContain(WRONG);
    } finally {
      await stack.stopAgent();
    }
  }, 90_000);

  it('pulls the image with the credentials of the agent\'s Docker config, and the app serves', async () => {
    const config = await registry.login(PASSWORD);
    const agent = await stack.startAgent({ DOCKER_CONFIG: config });
    const instance = await launch();
    const active = await stack.waitFor(instance.id, 'active', 60_000);
    expect(active.status).toBe('active');
    expect((await docker('image', 'inspect', image)).code).toBe(0);
    const console = await stack.cli(['logs', instance.id]);
    expect(console.stdout + console.stderr).toMatch(/pulled/);
    expect(agent.stderr() + agent.stdout()).not.toContain(PASSWORD);
  }, 90_000);
});
