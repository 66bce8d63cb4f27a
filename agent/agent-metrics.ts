import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { HostResources } from './host-monitor.ts';

/** The agent's Prometheus metrics (`wharf_agent_*`, DESIGN.md "Metrics names"): one registry per agent. */
export class AgentMetrics {
  readonly registry = new Registry();
  readonly #memoryAvailable: Gauge;
  readonly #memoryTotal: Gauge;
  readonly #cpu: Gauge;
  readonly #diskFree: Gauge;
  readonly #apps: Gauge;
  readonly #launches: Counter<'outcome'>;
  readonly #launchSeconds: Histogram;

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
  }

  host(r: HostResources, apps: number): void {
    this.#memoryAvailable.set(r.memoryAvailableBytes);
    this.#memoryTotal.set(r.memoryTotalBytes);
    this.#cpu.set(r.cpuPercent);
    if (r.diskFreeBytes !== null) this.#diskFree.set(r.diskFreeBytes);
    this.#apps.set(apps);
  }

  launched(outcome: 'active' | 'failed', seconds: number): void {
    this.#launches.inc({ outcome });
    if (outcome === 'active') this.#launchSeconds.observe(seconds);
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
