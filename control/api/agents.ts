import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { INSTANCE_STATUSES, isFinished, type InstanceStatus } from '../../protocol/instance-status.ts';
import { LEASE_EPOCH_HEADER, parseLeaseEpoch } from '../../protocol/lease-epoch.ts';
import { ResourceSampleReport } from '../../protocol/resource-sample.ts';
import { parse } from '../../protocol/validate.ts';
import { PortPinner, routeOf, type StoredEndpoint } from '../agents/endpoint-routes.ts';
import type { JobSignal } from '../agents/job-signal.ts';
import { AGENT_OFFLINE } from '../agents/sweeper.ts';
import { audit } from '../audit/audit-log.ts';
import { ControlError } from '../errors.ts';
import type { RouteLog } from '../routes/route-log.ts';
import type { Agent, Clock, Instance, Reporter, Store } from '../store/store.ts';
import type { ApiAuth } from './auth.ts';
import type { ConsoleFeed } from '../console/console-feed.ts';
import type { MetricsHistory } from '../metrics/history.ts';
import type { IdleMonitor } from '../idle/idle-monitor.ts';
import { updateQueueNotices } from '../instances/queue-notice.ts';
import { takeSnapshotRequests } from './snapshot-requests.ts';
import { restorableInto } from '../snapshots/restore-source.ts';

/*
 * Agents (DESIGN.md "Agent lifecycle", "Queues").
 *
 * Admin side, API token: POST /api/v1/agents {name, queues} (key + secret, shown once),
 * GET /api/v1/agents, POST /api/v1/agents/:id/drain.
 *
 * Agent side, under AGENT_PREFIX, `Authorization: Bearer <WHARF_AGENT_KEY>:<WHARF_AGENT_SECRET>`:
 * - POST heartbeat {resources?, queues?} → {stop: [instance ids to stop], instances: [ids it
 *   holds], snapshot: [ids whose workspace to snapshot now], drain, leaseTimeoutMs}; renews
 *   the agent's leases and marks it online.
 * - POST lease?wait=MS → 200 {instance, queue, spec, attempts, leaseExpires, leaseTimeoutMs}
 *   (the oldest job of the first of its queues that has one; instance now `starting`; `restore`
 *   {snapshot, sha256, from} names the snapshot workspace.restoreFrom resolves to, else null), or 204
 *   after waiting up to `wait` (default 25 s, at most 60 s) with none.
 * - POST instances/:id/status {status, reason?} → the instance's {id, status, statusReason}.
 * - POST instances/:id/endpoint {host, port, containerPort?} → {route}; the instance is active.
 * - DELETE instances/:id/endpoint → 204, route removed.
 * - POST instances/:id/console {lines: [{text, stream?, at?}]} → {seq}; followers are notified.
 * - POST instances/:id/samples (protocol/resource-sample.ts) → {recorded}: a resource sample
 *   into the metrics history (false: outside its retention), and a signal for the idle monitor.
 * Every instance report needs the agent to hold the instance: 409 CTL_LEASE_EXPIRED otherwise.
 * With `X-Wharf-Lease-Epoch: <attempts>` (the lease's fencing epoch), a report of an earlier
 * lease than the starting instance's current one is refused too (protocol/lease-epoch.ts).
 */

export const AGENT_PREFIX = '/api/v1/agent/';

export interface AgentApiOptions {
  leaseMs: number;
  /** The range control pins TCP gateway ports from. */
  tcpPorts: [number, number];
  /** Cap of `?wait=` on lease. */
  maxWaitMs?: number;
  /** How often a waiting lease looks at the queues again. */
  pollMs?: number;
}

export const DEFAULT_AGENT_API_OPTIONS: AgentApiOptions = { leaseMs: 30_000, tcpPorts: [20000, 20999] };

const DEFAULT_WAIT_MS = 25_000;
const MAX_WAIT_MS = 60_000;

const Name = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$', description: '1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit' });

export const NewAgent = Type.Object({
  name: Name,
  queues: Type.Array(Name, { default: ['default'], minItems: 1, maxItems: 32, description: 'queue names, in the order the agent takes them' }),
}, { additionalProperties: false });

const Heartbeat = Type.Object({
  resources: Type.Optional(Type.Unknown()),
  queues: Type.Optional(Type.Array(Name, { minItems: 1, maxItems: 32 })),
  /** The instances the agent has (launching or running): only their leases are renewed. Left out: every lease of the agent. */
  launching: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 100_000 })),
}, { additionalProperties: false });

const StatusReport = Type.Object({
  status: Type.Union(INSTANCE_STATUSES.map((s) => Type.Literal(s)), { description: INSTANCE_STATUSES.join(', ') }),
  reason: Type.Optional(Type.Union([Type.String({ maxLength: 2000 }), Type.Null()])),
}, { additionalProperties: false });

const EndpointReport = Type.Object({
  host: Type.String({ minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9.:_-]+$', description: 'the address gateways reach the published port at' }),
  port: Type.Integer({ minimum: 1, maximum: 65535 }),
  containerPort: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, description: 'the app port of the launch spec it publishes (default: the first)' })),
}, { additionalProperties: false });

const ConsoleReport = Type.Object({
  lines: Type.Array(Type.Object({
    text: Type.String({ maxLength: 16_384 }),
    stream: Type.Optional(Type.Union([Type.Literal('event'), Type.Literal('stdout'), Type.Literal('stderr')])),
    at: Type.Optional(Type.Integer({ minimum: 0 })),
  }, { additionalProperties: false }), { maxItems: 1000 }),
}, { additionalProperties: false });

/** Where agent reports go besides the store: console followers and the metrics history. */
export interface AgentFeeds {
  console?: ConsoleFeed;
  history?: MetricsHistory;
  /** Samples are one of the idle detector's signals. */
  idle?: IdleMonitor;
  /** Wakes a waiting lease when a job is queued, before its next look. */
  jobs?: JobSignal;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function agentView(a: Agent, apps: Instance[] = []) {
  return {
    id: a.id, name: a.name, key: a.key, queues: a.queues, state: a.state, drain: a.drain, lastSeen: iso(a.lastSeen),
    resources: a.resources ?? null, created: iso(a.created),
    apps: apps.map((i) => ({ id: i.id, name: i.name, status: i.status, statusReason: i.statusReason })),
  };
}

const RUNNING: InstanceStatus[] = ['starting', 'active', 'idle', 'stopping'];

export function agentRoutes(app: FastifyInstance, store: Store, auth: ApiAuth, routes: RouteLog, clock: Clock, options: AgentApiOptions = DEFAULT_AGENT_API_OPTIONS, feeds: AgentFeeds = {}): void {
  const agents = new WeakMap<FastifyRequest, Agent>();
  const pinner = new PortPinner(store, options.tcpPorts);
  const maxWait = options.maxWaitMs ?? MAX_WAIT_MS;
  const pollMs = options.pollMs ?? 200;
  let closed = false;
  app.addHook('onClose', async () => {
    closed = true;
  });

  // ---- admin side --------------------------------------------------------------------------

  app.post('/api/v1/agents', async (request, reply) => {
    const admin = auth.admin(request);
    const body = parse(NewAgent, request.body ?? {});
    const { agent, secret } = await store.agents.add({ name: body.name, queues: body.queues });
    await audit(store, admin, 'agent.add', { target: agent.id, detail: { name: agent.name, queues: agent.queues.join(',') } });
    return reply.code(201).send({ ...agentView(agent), secret });
  });

  app.get('/api/v1/agents', async (request) => {
    auth.admin(request);
    const list = await store.agents.list();
    const out = [];
    for (const a of list) out.push(agentView(a, await store.instances.list({ agent: a.id, status: RUNNING })));
    return { agents: out };
  });

  app.post<{ Params: { id: string } }>('/api/v1/agents/:id/drain', async (request) => {
    const admin = auth.admin(request);
    const agent = await findAgent(store, request.params.id);
    await store.agents.setDrain(agent.id, true);
    await audit(store, admin, 'agent.drain', { target: agent.id, detail: { name: agent.name } });
    await updateQueueNotices({ store, console: feeds.console }, agent.queues);
    // Its apps are snapshotted and stopped: the agent gets them as stop commands.
    for (const instance of await store.instances.list({ agent: agent.id, status: ['starting', 'active', 'idle'] })) {
      const stopped = await store.instances.updateStatus(instance.id, 'stopping', 'agent drain').then(() => true, () => false);
      if (stopped) await audit(store, admin, 'instance.stop', { instance: instance.id, detail: { from: instance.status, reason: 'agent drain' } });
    }
    const after = (await store.agents.get(agent.id))!;
    return agentView(after, await store.instances.list({ agent: agent.id, status: RUNNING }));
  });

  // A drained agent takes jobs again once resumed (after an upgrade or a reboot of its server).
  app.post<{ Params: { id: string } }>('/api/v1/agents/:id/resume', async (request) => {
    const admin = auth.admin(request);
    const agent = await findAgent(store, request.params.id);
    await store.agents.setDrain(agent.id, false);
    await audit(store, admin, 'agent.resume', { target: agent.id, detail: { name: agent.name } });
    await updateQueueNotices({ store, console: feeds.console }, agent.queues);
    const after = (await store.agents.get(agent.id))!;
    return agentView(after, await store.instances.list({ agent: agent.id, status: RUNNING }));
  });

  // ---- agent side --------------------------------------------------------------------------

  app.addHook('onRequest', async (request) => {
    if (!request.url.startsWith(AGENT_PREFIX)) return;
    const m = /^Bearer +([^\s:]+):(\S+)\s*$/i.exec(request.headers.authorization ?? '');
    const agent = m ? await store.agents.verify(m[1], m[2]) : undefined;
    if (!agent) throw new ControlError('CTL_AGENT_KEY', m ? 'this agent key and secret are unknown' : 'no agent credentials were sent');
    agents.set(request, agent);
  });
  const me = (request: FastifyRequest): Agent => {
    const agent = agents.get(request);
    if (!agent) throw new ControlError('CTL_AGENT_KEY');
    return agent;
  };

  app.post(`${AGENT_PREFIX}heartbeat`, async (request) => {
    const agent = me(request);
    const body = parse(Heartbeat, request.body ?? {});
    const updated = await store.agents.heartbeat(agent.id, body);
    // Online again, or other queues: the queued instances its queues hold say so at once.
    if (agent.state !== 'online' || agent.queues.join() !== updated.queues.join()) await updateQueueNotices({ store, console: feeds.console }, [...new Set([...agent.queues, ...updated.queues])]);
    await store.jobs.renew(agent.id, clock(), options.leaseMs, body.launching);
    const held = await store.instances.list({ agent: agent.id, status: RUNNING });
    // Back from silence: its instances no longer show "agent offline".
    for (const i of held) if (i.statusReason === AGENT_OFFLINE) await store.instances.setStatusReason(i.id, null);
    return {
      agent: updated.id,
      drain: updated.drain,
      leaseTimeoutMs: options.leaseMs,
      stop: held.filter((i) => i.status === 'stopping').map((i) => i.id),
      instances: held.map((i) => i.id),
      snapshot: takeSnapshotRequests(store, held.map((i) => i.id)),
    };
  });

  app.post<{ Querystring: { wait?: string } }>(`${AGENT_PREFIX}lease`, async (request, reply) => {
    const agent = me(request);
    const raw = request.query.wait;
    if (raw !== undefined && !/^\d+$/.test(raw)) throw new ControlError('CTL_INVALID', 'wait must be a whole number of milliseconds');
    const wait = Math.min(raw === undefined ? DEFAULT_WAIT_MS : Number(raw), maxWait);
    const deadline = Date.now() + wait;
    for (;;) {
      // The queues as the agent last reported them (heartbeat), else as added.
      const current = (await store.agents.get(agent.id)) ?? agent;
      const job = await store.jobs.lease(agent.id, current.queues, options.leaseMs, clock());
      if (job) {
        const instance = (await store.instances.get(job.instance))!;
        // Gateways know the app from now on: its address says "setting up" until its endpoint comes.
        const starting = routeOf(instance);
        if (starting) routes.upsert(starting);
        // The snapshot a restore downloads: the newest of the source instance (whose use the launch checked: configs.ts).
        const from = instance.spec.workspace.restoreFrom;
        const sourceInstance = from ? await store.instances.get(from, { removed: true }) : undefined;
        const source = from ? (await store.snapshots.list({ instance: from })).find((s) => restorableInto(s, sourceInstance, instance)) : undefined;
        return {
          instance: instance.id, queue: job.queue, spec: instance.spec, attempts: job.attempts,
          leaseExpires: iso(job.leaseExpires), leaseTimeoutMs: options.leaseMs,
          restore: source ? { snapshot: source.id, sha256: source.sha256, from: source.instance } : null,
        };
      }
      const left = deadline - Date.now();
      if (closed || request.raw.destroyed || request.raw.socket?.destroyed || left <= 0) break;
      // Until the next look, or until a job is queued (here, or through another control).
      const pause = Math.min(pollMs, left);
      await (feeds.jobs ? feeds.jobs.wait(pause) : new Promise((r) => setTimeout(r, pause)));
    }
    return reply.code(204).send();
  });

  app.post<{ Params: { id: string } }>(`${AGENT_PREFIX}instances/:id/status`, async (request) => {
    const agent = me(request);
    const body = parse(StatusReport, request.body ?? {});
    // `stopping → stopped` without a reason keeps why it was stopping ("idle limit reached", "agent drain").
    let reason = body.reason ?? null;
    if (reason === null && body.status === 'stopped') {
      const current = await store.instances.get(request.params.id);
      if (current?.status === 'stopping') reason = current.statusReason;
    }
    const instance = await store.instances.updateStatus(request.params.id, body.status, reason, reporter(request, agent.id));
    if (isFinished(instance.status) || !routeOf(instance)) routes.remove(instance.id);
    return { id: instance.id, status: instance.status, statusReason: instance.statusReason };
  });

  app.post<{ Params: { id: string } }>(`${AGENT_PREFIX}instances/:id/endpoint`, async (request) => {
    const agent = me(request);
    const body = parse(EndpointReport, request.body ?? {});
    const id = request.params.id;
    const by = reporter(request, agent.id);
    await store.jobs.assertHolder(agent.id, id, clock(), by.epoch);
    const instance = await store.instances.get(id);
    if (!instance) throw new ControlError('CTL_NOT_FOUND', `no instance with id "${id}"`);
    const published = body.containerPort === undefined ? instance.spec.ports[0] : instance.spec.ports.find((p) => p.port === body.containerPort);
    if (!published) {
      throw new ControlError('CTL_INVALID', body.containerPort === undefined
        ? `instance ${id} publishes no port (routing none): it has no endpoint`
        : `containerPort: instance ${id} does not publish port ${body.containerPort}`);
    }
    const endpoint: StoredEndpoint = { host: body.host, port: body.port, routing: published.routing, containerPort: published.port };
    const save = async (gatewayPort?: number) => {
      const stored = gatewayPort === undefined ? endpoint : { ...endpoint, gatewayPort };
      return store.instances.setEndpoint(id, stored as unknown as Record<string, unknown>, by);
    };
    let updated = published.routing === 'tcp' ? await pinner.pin(instance, save) : await save();
    if (updated.status === 'starting') updated = await store.instances.updateStatus(id, 'active', null, by);
    const route = routeOf(updated);
    if (!route) throw new ControlError('CTL_INVALID', `instance ${id} is ${updated.status}: it gets no route`);
    routes.upsert(route);
    return { id, status: updated.status, route };
  });

  app.delete<{ Params: { id: string } }>(`${AGENT_PREFIX}instances/:id/endpoint`, async (request, reply) => {
    const agent = me(request);
    await store.instances.setEndpoint(request.params.id, null, reporter(request, agent.id));
    routes.remove(request.params.id);
    return reply.code(204).send();
  });

  app.post<{ Params: { id: string } }>(`${AGENT_PREFIX}instances/:id/console`, async (request) => {
    const agent = me(request);
    const body = parse(ConsoleReport, request.body ?? {});
    await store.jobs.assertHolder(agent.id, request.params.id, clock(), reporter(request, agent.id).epoch);
    const seq = await store.console.append(request.params.id, body.lines);
    feeds.console?.notify(request.params.id, seq);
    return { seq };
  });

  app.post<{ Params: { id: string } }>(`${AGENT_PREFIX}instances/:id/samples`, async (request) => {
    const agent = me(request);
    const body = parse(ResourceSampleReport, request.body ?? {});
    const now = clock();
    await store.jobs.assertHolder(agent.id, request.params.id, now, reporter(request, agent.id).epoch);
    // A sample kept by the agent while control was away is history, not the app's present.
    if (body.at === undefined || now - body.at < STALE_SAMPLE_MS) feeds.idle?.sample(request.params.id, body, now);
    if (!feeds.history) return { recorded: false };
    return { recorded: await feeds.history.recordSample(request.params.id, body, now) };
  });
}

/** Older than this, a sample goes to the history only, not to idle detection. */
const STALE_SAMPLE_MS = 30_000;

async function findAgent(store: Store, idOrName: string): Promise<Agent> {
  const agent = (await store.agents.get(idOrName)) ?? (await store.agents.list()).find((a) => a.name === idOrName);
  if (!agent) throw new ControlError('CTL_NOT_FOUND', `no agent "${idOrName}"`);
  return agent;
}

/** The agent, with the fencing epoch of the lease its report is made under (protocol/lease-epoch.ts), when it sent one. */
function reporter(request: FastifyRequest, agent: string): Reporter {
  let epoch: number | undefined;
  try {
    epoch = parseLeaseEpoch(request.headers[LEASE_EPOCH_HEADER]);
  } catch (err) {
    throw new ControlError('CTL_INVALID', (err as Error).message);
  }
  return epoch === undefined ? { agent } : { agent, epoch };
}
