import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUSYBOX, docker, startStack, type Stack, type StackUser } from '../support/stack.ts';

/*
 * Issue 14 §3: named volumes are not shared across users. Alice launched with
 * `-v alice-data:/data`; bob launched with `-v alice-data:/steal` and read and overwrote her
 * files; a volume something else on the host made (control's own, from compose) could be
 * mounted the same way. Here bob gets a volume of his own for her name, and for the host's;
 * alice gets hers back at her next launch, after stop and prune; and a volume in bob's
 * namespace that Wharf did not make for him is refused.
 */

const sh = (container: string, script: string) => docker('exec', container, 'sh', '-c', script);

describe('named volumes belong to their owner', () => {
  let stack: Stack;
  let alice: StackUser;
  let bob: StackUser;
  const tag = randomBytes(4).toString('hex');
  const shared = `alice-data-${tag}`; // the name both users write
  const hostVolume = `host-data-${tag}`; // made outside Wharf, as compose makes control-home
  const secret = `alice-secret-${tag}`;
  const planted = `planted-${tag}`; // bob's name for a volume made in his namespace by someone else
  let first = '';

  const running = async (user: StackUser, containerArgs: string, command = 'sleep 3600') => {
    const view = await stack.launch({ routing: { mode: 'none' }, containerArgs, command }, user.env);
    await stack.waitFor(view.id, 'active', 30_000);
    return `wharf-${view.id}`;
  };

  beforeAll(async () => {
    stack = await startStack();
    [alice, bob] = [await stack.addUser('alice'), await stack.addUser('bob')];
    expect((await docker('volume', 'create', hostVolume)).code).toBe(0);
    const seeded = await docker('run', '--rm', '-v', `${hostVolume}:/v`, BUSYBOX, 'sh', '-c', 'echo host-secret > /v/keys');
    expect(seeded.code, seeded.stderr).toBe(0);
    const view = await stack.launch({ routing: { mode: 'none' }, containerArgs: `-v ${shared}:/data`, command: `sh -c 'echo ${secret} > /data/notes && exec sleep 3600'` }, alice.env);
    first = view.id;
    await stack.waitFor(first, 'active', 30_000);
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
    // Owned volumes carry the stack's label and went with it; the host's did not, nor (without owners) the names as written.
    await docker('volume', 'rm', '-f', hostVolume, shared, planted);
  });

  it('gives bob his own empty volume when he names alice\'s, and she keeps her files', async () => {
    const bobs = await running(bob, `-v ${shared}:/steal`);
    const read = await sh(bobs, 'cat /steal/notes');
    expect(read.stdout).not.toContain(secret);
    expect((await sh(bobs, 'echo overwritten > /steal/notes')).code).toBe(0);
    expect((await sh(`wharf-${first}`, 'cat /data/notes')).stdout.trim()).toBe(secret);
  }, 60_000);

  it('gives bob his own volume when he names one the host made, with -v or --mount', async () => {
    const viaV = await running(bob, `-v ${hostVolume}:/h`);
    expect((await sh(viaV, 'cat /h/keys')).stdout).not.toContain('host-secret');
    const viaMount = await running(bob, `--mount type=volume,source=${hostVolume},target=/h,readonly`);
    expect((await sh(viaMount, 'cat /h/keys')).stdout).not.toContain('host-secret');
  }, 60_000);

  it('keeps alice\'s volume, labelled as hers, across stop and prune, and gives it back at her next launch', async () => {
    expect((await stack.cli(['stop', first])).code).toBe(0);
    await stack.waitFor(first, 'stopped', 30_000);
    const pruned = await stack.cli(['prune', '--until', '1s', '--label', stack.label]);
    expect(pruned.code, pruned.stderr).toBe(0);
    const volume = `wharf-${alice.id}.${shared}`;
    const labels = JSON.parse((await docker('volume', 'inspect', volume)).stdout)[0].Labels;
    expect(labels).toMatchObject({ 'wharf.owner': alice.id, 'wharf.type': 'volume' });
    const again = await running(alice, `-v ${shared}:/data`);
    expect((await sh(again, 'cat /data/notes')).stdout.trim()).toBe(secret);
  }, 60_000);

  it('refuses a volume in bob\'s namespace that Wharf did not make for him', async () => {
    const volume = `wharf-${bob.id}.${planted}`;
    expect((await docker('volume', 'create', '--label', stack.label, volume)).code).toBe(0);
    const view = await stack.launch({ routing: { mode: 'none' }, containerArgs: `-v ${planted}:/p`, command: 'sleep 3600' }, bob.env);
    const failed = await stack.waitFor(view.id, 'failed', 30_000);
    expect(failed.statusReason).toContain(`volume ${volume} exists but was not made for its owner ${bob.id}`);
  }, 60_000);

  it('refuses a name in Wharf\'s namespace at launch, naming the flag', async () => {
    const out = await stack.cli(['launch', '-f', '-'], bob.env, JSON.stringify({
      kind: 'wharf.app-config', version: 1, app: 'container', image: BUSYBOX, routing: { mode: 'none' }, containerArgs: `-v wharf-${alice.id}.${shared}:/steal`,
    }));
    expect(out.code).not.toBe(0);
    expect(out.stderr.trim().split('\n')).toHaveLength(1);
    expect(out.stderr).toMatch(/containerArgs: -v "wharf-.*": volumes named wharf… are Wharf's own; only an admin may mount them/);
  });
});
