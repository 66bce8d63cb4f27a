import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TempStore } from '../store/testing.ts';
import { apiFixture, type ApiFixture } from './testing.ts';

const container = {
  kind: 'wharf.app-config', version: 1, app: 'container',
  name: 'my session', project: 'Apps', tags: ['demo', 'x'], queue: 'default',
  image: 'wharf/busybox:local',
  command: "sh -c 'mkdir -p /www && httpd -f -p 8080 -h /www'",
  workdir: '/', containerArgs: '--shm-size 256m --cpus 1',
  env: { KEY: 'value' },
  files: [{ path: '/etc/app.ini', content: 'a=1\n', mode: '0600' }],
  routing: { mode: 'https', port: 8080 },
  idle: { maxHours: 0.005, networkMBps: 0.1, cpuPercent: 7, gpuPercent: 9 },
  workspace: { path: '/root/workspace', restoreFrom: null, exclude: ['.cache'] },
};
const jupyter = {
  ...container, app: 'jupyter', project: 'Interactive Session', image: 'wharf/jupyter:local', routing: { mode: 'https', port: 8888 },
  git: { repo: 'https://example.com/r.git', branch: 'main', commit: 'abcdef1', storeInSnapshot: false },
  extraPackages: ['pandas'], initScript: '#!/bin/bash\necho ready',
};
const minimal = { app: 'container', image: 'wharf/busybox:local', routing: { mode: 'https', port: 8080 } };

describe('instances API (in process)', () => {
  let t: TempStore;
  let adminToken: string;
  let bobToken: string;
  let carolToken: string;
  let f: ApiFixture;

  beforeEach(async () => {
    f = await apiFixture({ hosts: { publicUrl: 'https://wharf.test:8443/', appsDomain: 'apps.test' } });
    ({ t } = f);
    adminToken = (await f.user('admin', { admin: true })).token;
    bobToken = (await f.user('bob')).token;
    carolToken = (await f.user('carol')).token;
  });
  afterEach(() => f.close());

  const call = (method: 'GET' | 'POST', url: string, token: string, payload?: unknown) => f.call(method, url, token, payload);
  const launch = async (token: string, config: object = minimal) => {
    const res = await call('POST', '/api/v1/instances', token, config);
    expect(res.statusCode, res.body).toBe(201);
    return res.json() as { id: string; status: string; owner: string; restoredFrom: string | null; links: Record<string, string | null>; config: object };
  };

  it('validates a config into the complete one, and every field round-trips export → validate', async () => {
    const filled = await call('POST', '/api/v1/configs/validate', bobToken, minimal);
    expect(filled.statusCode).toBe(200);
    expect(filled.json()).toMatchObject({ kind: 'wharf.app-config', version: 1, project: 'Apps', queue: 'default', idle: { maxHours: 24 }, workspace: { path: '/root/workspace', restoreFrom: null } });

    for (const config of [container, minimal]) {
      const created = await launch(bobToken, config);
      const exported = (await call('GET', `/api/v1/instances/${created.id}/config`, bobToken)).json();
      expect(exported).toEqual(created.config);
      const again = await call('POST', '/api/v1/configs/validate', bobToken, exported);
      expect(again.statusCode).toBe(200);
      expect(again.json()).toEqual(exported);
      expect(JSON.stringify(again.json())).toBe(JSON.stringify(exported)); // same key order too
    }
    expect((await call('POST', '/api/v1/configs/validate', bobToken, container)).json()).toEqual(container);
    // A jupyter config checks and round-trips, though it cannot be launched until its compiler exists.
    const j = await call('POST', '/api/v1/configs/validate', bobToken, jupyter);
    if (j.statusCode === 200) expect(j.json()).toEqual(jupyter);
    else expect(j.json().error.message).toMatch(/^app:/);
  });

  it('refuses invalid configs with 400 CTL_INVALID naming the field', async () => {
    const cases: [object, string][] = [
      [{ ...minimal, app: 'vm' }, 'app'],
      [{ ...minimal, routing: { mode: 'udp', port: 1 } }, 'routing.mode'],
      [{ ...minimal, routing: { mode: 'tcp' } }, 'routing.port'],
      [{ ...minimal, image: 'Not An Image' }, 'image'],
      [{ ...minimal, idle: { maxHours: 0 } }, 'idle.maxHours'],
      [{ ...minimal, files: [{ path: 'relative', content: '' }] }, 'files[0].path'],
      [{ ...minimal, env: { '1BAD': 'x' } }, 'env.1BAD'],
      [{ ...minimal, command: "sh -c 'unterminated" }, 'command'],
      [{ ...minimal, containerArgs: '--no-such-flag' }, 'containerArgs'],
      [{ ...minimal, workspace: { path: '/' } }, 'workspace.path'],
      [{ ...minimal, surprise: 1 }, 'surprise'],
      [{ ...minimal, tags: 'demo' }, 'tags'],
    ];
    for (const [config, field] of cases) {
      for (const url of ['/api/v1/configs/validate', '/api/v1/instances']) {
        const res = await call('POST', url, bobToken, config);
        expect(res.statusCode, `${url} ${field}`).toBe(400);
        expect(res.json().error.code).toBe('CTL_INVALID');
        expect(res.json().error.message.startsWith(`${field}:`), `${field}: ${res.json().error.message}`).toBe(true);
      }
    }
    expect((await call('GET', '/api/v1/instances', bobToken)).json().instances).toEqual([]);
  });

  it('refuses a non-admin --privileged naming it, and lets an admin pass', async () => {
    const config = { ...minimal, containerArgs: '--privileged' };
    const refused = await call('POST', '/api/v1/instances', bobToken, config);
    expect(refused.statusCode).toBe(400);
    expect(refused.json().error.message).toContain('--privileged');
    expect(refused.json().error.message).toMatch(/^containerArgs/);
    expect((await call('POST', '/api/v1/configs/validate', bobToken, config)).statusCode).toBe(400);
    expect((await call('POST', '/api/v1/configs/validate', adminToken, config)).statusCode).toBe(200);
    await launch(adminToken, config);
  });

  it('shows the instance view with its links', async () => {
    const created = await launch(bobToken, container);
    expect(created).toMatchObject({
      // No agent in this test serves the queue: the instance says so (control/instances/queue-notice.ts).
      name: 'my session', app: 'container', status: 'queued', statusReason: 'no agent serves queue default', idleSeconds: null, restoredFrom: null,
      owner: 'bob', agent: null, project: 'Apps', tags: ['demo', 'x'], queue: 'default', started: null, stopped: null,
      links: {
        https: `https://${created.id}.apps.test:8443/`,
        browser: `https://wharf.test:8443/auth/app?instance=${created.id}&return=${encodeURIComponent(`https://${created.id}.apps.test:8443/`)}`,
        endpoint: `https://${created.id}.apps.test:8443/`, tcp: null,
      },
    });
    expect(new Date((created as unknown as { created: string }).created).getTime()).toBe(t.clock.now);
    const shown = await call('GET', `/api/v1/instances/${created.id}`, bobToken);
    expect(shown.json()).toEqual(created);
    const none = await launch(bobToken, { ...minimal, routing: { mode: 'none' } });
    expect(none.links).toEqual({ https: null, browser: null, endpoint: null, tcp: null });
  });

  it('counts idleSeconds from the quiet period once active', async () => {
    const created = await launch(bobToken);
    const agent = (await t.store.agents.add({ name: 'a1', queues: ['default'] })).agent;
    await t.store.jobs.lease(agent.id, ['default'], 60_000, t.clock.now);
    await t.store.instances.updateStatus(created.id, 'active', null);
    expect((await call('GET', `/api/v1/instances/${created.id}`, bobToken)).json().idleSeconds).toBe(0);
    await t.store.instances.setQuietSince(created.id, t.clock.now);
    t.clock.advance(42_500);
    expect((await call('GET', `/api/v1/instances/${created.id}`, bobToken)).json()).toMatchObject({ status: 'active', idleSeconds: 42 });
  });

  it('stops: queued → stopped, active → stopping, and refuses a stopped one with 409', async () => {
    const queued = await launch(bobToken);
    const stopped = await call('POST', `/api/v1/instances/${queued.id}/stop`, bobToken);
    expect(stopped.statusCode).toBe(200);
    expect(stopped.json().status).toBe('stopped');
    const again = await call('POST', `/api/v1/instances/${queued.id}/stop`, bobToken);
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('CTL_ILLEGAL_TRANSITION');

    const running = await launch(bobToken);
    const agent = (await t.store.agents.add({ name: 'a1', queues: ['default'] })).agent;
    await t.store.jobs.lease(agent.id, ['default'], 60_000, t.clock.now);
    expect((await call('GET', `/api/v1/instances/${running.id}`, bobToken)).json().status).toBe('starting');
    expect((await call('POST', `/api/v1/instances/${running.id}/stop`, bobToken)).json().status).toBe('stopping');
    const stopping = await call('POST', `/api/v1/instances/${running.id}/stop`, bobToken);
    expect(stopping.statusCode).toBe(409);

    const active = await launch(bobToken);
    await t.store.jobs.lease(agent.id, ['default'], 60_000, t.clock.now);
    await t.store.instances.updateStatus(active.id, 'active', null);
    expect((await call('POST', `/api/v1/instances/${active.id}/stop`, bobToken)).json().status).toBe('stopping');
  });

  it('keeps instances to their owner; an admin sees and filters all', async () => {
    // Each launches into a project of their own, as a user of it.
    for (const [project, name] of [['P1', 'bob'], ['P2', 'carol']]) {
      const member = (await t.store.users.getByName(name))!;
      await t.store.projects.add(project);
      await t.store.projects.setMember(project, member.id, 'user', member.id);
    }
    const bobs = await launch(bobToken, { ...minimal, project: 'P1', tags: ['t1'] });
    const carols = await launch(carolToken, { ...minimal, project: 'P2', queue: 'gpu' });
    for (const path of ['', '/config', '/stop', '/clone', '/token']) {
      const method = ['', '/config'].includes(path) ? 'GET' : 'POST';
      const res = await call(method, `/api/v1/instances/${carols.id}${path}`, bobToken);
      expect(res.statusCode, path).toBe(404);
      expect(res.json().error.code).toBe('CTL_NOT_FOUND');
    }
    const ids = async (token: string, query = '') => ((await call('GET', `/api/v1/instances${query}`, token)).json().instances as { id: string }[]).map((i) => i.id);
    expect(await ids(bobToken)).toEqual([bobs.id]);
    expect(await ids(carolToken)).toEqual([carols.id]);
    expect((await ids(adminToken)).sort()).toEqual([bobs.id, carols.id].sort());
    expect(await ids(adminToken, '?owner=carol')).toEqual([carols.id]);
    expect(await ids(adminToken, '?owner=nobody')).toEqual([]);
    expect(await ids(adminToken, '?project=P1')).toEqual([bobs.id]);
    expect(await ids(adminToken, '?tag=t1')).toEqual([bobs.id]);
    expect(await ids(adminToken, '?queue=gpu')).toEqual([carols.id]);
    expect(await ids(adminToken, '?status=queued,stopped')).toHaveLength(2);
    expect(await ids(bobToken, '?owner=bob')).toEqual([bobs.id]);
    expect((await call('GET', '/api/v1/instances?owner=carol', bobToken)).statusCode).toBe(403);
    expect((await call('GET', `/api/v1/instances/${carols.id}`, adminToken)).json().owner).toBe('carol');
    await call('POST', `/api/v1/instances/${bobs.id}/stop`, bobToken);
    expect(await ids(adminToken, '?status=stopped')).toEqual([bobs.id]);
    const bad = await call('GET', '/api/v1/instances?status=running', adminToken);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.message).toMatch(/^status:/);
    expect((await call('GET', '/api/v1/instances?colour=red', adminToken)).json().error.message).toMatch(/^colour:/);
  });

  it('clones only from an instance with a snapshot, and restores only from one', async () => {
    const source = await launch(bobToken, container);
    const refused = await call('POST', `/api/v1/instances/${source.id}/clone`, bobToken);
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.code).toBe('CTL_NO_SNAPSHOT');
    const restore = { ...minimal, workspace: { restoreFrom: source.id } };
    expect((await call('POST', '/api/v1/instances', bobToken, restore)).json().error.code).toBe('CTL_NO_SNAPSHOT');

    const owner = (await t.store.users.getByName('bob'))!.id;
    await t.store.snapshots.add({ instance: source.id, owner, sha256: 'a'.repeat(64), size: 10, path: 'x/y' });
    const cloned = await call('POST', `/api/v1/instances/${source.id}/clone`, bobToken);
    expect(cloned.statusCode).toBe(200);
    expect(cloned.json()).toEqual({ ...container, workspace: { ...container.workspace, restoreFrom: source.id } });
    const relaunched = await launch(bobToken, cloned.json());
    expect(relaunched.restoredFrom).toBe(source.id);
    // Carol cannot restore from Bob's instance, snapshot or not.
    const carols = await call('POST', '/api/v1/instances', carolToken, restore);
    expect(carols.json().error.code).toBe('CTL_NO_SNAPSHOT');
  });

  it('issues a scoped token and a one-time browser link', async () => {
    const created = await launch(bobToken);
    const res = await call('POST', `/api/v1/instances/${created.id}/token`, bobToken, {});
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.token).toMatch(/^ey/);
    expect(body.scope).toEqual([created.id]);
    expect(new Date(body.expiresAt).getTime()).toBe(t.clock.now + 3_600_000);
    expect(body.link).toMatch(new RegExp(`^https://${created.id}\\.apps\\.test:8443/\\?wharf_token=ey`));
    expect(body.endpoint).toBe(`https://${created.id}.apps.test:8443/`);
    expect(body.links.browser).toBe(body.link);
    const payload = JSON.parse(Buffer.from(body.token.split('.')[1], 'base64url').toString()) as { scope: string[]; aud: string };
    expect(payload.scope).toEqual([created.id]);
    expect((await call('POST', `/api/v1/instances/${created.id}/token`, bobToken, { lifetimeS: 0 })).json().error.message).toMatch(/^lifetimeS/);
  });
});
