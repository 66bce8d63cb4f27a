import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ResourceSampleReport } from '../protocol/resource-sample.ts';
import type { HostResources } from './host-monitor.ts';

/** The agent's Prometheus metrics (`wharf_agent_*`, DESIGN.md "Metrics names"): one registry per agent. */
export class AgentMetrics {
  readonly registry = new Registry();
  readonly #memoryAvailable: Gauge;
  readonly #memoryTotal: Gauge;
  readonly #cpu: Gauge;
  readonly #diskFree: Gauge;
  readonly #apps: Gauge;
  readonly #samplesWaiting: Gauge;
  readonly #samplesDropped: Counter;
  #droppedCounted = 0;
  readonly #launches: Counter<'outcome'>;
  readonly #launchSeconds: Histogram;
  readonly #appCpu: Gauge<'instance'>;
  readonly #appMemory: Gauge<'instance'>;
  readonly #appMemoryLimit: Gauge<'instance'>;
  readonly #appNetwork: Gauge<'instance' | 'direction'>;
  readonly #appBlockIo: Gauge<'instance' | 'direction'>;
  readonly #appGpu: Gauge<'instance' | 'gpu'>;
  /** The `gpu` label values set per instance, so that they can be removed with it. */
  readonly #appGpus = new Map<string, Set<string>>();

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'wharf_agent_process_' });
    const registers = [this.registry];
    this.#memoryAvailable = new Gauge({ name: 'wharf_agent_host_memory_available_bytes', help: 'memory apps can still get without swapping (MemAvailable)', registers });
    this.#memoryTotal = new Gauge({ name: 'wharf_agent_host_memory_total_bytes', help: 'memory of the apps server', registers });
    this.#cpu = new Gauge({ name: 'wharf_agent_host_cpu_percent', help: 'busy share of all cores over the last sample interval, 0 to 100', registers });
    this.#diskFree = new Gauge({ name: 'wharf_agent_host_disk_free_bytes', help: 'free space of Docker\'s data root', registers });
    this.#apps = new Gauge({ name: 'wharf_agent_apps', help: 'apps this agent runs now (starting, active or stopping)', registers });
    this.#launches = new Counter({ name: 'wharf_agent_launches_total', help: 'launches by outcome (active, failed)', labelNames: ['outcome'], registers });
    this.#launchSeconds = new Histogram({
      name: 'wharf_agent_launch_duration_seconds', help: 'lease to active', registers,
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120],
    });
    this.#samplesWaiting = new Gauge({ name: 'wharf_agent_samples_waiting', help: 'resource samples kept while control is away, sent when it answers again', registers });
    this.#samplesDropped = new Counter({ name: 'wharf_agent_samples_dropped_total', help: 'resource samples dropped because control was away longer than the agent keeps them', registers });
    // Per app (issue 6, "Monitoring"): the last resource sample of each running instance.
    const labelNames = ['instance'] as const;
    this.#appCpu = new Gauge({ name: 'wharf_agent_app_cpu_percent', help: 'CPU used, as a share of the container\'s CPU limit (else of all cores), 0 to 100', labelNames, registers });
    this.#appMemory = new Gauge({ name: 'wharf_agent_app_memory_bytes', help: 'memory used, less the inactive file cache (as docker stats shows it)', labelNames, registers });
    this.#appMemoryLimit = new Gauge({ name: 'wharf_agent_app_memory_limit_bytes', help: 'the container\'s memory limit (the host\'s memory when it has none)', labelNames, registers });
    this.#appNetwork = new Gauge({ name: 'wharf_agent_app_network_bytes_per_second', help: 'network traffic over the last sample interval, by direction (rx, tx)', labelNames: ['instance', 'direction'], registers });
    this.#appBlockIo = new Gauge({ name: 'wharf_agent_app_block_io_bytes_per_second', help: 'block device I/O over the last sample interval, by direction (read, write)', labelNames: ['instance', 'direction'], registers });
    this.#appGpu = new Gauge({ name: 'wharf_agent_app_gpu_percent', help: 'utilization of each GPU assigned to the app, 0 to 100', labelNames: ['instance', 'gpu'], registers });
  }

  host(r: HostResources, apps: number): void {
    this.#memoryAvailable.set(r.memoryAvailableBytes);
    this.#memoryTotal.set(r.memoryTotalBytes);
    this.#cpu.set(r.cpuPercent);
    if (r.diskFreeBytes !== null) this.#diskFree.set(r.diskFreeBytes);
    this.#apps.set(apps);
  }

  /** The sample outbox's state (monitoring/sample-outbox.ts). */
  samples(waiting: number, droppedTotal: number): void {
    this.#samplesWaiting.set(waiting);
    if (droppedTotal > this.#droppedCounted) this.#samplesDropped.inc(droppedTotal - this.#droppedCounted);
    this.#droppedCounted = droppedTotal;
  }

  launched(outcome: 'active' | 'failed', seconds: number): void {
    this.#launches.inc({ outcome });
    if (outcome === 'active') this.#launchSeconds.observe(seconds);
  }

  /** The latest resource sample of an app; a field not measured this time drops its series. */
  appSample(instance: string, s: ResourceSampleReport): void {
    const set = (g: Gauge<string>, labels: Record<string, string>, v: number | undefined) => {
      if (v === undefined) g.remove(labels);
      else g.set(labels, v);
    };
    set(this.#appCpu, { instance }, s.cpuPercent);
    set(this.#appMemory, { instance }, s.memoryBytes);
    set(this.#appMemoryLimit, { instance }, s.memoryLimitBytes);
    set(this.#appNetwork, { instance, direction: 'rx' }, s.networkRxBytesPerS);
    set(this.#appNetwork, { instance, direction: 'tx' }, s.networkTxBytesPerS);
    set(this.#appBlockIo, { instance, direction: 'read' }, s.blockReadBytesPerS);
    set(this.#appBlockIo, { instance, direction: 'write' }, s.blockWriteBytesPerS);
    const now = new Set((s.gpus ?? []).map((g) => String(g.index)));
    for (const gpu of this.#appGpus.get(instance) ?? []) if (!now.has(gpu)) this.#appGpu.remove({ instance, gpu });
    for (const g of s.gpus ?? []) this.#appGpu.set({ instance, gpu: String(g.index) }, g.utilizationPercent);
    if (now.size) this.#appGpus.set(instance, now);
    else this.#appGpus.delete(instance);
  }

  /** The app ended (or left this agent): every series of the instance goes. */
  appGone(instance: string): void {
    this.#appCpu.remove({ instance });
    this.#appMemory.remove({ instance });
    this.#appMemoryLimit.remove({ instance });
    for (const direction of ['rx', 'tx']) this.#appNetwork.remove({ instance, direction });
    for (const direction of ['read', 'write']) this.#appBlockIo.remove({ instance, direction });
    for (const gpu of this.#appGpus.get(instance) ?? []) this.#appGpu.remove({ instance, gpu });
    this.#appGpus.delete(instance);
  }

  /** Serves GET /metrics and GET /healthz on host:port; nothing else. */
  async serve(host: string, port: number): Promise<{ server: Server; address: string }> {
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method === 'GET' && path === '/metrics') {
        this.registry.metrics().then((text) => {
          res.writeHead(200, { 'content-type': this.registry.contentType });
          res.end(text);
        }, () => {
          res.writeHead(500).end('metrics failed\n');
        });
        return;
      }
      if (req.method === 'GET' && path === '/healthz') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}\n');
        return;
      }
      res.writeHead(404, { 'content-type': 'text/plain' }).end('the agent serves GET /metrics and GET /healthz\n');
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const a = server.address() as AddressInfo;
    return { server, address: `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}` };
  }
}
