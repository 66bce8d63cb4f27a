import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentSweeper } from '../agents/sweeper.ts';
import { BlobStore } from '../snapshots/blob-store.ts';
import { apiFixture, type ApiFixture } from './testing.ts';

const minimal = { app: 'container', image: 'wharf/busybox:local', routing: { mode: 'https', port: 8080 } };
const GRACE_MS = 60_000;

describe('removing instances, long lists and queue notices (in process)', () => {
  let f: ApiFixture;
  let blobs: BlobStore;
  let blobDir: string;
  let admin: { id: string; token: string };
  let bob: { id: string; token: string };
  let carol: { id: string; token: string };

  beforeEach(async () => {
    blobDir = mkdtempSync(join(tmpdir(), 'wharf-blobs-'));
    blobs = new BlobStore(blobDir);
    f = await apiFixture({ agents: { leaseMs: 30_000, tcpPorts: [21200, 21209], pollMs: 10 }, snapshots: { blobs, maxBytes: 1 << 20 } });
    admin = await f.user('admin', { admin: true });
    bob = await f.user('bob');
    carol = await f.user('carol');
  });
  afterEach(async () => {
    await f.close();
    rmSync(blobDir, { recursive: true, force: true });
  });

  const launch = async (token: string, config: object = minimal) => {
    const res = await f.call('POST', '/api/v1/instances', token, config);
    expect(res.statusCode, res.body).toBe(201);
    return res.json() as { id: string; status: string; statusReason: string | null; restoredFrom: string | null };
  };
  const agentCall = (auth: string, path: string, payload?: object) =>
    f.control.app.inject({ method: 'POST', url: `/api/v1/agent/${path}`, payload, headers: { authorization: auth } });
  const consoleText = async (id: string) =>
    ((await f.call('GET', `/api/v1/instances/${id}/console`, admin.token)).json().lines as { text: string }[]).map((l) => l.text).join('\n');
  const snapshotOf = async (instance: string, owner: string, bytes: string) => {
    const blob = await blobs.write(Readable.from([Buffer.from(bytes)]), { maxBytes: 1 << 20 });
    return f.t.store.snapshots.add({ instance, owner, sha256: blob.sha256, size: blob.size, path: blob.path });
  };

  it('removes a stopped instance for its owner or an admin only, refuses a running one, and keeps its snapshots for restoreFrom and clone', async () => {
    const agent = await f.agent(admin.token, 'a1', ['default']);
    const a = await launch(bob.token);
    expect((await agentCall(agent.auth, 'lease?wait=0')).json().instance).toBe(a.id);
    expect((await agentCall(agent.auth, `instances/${a.id}/endpoint`, { host: '127.0.0.1', port: 32768 })).json().status).toBe('active');

    const running = await f.call('DELETE', `/api/v1/instances/${a.id}`, bob.token);
    expect(running.statusCode).toBe(409);
    expect(running.json().error.code).toBe('CTL_ILLEGAL_TRANSITION');
    expect(running.json().error.message).toContain('stop it first');

    expect((await f.call('POST', `/api/v1/instances/${a.id}/stop`, bob.token)).json().status).toBe('stopping');
    const s = await snapshotOf(a.id, bob.id, 'workspace of a');
    expect((await agentCall(agent.auth, `instances/${a.id}/status`, { status: 'stopped' })).json().status).toBe('stopped');

    // Another user learns nothing, and removes nothing.
    const other = await f.call('DELETE', `/api/v1/instances/${a.id}`, carol.token);
    expect(other.statusCode).toBe(404);
    expect(other.json().error.code).toBe('CTL_NOT_FOUND');
    expect((await f.call('GET', `/api/v1/instances/${a.id}`, bob.token)).statusCode).toBe(200);

    const removed = await f.call('DELETE', `/api/v1/instances/${a.id}`, bob.token);
    expect(removed.statusCode, removed.body).toBe(200);
    expect(removed.json()).toEqual({ id: a.id, removed: true, snapshotsRemoved: [], snapshotsKept: 1 });
    expect((await f.call('GET', `/api/v1/instances/${a.id}`, bob.token)).statusCode).toBe(404);
    expect((await f.call('GET', `/api/v1/instances/${a.id}/console`, bob.token)).statusCode).toBe(404);
    expect((await f.call('GET', '/api/v1/instances', bob.token)).json().instances).toEqual([]);
    expect((await f.call('DELETE', `/api/v1/instances/${a.id}`, bob.token)).statusCode).toBe(404);

    // Its snapshot still restores: a clone's config, and a launch from it that the agent restores.
    const clone = await f.call('POST', `/api/v1/instances/${a.id}/clone`, bob.token);
    expect(clone.statusCode, clone.body).toBe(200);
    expect(clone.json().workspace.restoreFrom).toBe(a.id);
    expect((await f.call('POST', `/api/v1/instances/${a.id}/clone`, carol.token)).statusCode).toBe(404);
    const refused = await f.call('POST', '/api/v1/instances', carol.token, clone.json());
    expect(refused.json().error.code).toBe('CTL_NO_SNAPSHOT');
    const b = await launch(bob.token, clone.json());
    expect(b.restoredFrom).toBe(a.id);
    const lease = (await agentCall(agent.auth, 'lease?wait=0')).json();
    expect(lease).toMatchObject({ instance: b.id, restore: { snapshot: s.id, from: a.id } });
    const blob = await f.control.app.inject({ method: 'GET', url: `/api/v1/agent/snapshots/${s.id}?instance=${b.id}`, headers: { authorization: agent.auth } });
    expect(blob.body).toBe('workspace of a');

    // Asked, its snapshots go too, and their blob with them; then nothing restores from it.
    const all = await f.call('DELETE', `/api/v1/instances/${a.id}?snapshots=1`, bob.token);
    expect(all.json()).toEqual({ id: a.id, removed: true, snapshotsRemoved: [s.id], snapshotsKept: 0 });
    expect(await blobs.has(s.sha256)).toBe(false);
    expect((await f.call('POST', '/api/v1/instances', bob.token, clone.json())).json().error.code).toBe('CTL_NO_SNAPSHOT');
    expect((await f.call('DELETE', `/api/v1/instances/${a.id}?snapshots=yes`, bob.token)).statusCode).toBe(400);

    // An admin removes anyone's finished instance.
    const c = await launch(carol.token);
    await f.call('POST', `/api/v1/instances/${c.id}/stop`, carol.token);
    expect((await f.call('DELETE', `/api/v1/instances/${c.id}`, admin.token)).json()).toMatchObject({ id: c.id, removed: true });
  });

  it('lists every open instance and only the newest stopped or failed ones with finishedLimit, saying how many it left out', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await launch(bob.token)).id);
      f.t.clock.advance(1000);
    }
    // The oldest stays queued; the four newer ones are stopped.
    for (const id of ids.slice(1)) await f.call('POST', `/api/v1/instances/${id}/stop`, bob.token);
    const capped = (await f.call('GET', '/api/v1/instances?finishedLimit=2', bob.token)).json();
    expect(capped.instances.map((i: { id: string }) => i.id)).toEqual([ids[4], ids[3], ids[0]]);
    expect(capped.finishedLeftOut).toBe(2);
    const none = (await f.call('GET', '/api/v1/instances?finishedLimit=0&status=stopped', bob.token)).json();
    expect(none).toEqual({ instances: [], finishedLeftOut: 4 });
    // Without it, the answer is as it always was.
    const plain = (await f.call('GET', '/api/v1/instances', bob.token)).json();
    expect(plain.instances).toHaveLength(5);
    expect(plain).not.toHaveProperty('finishedLeftOut');
    expect((await f.call('GET', '/api/v1/instances?finishedLimit=-1', bob.token)).statusCode).toBe(400);
  });

  it('says on a queued instance and in its console that no agent serves its queue, until one is online', async () => {
    const sweeper = new AgentSweeper({ store: f.t.store, routes: f.routes, clock: f.t.clock.read, graceMs: GRACE_MS, console: f.control.consoleFeed });
    const gpu = await launch(bob.token, { ...minimal, queue: 'gpu' });
    expect(gpu).toMatchObject({ status: 'queued', statusReason: 'no agent serves queue gpu' });
    expect(await consoleText(gpu.id)).toContain('no agent serves queue gpu');

    // Added, not yet connected: the sweeper's pass says so.
    const g1 = await f.agent(admin.token, 'g1', ['gpu']);
    expect((await sweeper.sweep()).noticed).toEqual([gpu.id]);
    expect((await f.t.store.instances.get(gpu.id))!.statusReason).toBe('no agent serves queue gpu (agent g1 has not connected yet)');

    // Online: cleared at its first heartbeat, and the console says who serves the queue now.
    expect((await agentCall(g1.auth, 'heartbeat', {})).statusCode).toBe(200);
    expect((await f.t.store.instances.get(gpu.id))!).toMatchObject({ status: 'queued', statusReason: null });
    expect(await consoleText(gpu.id)).toContain('agent g1 serves queue gpu');

    // Drained, then silent past its grace: each says so.
    await f.call('POST', `/api/v1/agents/${g1.id}/drain`, admin.token);
    expect((await f.t.store.instances.get(gpu.id))!.statusReason).toBe('no agent serves queue gpu (agent g1 is draining)');
    await f.call('POST', `/api/v1/agents/${g1.id}/resume`, admin.token);
    expect((await f.t.store.instances.get(gpu.id))!.statusReason).toBeNull();
    f.t.clock.advance(GRACE_MS);
    await sweeper.sweep();
    expect((await f.t.store.instances.get(gpu.id))!.statusReason).toBe('no agent serves queue gpu (agent g1 is offline)');

    // Leased: the notice goes with the queued status.
    expect((await agentCall(g1.auth, 'heartbeat', {})).statusCode).toBe(200);
    expect((await agentCall(g1.auth, 'lease?wait=0')).json().instance).toBe(gpu.id);
    expect((await f.t.store.instances.get(gpu.id))!).toMatchObject({ status: 'starting', statusReason: null });
    await sweeper.stop();
  });
});
