import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { restorableInto } from '../snapshots/restore-source.ts';
import type { IncomingMessage } from 'node:http';
import { ControlError } from '../errors.ts';
import type { BlobStore } from '../snapshots/blob-store.ts';
import type { Agent, Clock, Snapshot, Store, User } from '../store/store.ts';
import { AGENT_PREFIX } from './agents.ts';
import type { ApiAuth } from './auth.ts';
import { instanceFor } from '../access/instance-access.ts';

/*
 * Snapshots (issue 4 "Snapshots", issue 6 "Workspaces").
 *
 * Agent side, `Authorization: Bearer <key>:<secret>`, the agent holding the instance:
 * - PUT  /api/v1/agent/instances/:id/snapshot, body the tar+zstd stream
 *   (`Content-Type: application/octet-stream`), `X-Wharf-Sha256: <hex>` the digest it computed
 *   → 201 {id, instance, sha256, size, created}. Over the size limit 413
 *   CTL_SNAPSHOT_TOO_LARGE, digest mismatch 422 CTL_SNAPSHOT_CHECKSUM: nothing stored, the
 *   previous snapshot kept. A cut-off upload stores nothing.
 * - POST /api/v1/agent/instances/:id/snapshot/reuse {sha256} → 201 as above without a body
 *   upload, when a blob with that digest is already stored for a snapshot of the same owner
 *   (an unchanged workspace uploads nothing new); 404 otherwise, then upload.
 * - GET  /api/v1/agent/snapshots/:id?instance=ID → the blob, `X-Wharf-Sha256` set, for an agent
 *   holding ID, where ID is the snapshot's instance or restores from it, with the same owner.
 *
 * User side, API token: GET /api/v1/snapshots[?instance=ID] (own; an admin's: all), GET
 * /api/v1/snapshots/:id, GET /api/v1/snapshots/:id/blob, DELETE /api/v1/snapshots/:id (204;
 * the blob goes once no snapshot references it). Another user's snapshot is "not found".
 */

export interface SnapshotApiDeps {
  store: Store;
  auth: ApiAuth;
  blobs: BlobStore;
  clock: Clock;
  maxBytes: number;
}

export function snapshotView(s: Snapshot) {
  return { id: s.id, instance: s.instance, owner: s.owner, sha256: s.sha256, size: s.size, created: new Date(s.created).toISOString() };
}

const STREAM_TYPES = ['application/octet-stream', 'application/zstd', 'application/x-tar'];

export function snapshotRoutes(app: FastifyInstance, deps: SnapshotApiDeps): void {
  const { store, auth, blobs, clock, maxBytes } = deps;

  async function agentOf(request: FastifyRequest): Promise<Agent> {
    // agents.ts's onRequest hook has verified it already; its per-request map is its own.
    const m = /^Bearer +([^\s:]+):(\S+)\s*$/i.exec(request.headers.authorization ?? '');
    const agent = m ? await store.agents.verify(m[1], m[2]) : undefined;
    if (!agent) throw new ControlError('CTL_AGENT_KEY');
    return agent;
  }

  async function visibleSnapshot(user: User, id: string): Promise<Snapshot> {
    const s = await store.snapshots.get(id);
    if (!s || (s.owner !== user.id && !user.admin)) throw new ControlError('CTL_NOT_FOUND', `no snapshot "${id}"`);
    return s;
  }

  async function sendBlob(reply: FastifyReply, s: Snapshot) {
    const { stream, size } = await blobs.read(s.sha256);
    return reply.header('content-type', 'application/octet-stream').header('content-length', size)
      .header('x-wharf-sha256', s.sha256).header('x-wharf-snapshot', s.id).send(stream);
  }

  // The upload's body is the request stream itself, never buffered: a scope of its own keeps
  // the pass-through parser away from every other endpoint.
  app.register(async (scope) => {
    scope.addContentTypeParser(STREAM_TYPES, (_request, payload, done) => done(null, payload));
    scope.put<{ Params: { id: string } }>(`${AGENT_PREFIX}instances/:id/snapshot`, { bodyLimit: maxBytes }, async (request, reply) => {
      const body = request.body as IncomingMessage | undefined;
      const giveUp = (err: ControlError) => {
        // What is still coming is read and dropped, not left unread: closing a socket with
        // unread bytes sends a reset, which can destroy this very answer at the agent before it
        // reads it. The agent stops sending once it has the answer.
        body?.resume();
        throw err;
      };
      if (!body || typeof (body as { pipe?: unknown }).pipe !== 'function') {
        throw new ControlError('CTL_INVALID', `send the snapshot as the body with Content-Type: ${STREAM_TYPES[0]}`);
      }
      const agent = await agentOf(request);
      const instance = await store.instances.get(request.params.id);
      if (!instance) giveUp(new ControlError('CTL_NOT_FOUND', `no instance "${request.params.id}"`));
      try {
        await store.jobs.assertHolder(agent.id, instance!.id, clock());
      } catch (err) {
        giveUp(err as ControlError);
      }
      const declared = Number(request.headers['content-length']);
      if (Number.isFinite(declared) && declared > maxBytes) {
        giveUp(new ControlError('CTL_SNAPSHOT_TOO_LARGE', `Content-Length ${declared} is over the limit of ${maxBytes} bytes`));
      }
      const header = request.headers['x-wharf-sha256'];
      let blob;
      try {
        blob = await blobs.write(body, { expectedSha256: typeof header === 'string' ? header.trim() : undefined, maxBytes });
      } catch (err) {
        if (err instanceof ControlError) giveUp(err);
        throw err;
      }
      const s = await store.snapshots.add({ instance: instance!.id, owner: instance!.owner, sha256: blob.sha256, size: blob.size, path: blob.path });
      return reply.code(201).send(snapshotView(s));
    });
  });

  app.post<{ Params: { id: string }; Body: { sha256?: unknown } }>(`${AGENT_PREFIX}instances/:id/snapshot/reuse`, async (request, reply) => {
    const agent = await agentOf(request);
    const instance = await store.instances.get(request.params.id);
    if (!instance) throw new ControlError('CTL_NOT_FOUND', `no instance "${request.params.id}"`);
    await store.jobs.assertHolder(agent.id, instance.id, clock());
    const sha256 = request.body?.sha256;
    if (typeof sha256 !== 'string') throw new ControlError('CTL_INVALID', 'sha256: a sha256 in hex is required');
    const digest = sha256.toLowerCase();
    const same = (await store.snapshots.list({ owner: instance.owner })).find((s) => s.sha256 === digest);
    if (!same || !(await blobs.has(digest))) throw new ControlError('CTL_NOT_FOUND', `no stored snapshot with sha256 ${digest}: upload it`);
    const s = await store.snapshots.add({ instance: instance.id, owner: instance.owner, sha256: digest, size: same.size, path: same.path });
    return reply.code(201).send(snapshotView(s));
  });

  app.get<{ Params: { id: string }; Querystring: { instance?: string } }>(`${AGENT_PREFIX}snapshots/:id`, async (request, reply) => {
    const agent = await agentOf(request);
    const forId = request.query.instance;
    if (!forId) throw new ControlError('CTL_INVALID', 'instance: the id of the instance the snapshot is restored into is required (?instance=ID)');
    const target = await store.instances.get(forId);
    const s = await store.snapshots.get(request.params.id);
    if (!target || !s) throw new ControlError('CTL_NOT_FOUND', `no snapshot "${request.params.id}" for instance "${forId}"`);
    await store.jobs.assertHolder(agent.id, target.id, clock());
    const related = s.instance === target.id || target.config.workspace.restoreFrom === s.instance || target.restoredFrom === s.instance;
    if (!related || !restorableInto(s, await store.instances.get(s.instance, { removed: true }), target)) throw new ControlError('CTL_NOT_FOUND', `no snapshot "${request.params.id}" for instance "${forId}"`);
    return sendBlob(reply, s);
  });

  app.get<{ Querystring: { instance?: string } }>('/api/v1/snapshots', async (request) => {
    const me = auth.user(request);
    const instance = request.query.instance;
    if (instance) await instanceFor(store, me, instance, 'viewer');
    const list = await store.snapshots.list({ instance: instance || undefined, owner: me.admin ? undefined : me.id });
    return { snapshots: list.map(snapshotView) };
  });

  app.get<{ Params: { id: string } }>('/api/v1/snapshots/:id', async (request) =>
    snapshotView(await visibleSnapshot(auth.user(request), request.params.id)));

  app.get<{ Params: { id: string } }>('/api/v1/snapshots/:id/blob', async (request, reply) =>
    sendBlob(reply, await visibleSnapshot(auth.user(request), request.params.id)));

  app.delete<{ Params: { id: string } }>('/api/v1/snapshots/:id', async (request, reply) => {
    const s = await visibleSnapshot(auth.user(request), request.params.id);
    await store.snapshots.delete(s.id);
    await blobs.remove(s.sha256, store.snapshots);
    return reply.code(204).send();
  });
}
