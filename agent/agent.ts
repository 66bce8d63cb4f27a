import type Docker from 'dockerode';
import type { Logger } from 'pino';
import { App, type AppContext } from './app.ts';
import { AgentMetrics } from './agent-metrics.ts';
import { adoptedSpec, APPLICATION, containerName, LABEL_AGENT, LABEL_INSTANCE, LABEL_TYPE } from './container-options.ts';
import type { LaunchSpec } from '../protocol/launch-spec.ts';
import { AgentControlApi, ControlApiError, isLeaseLost, UnrunnableJob, type HeartbeatAnswer } from './control-api.ts';
import { HostMonitor } from './host-monitor.ts';
import { ensureAppNetwork } from './isolation/app-network.ts';
import { ensureInputRule } from './isolation/published-ports-rule.ts';
import { EngineWatch } from './engine-watch.ts';
import { SampleOutbox } from './monitoring/sample-outbox.ts';
import { ResourceSampler } from './monitoring/sampler.ts';
import type { ReadyAgentSettings } from './settings.ts';

/*
 * The agent: a heartbeat loop (renews leases, carries stop commands and drain, reports host
 * resources) and a lease loop (long-polls the queues while fewer than WHARF_MAX_APPS apps
 * run). Apps are `App`s; this file decides only which run. Lifecycle (DESIGN.md "Agent
 * lifecycle"): at start it makes sure of the isolation apps get (agent/isolation/: the app
 * network, and the INPUT rule a non-loopback bind needs), then adopts the containers labelled
 * with its id; on close (SIGTERM) it stops asking for work and leaves every app running.
 */

const LEASE_WAIT_MS = 25_000;
const RETRY_MS = 1_000;

export interface RunningAgent {
  id: string;
  metrics: AgentMetrics;
  /** Apps by instance id. */
  apps: ReadonlyMap<string, App>;
  close(): Promise<void>;
}

export async function startAgent(settings: ReadyAgentSettings, docker: Docker, log: Logger): Promise<RunningAgent> {
  // Before any job: an app must never start where it could reach another.
  const network = await ensureAppNetwork(docker);
  await ensureInputRule(docker, { bridge: network.bridge, bind: settings.bind, image: settings.firewallImage, labels: settings.labels }, log);
  const api = new AgentControlApi(settings.controlUrl, settings.key, settings.secret);
  const metrics = new AgentMetrics();
  let diskPath: string | null = null;
  try {
    diskPath = ((await docker.info()) as { DockerRootDir?: string }).DockerRootDir ?? null;
  } catch { /* reported as unknown */ }
  const monitor = new HostMonitor(diskPath);
  const apps = new Map<string, App>();
  let closed = false;
  let drain = false;
  const leaseAbort = new AbortController();
  let slotFreed: () => void = () => undefined;

  const resources = () => {
    const r = monitor.sample();
    metrics.host(r, apps.size);
    return { ...r, apps: apps.size, maxApps: settings.maxApps };
  };

  // The first heartbeat checks the credentials and tells us who we are and what we hold.
  let first: HeartbeatAnswer;
  try {
    first = await api.heartbeat({ resources: resources(), ...(settings.queues ? { queues: settings.queues } : {}) });
  } catch (err) {
    if (err instanceof ControlApiError && err.status === 401) throw new Error(`control refused this agent (${err.code}): check WHARF_AGENT_KEY and WHARF_AGENT_SECRET, as printed by \`wharf agents add NAME\``);
    throw err;
  }
  const agentId = first.agent;
  drain = first.drain;

  // The apps' waits on their containers are not told when the Engine goes away: this is.
  const engine = new EngineWatch(docker, log);
  await engine.start();
  const ctx: AppContext = {
    docker, api, log, engine,
    host: { agentId, labels: settings.labels, bind: settings.bind, network: network.name, memory: settings.defaultMemory, nanoCpus: settings.defaultCpus },
    endpointHost: settings.host ?? settings.bind,
    readinessTimeoutMs: settings.readinessTimeoutS * 1000,
    stopTimeoutS: settings.stopTimeoutS,
  };

  const track = (app: App) => {
    apps.set(app.id, app);
    void app.done.then(() => {
      if (apps.get(app.id) === app) apps.delete(app.id);
      slotFreed();
    });
  };

  await adopt(first);

  /** Containers labelled with this agent: running ones are ours again, the rest are settled. */
  async function adopt(answer: HeartbeatAnswer): Promise<void> {
    const held = new Set(answer.instances);
    const stop = new Set(answer.stop);
    const found = await docker.listContainers({ all: true, filters: { label: [`${LABEL_TYPE}=${APPLICATION}`, `${LABEL_AGENT}=${agentId}`] } });
    const seen = new Set<string>();
    for (const info of found) {
      const id = info.Labels[LABEL_INSTANCE];
      if (!id) continue;
      seen.add(id);
      if (!held.has(id)) {
        // Control considers it stopped, re-queued or another agent's: an exited one is kept
        // for inspection (prune removes it); a running one must not run twice.
        if (info.State === 'running' || info.State === 'created') {
          log.info({ instance: id }, 'removing a container control no longer gives this agent');
          await docker.getContainer(info.Id).remove({ force: true }).catch(() => undefined);
        }
        continue;
      }
      const spec = await specOf(info);
      const app = new App(ctx, id, spec);
      track(app);
      void app.adopt(info, stop.has(id) ? (answer.drain ? 'agent drain' : 'stop requested') : undefined);
    }
    for (const id of held) {
      if (seen.has(id)) continue;
      if (stop.has(id)) {
        await api.status(id, 'stopped', null).catch(() => undefined);
        continue;
      }
      log.warn({ instance: id }, 'no container for a held instance: the agent stopped before creating it, or it was removed');
      await api.status(id, 'failed', `no container ${containerName(id)}: the agent was stopped before it created it (image check or pull), or it was removed while the agent was down`).catch(() => undefined);
    }
  }

  /** The spec an adopted app runs with: rebuilt from its labels, as control does not send it again. */
  async function specOf(info: Docker.ContainerInfo): Promise<LaunchSpec> {
    const env = await docker.getContainer(info.Id).inspect().then((i) => i.Config.Env ?? [], () => []);
    return adoptedSpec(info.Image, info.Labels, env);
  }

  async function heartbeatLoop(): Promise<void> {
    while (!closed) {
      await sleep(settings.heartbeatS * 1000);
      if (closed) return;
      const sent = Date.now();
      let answer: HeartbeatAnswer;
      try {
        answer = await api.heartbeat({ resources: resources(), launching: [...apps.keys()] });
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'heartbeat failed');
        continue;
      }
      drain = answer.drain;
      const held = new Set(answer.instances);
      for (const id of answer.stop) {
        const app = apps.get(id);
        if (app) void app.stop(drain ? 'agent drain' : 'stop requested');
      }
      for (const id of answer.snapshot) void apps.get(id)?.snapshotNow(); // `wharf snapshot ID`
      for (const app of apps.values()) {
        // Leased before this heartbeat was answered, yet not ours: the lease went elsewhere.
        if (!held.has(app.id) && app.since < sent && app.phase !== 'done') void app.abandon('control no longer gives this instance to this agent');
      }
    }
  }

  async function leaseLoop(): Promise<void> {
    while (!closed) {
      if (drain || apps.size >= settings.maxApps) {
        await new Promise<void>((resolve) => {
          slotFreed = resolve;
          setTimeout(resolve, settings.heartbeatS * 1000).unref();
        });
        continue;
      }
      let job;
      try {
        job = await api.lease(LEASE_WAIT_MS, leaseAbort.signal);
      } catch (err) {
        if (closed) return;
        if (err instanceof UnrunnableJob) {
          // Left alone, its lease would expire and the job come back here, again and again.
          log.error({ instance: err.instance, err: err.message }, 'leased job cannot run');
          await api.status(err.instance, 'failed', err.message).catch(() => undefined);
          continue;
        }
        log.warn({ err: (err as Error).message }, 'lease failed; retrying');
        await sleep(RETRY_MS);
        continue;
      }
      if (!job || closed) continue;
      const app = new App(ctx, job.instance, job.spec);
      track(app);
      log.info({ instance: job.instance, queue: job.queue, image: job.spec.image }, 'launching');
      const t0 = Date.now();
      void app.launch(job.queue, job.attempts).then(() => {
        metrics.launched(app.phase === 'active' ? 'active' : 'failed', (Date.now() - t0) / 1000);
      }).catch((err) => {
        if (!isLeaseLost(err)) log.error({ instance: job.instance, err: (err as Error).message }, 'launch crashed');
      });
    }
  }

  const loops = [heartbeatLoop(), leaseLoop()];
  // Resource samples of every active app, to control and /metrics (agent/monitoring/).
  // While control is away they wait, bounded, and go once it answers (monitoring/sample-outbox.ts).
  const outbox = new SampleOutbox({ report: (id, sample) => api.samples(id, sample), log, onChange: (waiting, dropped) => metrics.samples(waiting, dropped) });
  const sampler = new ResourceSampler({ docker, apps, report: (id, sample) => outbox.send(id, sample), metrics, log, intervalS: settings.sampleIntervalS });
  sampler.start();

  return {
    id: agentId,
    metrics,
    apps,
    async close() {
      closed = true;
      leaseAbort.abort();
      await sampler.stop();
      outbox.close();
      engine.close();
      slotFreed();
      // Apps keep running; a restarted agent adopts them.
      await Promise.all([...apps.values()].map((a) => a.detach()));
      await Promise.race([Promise.allSettled(loops), sleep(settings.heartbeatS * 1000 + 500)]);
    },
  };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());
