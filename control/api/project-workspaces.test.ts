import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BlobStore } from '../snapshots/blob-store.ts';
import { apiFixture, type ApiFixture } from './testing.ts';

/*
 * A project's users clone and restore its workspaces (issue 18): into the same project only;
 * a viewer of it, a user an instance is merely shared with, and anyone else do not. The agent
 * is handed the other member's snapshot, and nothing else.
 */
describe('a project\'s workspaces (in process)', () => {
  let f: ApiFixture;
  let blobs: BlobStore;
  let blobDir: string;
  const users = {} as Record<'root' | 'alice' | 'bob' | 'vera' | 'sam' | 'carol', { id: string; token: string }>;

  beforeEach(async () => {
    blobDir = mkdtempSync(join(tmpdir(), 'wharf-blobs-'));
    blobs = new BlobStore(blobDir);
    f = await apiFixture({ agents: { leaseMs: 30_000, tcpPorts: [21210, 21219], pollMs: 10 }, snapshots: { blobs, maxBytes: 1 << 20 } });
    users.root = await f.user('root', { admin: true });
    for (const name of ['alice', 'bob', 'vera', 'sam', 'carol'] as const) users[name] = await f.user(name);
    await f.t.store.projects.add('Lab');
    for (const [name, role] of [['alice', 'user'], ['bob', 'user'], ['vera', 'viewer']] as const) await f.t.store.projects.setMember('Lab', users[name].id, role, users.root.id);
  });
  afterEach(async () => {
    await f.close();
    rmSync(blobDir, { recursive: true, force: true });
  });

  it('lets a user of the project clone a member\'s instance into the project, and the agent restore its snapshot', async () => {
    const agent = await f.agent(users.root.token, 'a1', ['default']);
    const launched = await f.call('POST', '/api/v1/instances', users.alice.token, { app: 'container', image: 'wharf/busybox:local', project: 'Lab', routing: { mode: 'https', port: 8080 } });
    expect(launched.statusCode, launched.body).toBe(201);
    const a = launched.json().id as string;
    await f.t.store.shares.set(a, users.sam.id, 'user', users.alice.id);
    const blob = await blobs.write(Readable.from([Buffer.from('alice\'s notebooks')]), { maxBytes: 1 << 20 });
    const s = await f.t.store.snapshots.add({ instance: a, owner: users.alice.id, sha256: blob.sha256, size: blob.size, path: blob.path });
    const agentCall = (method: 'GET' | 'POST', url: string) => f.control.app.inject({ method, url: `/api/v1/agent/${url}`, headers: { authorization: agent.auth } });
    expect((await agentCall('POST', 'lease?wait=0')).json().instance).toBe(a); // alice's own launch

    const clone = async (who: keyof typeof users) => f.call('POST', `/api/v1/instances/${a}/clone`, users[who].token);
    expect((await clone('vera')).statusCode).toBe(403); // a viewer of the project
    expect((await clone('sam')).json().error).toMatchObject({ code: 'CTL_FORBIDDEN', message: expect.stringContaining('the users of its project clone it') }); // shared with, not a member
    expect((await clone('carol')).statusCode).toBe(404);
    const config = (await clone('bob')).json();
    expect(config).toMatchObject({ project: 'Lab', workspace: { restoreFrom: a } });

    // Into another project (or a built-in one) it does not go; nor does a stranger launch from it.
    const elsewhere = await f.call('POST', '/api/v1/instances', users.bob.token, { ...config, project: 'Apps' });
    expect(elsewhere.statusCode).toBe(400);
    expect(elsewhere.json().error).toMatchObject({ field: 'project', message: expect.stringContaining('restored into that project only') });
    expect((await f.call('POST', '/api/v1/instances', users.carol.token, { ...config, project: 'Apps' })).json().error.code).toBe('CTL_NO_SNAPSHOT');

    const b = await f.call('POST', '/api/v1/instances', users.bob.token, config);
    expect(b.statusCode, b.body).toBe(201);
    expect(b.json().restoredFrom).toBe(a);
    const lease = (await agentCall('POST', 'lease?wait=0')).json();
    expect(lease).toMatchObject({ instance: b.json().id, restore: { snapshot: s.id, from: a } });
    expect((await agentCall('GET', `snapshots/${s.id}?instance=${b.json().id}`)).body).toBe('alice\'s notebooks');
  });
});
