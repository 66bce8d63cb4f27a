import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { cloneAppConfig } from '../../protocol/app-config.ts';
import { INSTANCE_STATUSES, isFinished, type InstanceStatus } from '../../protocol/instance-status.ts';
import { parse, ValidationError } from '../../protocol/validate.ts';
import type { ConsoleFeed } from '../console/console-feed.ts';
import type { JobSignal } from '../agents/job-signal.ts';
import { audit } from '../audit/audit-log.ts';
import { ControlError } from '../errors.ts';
import { instanceView, type InstanceView } from '../instances/instance-view.ts';
import { updateQueueNotices } from '../instances/queue-notice.ts';
import { GatewayTokens, type AppHosts, type NotBefore } from '../keys/gateway-tokens.ts';
import type { SigningKeys } from '../keys/signing-keys.ts';
import type { MetricsHistory } from '../metrics/history.ts';
import type { RouteLog } from '../routes/route-log.ts';
import type { BlobStore } from '../snapshots/blob-store.ts';
import type { Clock, Instance, InstanceFilter, Store, User } from '../store/store.ts';
import type { ApiAuth } from './auth.ts';
import { checkConfig, checkRestorable } from './configs.ts';
import { OPENS_APPS, projectRole } from '../access/projects.ts';
import { accessOf, instanceFor, viewerConfig, type InstanceAccess } from '../access/instance-access.ts';
import { eventStreams, Follow, following } from './event-stream.ts';

export interface InstanceRouteDeps {
  store: Store;
  /** Told of each launch, to wake the agents' waiting leases. */
  jobs?: JobSignal;
  auth: ApiAuth;
  keys: SigningKeys;
  hosts: AppHosts;
  clock: Clock;
  log: Logger;
  /** How often followers re-read (default WATCH_MS; tests shorten it). */
  watchMs?: number;
  /** A user's last app session revocation (AppSessions.notBefore): tokens are dated no earlier. */
  notBefore?: NotBefore;
  /** Console followers, told of control's own lines ("no agent serves queue gpu"). */
  console?: ConsoleFeed;
  /** What control holds of an instance besides the store, let go when it is removed. */
  history?: MetricsHistory;
  routes?: RouteLog;
  /** Where snapshot blobs lie: `DELETE /instances/:id?snapshots=1` deletes those no other snapshot uses. */
  blobs?: BlobStore;
}

/** How often a followed list or instance is read again; an event goes out only when it changed. */
export const WATCH_MS = 1_000;

/**
 * What must change for a follower to get a new event: everything but the counters the clock
 * alone moves (`idleSeconds`, `idleWarning.secondsLeft`), which the dashboard ticks itself
 * from `idleSince` and `idleWarning.stopsAt`; a new quiet period changes `idleSince`.
 */
export function changeKey(data: unknown): string {
  return JSON.stringify(data, (key, value: unknown) => (key === 'idleSeconds' || key === 'secondsLeft' ? undefined : value));
}

const Text = (description: string) => Type.Optional(Type.String({ minLength: 1, maxLength: 255, description }));

export const InstanceQuery = Type.Object({
  status: Text(`a status or a comma-separated list of them (${INSTANCE_STATUSES.join(', ')})`),
  project: Text('a project name'),
  tag: Text('a tag'),
  queue: Text('a queue name'),
  owner: Text('a user name'),
  finishedLimit: Type.Optional(Type.String({ pattern: '^[0-9]{1,4}$', description: 'list at most this many stopped or failed instances, the newest (every other status is listed in full); the answer then says how many it left out in `finishedLeftOut`' })),
  follow: Follow,
}, { additionalProperties: false });

export const RemoveQuery = Type.Object({
  snapshots: Type.Optional(Type.Union([Type.Literal('1'), Type.Literal('0'), Type.Literal('true'), Type.Literal('false')], { description: '1: delete the instance\'s snapshots too (default: keep them, so it can still be cloned)' })),
}, { additionalProperties: false });

export const InstanceShowQuery = Type.Object({ follow: Follow }, { additionalProperties: false });

export const TokenRequest = Type.Object({
  lifetimeS: Type.Optional(Type.Integer({ minimum: 1, description: 'a whole number of seconds' })),
  purpose: Type.Optional(Type.Union([Type.Literal('token'), Type.Literal('open'), Type.Literal('connect')], { description: 'what the token is for, as the audit log records it: token (default), open (a browser link) or connect (a TCP tunnel)' })),
}, { additionalProperties: false });

/** Statuses a user stop moves from, and where to. */
const STOP: Partial<Record<InstanceStatus, InstanceStatus>> = { queued: 'stopped', starting: 'stopping', active: 'stopping', idle: 'stopping' };

/**
 * The instances API: launch, list, show, stop, remove, export, clone and gateway tokens.
 *
 * `GET /instances?follow=1` (with the list's filters) and `GET /instances/:id?follow=1` are
 * server-sent events for the dashboard: an `instances` event (`{instances: [...]}`) or an
 * `instance` event (the view) on connect and whenever the answer changes, read every WATCH_MS.
 * Reading again beats hooking every status write: idle time and agent-offline marks change
 * without a write, and a second-old list is live enough for people.
 */
export function instanceRoutes(app: FastifyInstance, deps: InstanceRouteDeps): void {
  const { store, auth, keys, hosts, clock, log } = deps;
  const watchMs = deps.watchMs ?? WATCH_MS;
  const tokens = new GatewayTokens(keys, hosts, deps.notBefore);
  const openStream = eventStreams(app, (request) => auth.stillValid(request));

  /** Sends `read()`'s answer as `event` now and whenever it changes, until the client goes. */
  async function watch(request: FastifyRequest, reply: FastifyReply, comment: string, event: string, read: () => Promise<unknown>): Promise<void> {
    const stream = openStream(request, reply, comment);
    let last = '';
    let reading = false;
    const tick = async () => {
      if (reading || stream.closed) return;
      reading = true;
      try {
        const data = await read();
        const text = changeKey(data);
        if (text !== last) stream.send(data, { event });
        last = text;
      } catch (err) {
        // The instance went away or the store is closing: the client reconnects and sees why.
        if (!stream.closed) log.warn({ err: (err as Error).message, event }, 'follow ended');
        reply.raw.end();
      } finally {
        reading = false;
      }
    };
    await tick();
    const timer = setInterval(() => void tick(), watchMs);
    stream.onClose(() => clearInterval(timer));
    await stream.done;
  }

  /**
   * Views of instances, each owner's name looked up once. With the `caller`, each says what
   * they may do with it (`access`), and one they may only view shows its config as a viewer
   * sees it (viewerConfig: no secrets).
   */
  async function views(instances: Instance[], caller?: User): Promise<InstanceView[]> {
    const names = new Map<string, string>();
    const access = new Map<string, InstanceAccess | undefined>();
    for (const i of instances) {
      if (!names.has(i.owner)) names.set(i.owner, (await store.users.get(i.owner))?.name ?? i.owner);
      if (caller) access.set(i.id, await accessOf(store, caller, i));
    }
    const now = clock();
    return instances.map((i) => {
      const a = access.get(i.id);
      const view = instanceView(a === 'viewer' ? { ...i, config: viewerConfig(i.config) } : i, names.get(i.owner)!, hosts, now);
      return a ? { ...view, access: a } : view;
    });
  }
  const view = async (i: Instance, caller?: User) => (await views([i], caller))[0];

  app.post('/api/v1/instances', async (request, reply) => {
    const me = auth.user(request);
    const { config, spec } = await checkConfig(store, me, request.body);
    const instance = await store.instances.create({ owner: me.id, config, spec });
    await audit(store, me, 'instance.launch', { instance: instance.id, detail: { app: instance.app, name: instance.name, project: instance.project, queue: instance.queue } });
    deps.jobs?.queued();
    // A queue no agent serves says so at once, not after the sweeper's next pass.
    const noticed = await updateQueueNotices({ store, console: deps.console, log }, [instance.queue]);
    const fresh = noticed.includes(instance.id) ? (await store.instances.get(instance.id)) ?? instance : instance;
    return reply.code(201).send(await view(fresh, me));
  });

  app.get('/api/v1/instances', async (request, reply) => {
    const me = auth.user(request);
    const q = parse(InstanceQuery, request.query ?? {});
    const filter = await listFilter(me, q);
    const finishedLimit = q.finishedLimit === undefined ? undefined : Number(q.finishedLimit);
    const list = async () => {
      if (!filter) return finishedLimit === undefined ? { instances: [] } : { instances: [], finishedLeftOut: 0 };
      if (finishedLimit === undefined) return { instances: await views(await store.instances.list(filter), me) };
      const { instances, leftOut } = await capFinished(filter, finishedLimit);
      return { instances: await views(instances, me), finishedLeftOut: leftOut };
    };
    if (!following(q.follow)) return list();
    return watch(request, reply, 'instances', 'instances', list);
  });

  /**
   * Every instance of `filter` but stopped and failed ones, and the newest `limit` of those:
   * what stays readable after weeks of use. Newest first, as `list` answers.
   */
  async function capFinished(filter: InstanceFilter, limit: number): Promise<{ instances: Instance[]; leftOut: number }> {
    const wanted = filter.status === undefined ? INSTANCE_STATUSES : [filter.status].flat();
    const open = wanted.filter((s) => !isFinished(s));
    const done = wanted.filter(isFinished);
    const running = open.length ? await store.instances.list({ ...filter, status: open }) : [];
    const finished = done.length && limit > 0 ? await store.instances.list({ ...filter, status: done, limit }) : [];
    const leftOut = done.length ? (await store.instances.count({ ...filter, status: done })) - finished.length : 0;
    const instances = [...running, ...finished].sort((a, b) => b.created - a.created || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
    return { instances, leftOut };
  }

  /** The store filter of a list query, or undefined when it can match nothing (an unknown owner). */
  async function listFilter(me: User, q: Static<typeof InstanceQuery>): Promise<InstanceFilter | undefined> {
    const filter: InstanceFilter = { project: q.project, tag: q.tag, queue: q.queue };
    if (q.status !== undefined) {
      const statuses = q.status.split(',').map((s) => s.trim());
      for (const s of statuses) {
        if (!(INSTANCE_STATUSES as readonly string[]).includes(s)) throw new ValidationError('status', `"${s}" is not a status (${INSTANCE_STATUSES.join(', ')})`);
      }
      filter.status = statuses as InstanceStatus[];
    }
    if (!me.admin) {
      if (q.owner !== undefined && q.owner !== me.name) throw new ControlError('CTL_FORBIDDEN', 'owner: only an admin sees other users\' instances');
      // Theirs, and those shared with them; `?owner=` their own name: only theirs.
      if (q.owner === undefined) filter.visibleTo = me.id;
      else filter.owner = me.id;
    } else if (q.owner !== undefined) {
      const owner = await store.users.getByName(q.owner);
      if (!owner) return undefined;
      filter.owner = owner.id;
    }
    return filter;
  }

  app.get<{ Params: { id: string } }>('/api/v1/instances/:id', async (request, reply) => {
    const me = auth.user(request);
    const q = parse(InstanceShowQuery, request.query ?? {});
    const first = await instanceFor(store, me, request.params.id, 'viewer');
    if (!following(q.follow)) return view(first, me);
    return watch(request, reply, `instance ${first.id}`, 'instance', async () => view(await instanceFor(store, me, first.id, 'viewer'), me));
  });

  app.post<{ Params: { id: string } }>('/api/v1/instances/:id/stop', async (request) => {
    const me = auth.user(request);
    const instance = await instanceFor(store, me, request.params.id, 'owner');
    const to = STOP[instance.status];
    if (!to) throw new ControlError('CTL_ILLEGAL_TRANSITION', `instance "${instance.id}" is ${instance.status}: only a queued, starting, active or idle instance can be stopped`);
    const stopped = await store.instances.updateStatus(instance.id, to, null);
    await audit(store, me, 'instance.stop', { instance: instance.id, detail: { from: instance.status } });
    return view(stopped, me);
  });

  // Forgets a stopped or failed instance: its row, console and metrics; its snapshots unless
  // `?snapshots=1` asks for them too (kept, `workspace.restoreFrom` and clone still work).
  app.delete<{ Params: { id: string } }>('/api/v1/instances/:id', async (request) => {
    const me = auth.user(request);
    const q = parse(RemoveQuery, request.query ?? {});
    const withSnapshots = q.snapshots === '1' || q.snapshots === 'true';
    // A removed instance whose snapshots were kept can be removed again, with them.
    const found = await instanceFor(store, me, request.params.id, 'owner', { removed: withSnapshots });
    const { snapshots } = await store.instances.remove(found.id, { snapshots: withSnapshots });
    await audit(store, me, 'instance.remove', { instance: found.id, project: found.project, detail: { snapshots: withSnapshots } });
    await deps.history?.forget(found.id);
    deps.routes?.remove(found.id);
    for (const s of snapshots) {
      // The row is gone; a blob left behind is only disk, and the next removal of its digest retries.
      await deps.blobs?.remove(s.sha256, store.snapshots).catch((err: unknown) => log.warn({ err, snapshot: s.id, instance: found.id }, 'snapshot blob not deleted'));
    }
    const kept = withSnapshots ? 0 : (await store.snapshots.list({ instance: found.id })).length;
    return { id: found.id, removed: true, snapshotsRemoved: snapshots.map((s) => s.id), snapshotsKept: kept };
  });

  app.get<{ Params: { id: string } }>('/api/v1/instances/:id/config', async (request) => {
    return (await instanceFor(store, auth.user(request), request.params.id, 'user')).config;
  });

  app.post<{ Params: { id: string } }>('/api/v1/instances/:id/clone', async (request) => {
    const me: User = auth.user(request);
    // A removed instance whose snapshots are kept is cloned as before: its config is kept with them.
    // Its project's users clone it too (checkRestorable), into the same project.
    const instance = await instanceFor(store, me, request.params.id, 'user', { removed: true });
    if (instance.owner !== me.id && !me.admin && !OPENS_APPS.has((await projectRole(store, me, instance.project)) ?? 'viewer')) {
      throw new ControlError('CTL_FORBIDDEN', `only the owner of ${instance.id}, admins and the users of its project clone it`);
    }
    await checkRestorable(store, me, instance.id, 'workspace.restoreFrom', instance.project);
    return cloneAppConfig(instance.config, instance.id);
  });

  app.post<{ Params: { id: string } }>('/api/v1/instances/:id/token', async (request) => {
    const me = auth.user(request);
    const instance = await instanceFor(store, me, request.params.id, 'user');
    const body = parse(TokenRequest, request.body ?? {});
    const now = clock();
    const issued = await tokens.apiToken({ sub: me.id, scope: [instance.id], lifetimeS: body.lifetimeS }, now);
    const link = await tokens.browserLink({ sub: me.id, instance: instance.id }, now);
    await audit(store, me, 'app.token', { instance: instance.id, detail: { purpose: body.purpose ?? 'token' } });
    const { links } = await view(instance);
    return {
      token: issued.token,
      scope: issued.scope,
      expiresAt: new Date(issued.expiresAt).toISOString(),
      link: link.url,
      linkExpiresAt: new Date(link.expiresAt).toISOString(),
      endpoint: links.endpoint,
      links: { ...links, browser: link.url },
      // The gateway's main host: where `wharf connect` opens its tunnel.
      gateway: new URL(hosts.publicUrl).origin,
    };
  });
}
