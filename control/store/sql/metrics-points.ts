import type { MetricsPoint, MetricsPointStore, PointKey } from '../store.ts';
import { forUpdate, type Sql } from './sql.ts';

const COLUMNS = ['requests', 'errors', 'bytes_in', 'bytes_out', 'cpu_sum', 'cpu_n', 'gpu_sum', 'gpu_n', 'net_sum', 'net_n', 'mem_max', 'latency', 'p50', 'p95', 'p99'] as const;

interface Row {
  t: number;
  requests: number;
  errors: number;
  bytes_in: number;
  bytes_out: number;
  cpu_sum: number;
  cpu_n: number;
  gpu_sum: number;
  gpu_n: number;
  net_sum: number;
  net_n: number;
  mem_max: number | null;
  latency: string | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

// PostgreSQL hands BIGINT back as a string: every number goes through Number().
const num = (v: unknown) => Number(v);
const maybe = (v: unknown) => (v === null || v === undefined ? null : Number(v));

function fromRow(r: Row): MetricsPoint {
  return {
    requests: num(r.requests), errors: num(r.errors), bytesIn: num(r.bytes_in), bytesOut: num(r.bytes_out),
    cpuSum: num(r.cpu_sum), cpuN: num(r.cpu_n), gpuSum: num(r.gpu_sum), gpuN: num(r.gpu_n), netSum: num(r.net_sum), netN: num(r.net_n),
    memMax: maybe(r.mem_max), latency: r.latency, p50: maybe(r.p50), p95: maybe(r.p95), p99: maybe(r.p99),
  };
}

function values(p: MetricsPoint): (number | string | null)[] {
  return [p.requests, p.errors, p.bytesIn, p.bytesOut, p.cpuSum, p.cpuN, p.gpuSum, p.gpuN, p.netSum, p.netN, p.memMax, p.latency, p.p50, p.p95, p.p99];
}

export function emptyPoint(): MetricsPoint {
  return { requests: 0, errors: 0, bytesIn: 0, bytesOut: 0, cpuSum: 0, cpuN: 0, gpuSum: 0, gpuN: 0, netSum: 0, netN: 0, memMax: null, latency: null, p50: null, p95: null, p99: null };
}

const CREATE = `INSERT INTO metrics_points (instance, resolution, t, ${COLUMNS.join(', ')})
  VALUES (?, ?, ?, ${COLUMNS.map(() => '?').join(', ')}) ON CONFLICT (instance, resolution, t) DO NOTHING`;
const WRITE = `UPDATE metrics_points SET ${COLUMNS.map((c) => `${c} = ?`).join(', ')} WHERE instance = ? AND resolution = ? AND t = ?`;

export class SqlMetricsPoints implements MetricsPointStore {
  #sql: Sql;

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  update(keys: PointKey[], change: (point: MetricsPoint, key: PointKey) => void): Promise<void> {
    // Each point is made (empty) if new, then read locked, changed in JavaScript (a latency
    // histogram merges there) and written back. Row locks rather than SERIALIZABLE: reports into
    // one point through several controls wait for each other instead of aborting each other.
    return this.#sql.transaction(async (tx) => {
      for (const key of keys) {
        await tx.run(CREATE, key.instance, key.resolutionMs, key.t, ...values(emptyPoint()));
        const row = await tx.get<Row>(
          `SELECT t, ${COLUMNS.join(', ')} FROM metrics_points WHERE instance = ? AND resolution = ? AND t = ?${forUpdate(tx)}`,
          key.instance, key.resolutionMs, key.t);
        const point = fromRow(row!);
        change(point, key);
        await tx.run(WRITE, ...values(point), key.instance, key.resolutionMs, key.t);
      }
    }, { rowLocks: true });
  }

  async list(instance: string, resolutionMs: number, from: number, to: number): Promise<(MetricsPoint & { t: number })[]> {
    const rows = await this.#sql.all<Row>(
      `SELECT t, ${COLUMNS.join(', ')} FROM metrics_points WHERE instance = ? AND resolution = ? AND t >= ? AND t < ? ORDER BY t`,
      instance, resolutionMs, from, to);
    return rows.map((r) => ({ t: num(r.t), ...fromRow(r) }));
  }

  dropBefore(resolutionMs: number, cutoff: number): Promise<number> {
    return this.#sql.run('DELETE FROM metrics_points WHERE resolution = ? AND t < ?', resolutionMs, cutoff);
  }

  seal(before: number): Promise<number> {
    return this.#sql.run('UPDATE metrics_points SET latency = NULL WHERE latency IS NOT NULL AND t + resolution <= ?', before);
  }

  async forget(instance: string): Promise<void> {
    await this.#sql.run('DELETE FROM metrics_points WHERE instance = ?', instance);
  }

  async count(): Promise<{ instances: number; byResolution: Record<number, number>; open: number }> {
    const byResolution: Record<number, number> = {};
    for (const r of await this.#sql.all<{ resolution: number; n: number }>('SELECT resolution, COUNT(*) AS n FROM metrics_points GROUP BY resolution')) {
      byResolution[num(r.resolution)] = num(r.n);
    }
    const instances = num((await this.#sql.get<{ n: number }>('SELECT COUNT(DISTINCT instance) AS n FROM metrics_points'))!.n);
    const open = num((await this.#sql.get<{ n: number }>('SELECT COUNT(*) AS n FROM metrics_points WHERE latency IS NOT NULL'))!.n);
    return { instances, byResolution, open };
  }
}
