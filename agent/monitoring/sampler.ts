import { cpus } from 'node:os';
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import type { LaunchSpec } from '../../protocol/launch-spec.ts';
import type { GpuSample, ResourceSampleReport } from '../../protocol/resource-sample.ts';
import { containerSample, cpuLimitsOf, type ContainerSample, type CpuLimits, type DockerStats } from './container-sample.ts';
import { activityTarget, probeActivity } from './activity-probe.ts';
import { GpuRunner } from './gpu-runner.ts';
import { assignedGpus, wantsGpus, type DeviceRequest, type GpuReading } from './nvidia-smi.ts';

/*
 * The agent's resource sampling loop (issue 6, "Monitoring"): every WHARF_SAMPLE_INTERVAL_S,
 * for each active app of the agent, one `stats` document of its container (and `nvidia-smi`
 * once per tick when some app has GPUs), turned into a sample by container-sample.ts, sent to
 * control (`samples`, its metrics history and idle detection) and set on the agent's /metrics.
 *
 * - The apps map is read afresh each tick: an app that ended (or is no longer active) loses
 *   its state and its /metrics label sets.
 * - Apps are sampled concurrently. A tick waits for them at most one interval; a container
 *   whose sample is still under way then is skipped by the next tick, and its Engine calls
 *   are aborted after REQUEST_TIMEOUT_MS (a `stats` call with stream=false takes the Engine
 *   about a second, as it reads the CPU twice), so one slow or failing container never holds
 *   the others back.
 * - Ticks never overlap: the next is scheduled when one ends, at the interval from its start.
 * - Failures (a container gone between the map and the Engine, control refusing a report
 *   after a lease moved, nvidia-smi failing) are logged at debug only: they are routine and
 *   the next tick tries again.
 */

/** What the sampler reads of an app (agent/app.ts's App has these). */
export interface SampledApp {
  readonly phase: string;
  readonly containerId: string | undefined;
  /** Its activity probe (and the env holding the probe's token), where the kind has one. */
  readonly spec?: Pick<LaunchSpec, 'activity' | 'env'>;
}

/** Where samples go besides control: the agent's /metrics. */
export interface SampleSink {
  appSample(instance: string, sample: ResourceSampleReport): void;
  appGone(instance: string): void;
}

export interface SamplerOptions {
  docker: Docker;
  apps: ReadonlyMap<string, SampledApp>;
  /** Sends a sample to control (AgentControlApi.samples). */
  report: (instance: string, sample: ResourceSampleReport) => Promise<unknown>;
  metrics: SampleSink;
  log: Logger;
  intervalS: number;
  gpus?: Pick<GpuRunner, 'available' | 'read'>;
}

interface AppState {
  containerId: string;
  previous?: DockerStats;
  limits?: CpuLimits;
  deviceRequests?: DeviceRequest[];
  activity?: { host: string; port: number };
  busy?: Promise<void>;
}

const REQUEST_TIMEOUT_MS = 10_000;

/** A sample as control's schema takes it: only measured fields, GPUs with a known utilization. */
export function toReport(s: ContainerSample, gpus: GpuReading[] | undefined): ResourceSampleReport {
  const r: ResourceSampleReport = {};
  if (s.at > 0) r.at = s.at;
  if (s.cpuPercent !== undefined) r.cpuPercent = s.cpuPercent;
  if (s.memoryBytes !== undefined) r.memoryBytes = Math.round(s.memoryBytes);
  if (s.memoryLimitBytes !== undefined) r.memoryLimitBytes = Math.round(s.memoryLimitBytes);
  for (const k of ['networkBytesPerS', 'networkRxBytesPerS', 'networkTxBytesPerS', 'blockReadBytesPerS', 'blockWriteBytesPerS'] as const) {
    if (s[k] !== undefined) r[k] = s[k];
  }
  if (gpus) {
    const measured: GpuSample[] = gpus.filter((g) => g.utilizationPercent !== undefined).map((g) => ({
      index: g.index,
      ...(g.uuid ? { uuid: g.uuid.slice(0, 128) } : {}),
      ...(g.name ? { name: g.name.slice(0, 256) } : {}),
      utilizationPercent: g.utilizationPercent!,
      ...(g.memoryUsedBytes !== undefined ? { memoryUsedBytes: g.memoryUsedBytes } : {}),
      ...(g.memoryTotalBytes !== undefined ? { memoryTotalBytes: g.memoryTotalBytes } : {}),
    }));
    if (measured.length) {
      r.gpus = measured.slice(0, 64);
      r.gpuPercent = Math.max(...measured.map((g) => g.utilizationPercent));
    }
  }
  return r;
}

export class ResourceSampler {
  readonly #o: SamplerOptions;
  readonly #gpus: Pick<GpuRunner, 'available' | 'read'>;
  readonly #states = new Map<string, AppState>();
  readonly #hostCpus = cpus().length || 1;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = true;

  constructor(options: SamplerOptions) {
    this.#o = options;
    this.#gpus = options.gpus ?? new GpuRunner();
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#schedule(this.#o.intervalS * 1000);
  }

  /** Stops the loop; waits for a tick under way (at most one interval). */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      const t0 = Date.now();
      this.#running = this.tick().catch((err) => this.#o.log.debug({ err: (err as Error).message }, 'resource sampling tick failed'))
        .finally(() => {
          this.#running = undefined;
          this.#schedule(Math.max(0, this.#o.intervalS * 1000 - (Date.now() - t0)));
        });
    }, ms);
    this.#timer.unref();
  }

  /** One round over the apps (exposed for tests). */
  async tick(): Promise<void> {
    const active = new Map<string, string>();
    for (const [id, app] of this.#o.apps) {
      if (app.phase === 'active' && app.containerId) active.set(id, app.containerId);
    }
    for (const [id, state] of this.#states) {
      if (active.get(id) !== state.containerId) {
        this.#states.delete(id);
        this.#o.metrics.appGone(id);
      }
    }
    for (const [id, containerId] of active) {
      if (!this.#states.has(id)) this.#states.set(id, { containerId });
    }

    // nvidia-smi once for every app of this tick, and only when some app has GPUs.
    const needGpus = [...this.#states.values()].some((s) => wantsGpus(s.deviceRequests));
    const gpuReadings: Promise<GpuReading[] | undefined> = needGpus && this.#gpus.available
      ? this.#gpus.read().catch((err) => {
        this.#o.log.debug({ err: (err as Error).message }, 'nvidia-smi failed');
        return undefined;
      })
      : Promise.resolve(undefined);

    const wait = Math.max(1000, this.#o.intervalS * 1000);
    const work: Promise<void>[] = [];
    for (const [id, state] of this.#states) {
      if (state.busy) continue; // its previous sample is still under way
      const p = this.#sample(id, state, gpuReadings).catch((err) => {
        this.#o.log.debug({ instance: id, err: (err as Error).message }, 'resource sample failed');
      }).finally(() => {
        state.busy = undefined;
      });
      state.busy = p;
      work.push(p);
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(work),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, wait);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
  }

  async #sample(id: string, state: AppState, gpuReadings: Promise<GpuReading[] | undefined>): Promise<void> {
    const container = this.#o.docker.getContainer(state.containerId);
    const signal = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
    if (!state.limits) {
      const info = await container.inspect({ abortSignal: signal } as Record<string, unknown>);
      const host = (info.HostConfig ?? {}) as unknown as Record<string, unknown>;
      state.limits = cpuLimitsOf(host);
      state.deviceRequests = (host.DeviceRequests as DeviceRequest[] | null | undefined) ?? [];
      const spec = this.#o.apps.get(id)?.spec;
      if (spec) state.activity = activityTarget(spec, info as never);
    }
    const stats = (await container.stats({ stream: false, abortSignal: signal } as { stream: false })) as unknown as DockerStats;
    if (this.#states.get(id) !== state) return; // the app ended meanwhile
    const sample = containerSample(stats, state.previous, state.limits, this.#hostCpus);
    state.previous = stats;
    let gpus: GpuReading[] | undefined;
    if (wantsGpus(state.deviceRequests)) {
      const all = await gpuReadings;
      if (all) gpus = assignedGpus(state.deviceRequests, all);
    }
    const report = toReport(sample, gpus);
    const spec = this.#o.apps.get(id)?.spec;
    if (state.activity && spec) {
      const at = await probeActivity(spec, state.activity.host, state.activity.port);
      if (at !== undefined) report.activityAt = at;
    }
    this.#o.metrics.appSample(id, report);
    await this.#o.report(id, report);
  }
}
