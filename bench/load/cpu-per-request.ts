import { treeCpu } from '../support/process-cpu.ts';
import { runH2load, type H2loadOptions, type H2loadResult } from './h2load.ts';

export interface CpuPerRequest {
  /** The h2load run the CPU time was counted over (its req/s too). */
  load: H2loadResult;
  /** CPU seconds, user and kernel, of the proxy's whole process tree during the run. */
  cpuSeconds: number;
  /** Processes in that tree (nginx: master and worker; the gateway: supervisor and workers). */
  processes: number;
  /** cpuSeconds per completed request, in µs. */
  usPerRequest: number;
}

/**
 * What a proxy spends per request: CPU time of `pid` and all its descendants over a fixed
 * number of requests from h2load, divided by the requests completed. A fixed count rather
 * than a fixed time, so that a faster proxy is not charged for more work. An optional
 * warm-up (h2load for `warmupS`, not counted) comes first.
 */
export async function measureCpuPerRequest(pid: number, o: H2loadOptions & { load: { requests: number } }, warmupS = 0): Promise<CpuPerRequest> {
  if (warmupS > 0) await runH2load({ ...o, load: { durationS: warmupS } });
  const before = treeCpu(pid);
  const load = await runH2load(o);
  const after = treeCpu(pid);
  const cpuSeconds = after.seconds - before.seconds;
  return { load, cpuSeconds, processes: after.processes, usPerRequest: load.requests ? (cpuSeconds * 1e6) / load.requests : NaN };
}
