import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GpuRunner, onPath } from './gpu-runner.ts';
import { assignedGpus, GPU_QUERY_FIELDS, parseNvidiaSmi, wantsGpus, type GpuReading } from './nvidia-smi.ts';

/*
 * There is no GPU on this machine, so the fixtures are genuine nvidia-smi output that people
 * posted, each with the query it answered (the parser is told those columns):
 *
 * nvidia-smi-rtx2080.txt — GeForce RTX 2080, driver 440.64, `--format=csv,noheader,nounits`,
 *   a bare "N/A" in temperature.memory. Posted in Ricks-Lab/gpu-utils issue #83
 *   (https://github.com/Ricks-Lab/gpu-utils/issues/83), query:
 *   power.limit,power.min_limit,power.max_limit,memory.total,vbios_version,driver_version,name,
 *   gpu_uuid,power.draw,temperature.gpu,temperature.memory,clocks.current.graphics,clocks.sm,
 *   clocks.mem,utilization.gpu,utilization.memory,fan.speed,pcie.link.width.current,pstate
 * nvidia-smi-n-a.txt, nvidia-smi-not-supported.txt — the same GPU's line from a newer driver
 *   ("[N/A]") and an older one ("[Not Supported]") for fan.speed, `csv,noheader,nounits`.
 *   Posted in enkore/i3pystatus PR #776 (https://github.com/enkore/i3pystatus/pull/776), query:
 *   memory.total,memory.free,memory.used,temperature.gpu,fan.speed,utilization.gpu,utilization.memory
 * nvidia-smi-header-units-error.txt — GeForce RTX 2080 Ti, driver 442.19, `--format=csv,nounits`:
 *   a header with units in brackets, a blank line, "[Unknown Error]". Posted in Quake4/MindMiner
 *   issue #627 (https://github.com/Quake4/MindMiner/issues/627).
 * nvidia-smi-units-percent.txt — `--query-gpu=utilization.gpu --format=csv,noheader` (units
 *   kept): "1 %". Posted in Syllo/nvtop issue #64 (https://github.com/Syllo/nvtop/issues/64).
 */

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const MiB = 1024 * 1024;

describe('nvidia-smi CSV', () => {
  it('reads a GeForce RTX 2080 line: name, uuid, utilization, memory in MiB; bare N/A elsewhere is harmless', () => {
    const fields = 'power.limit,power.min_limit,power.max_limit,memory.total,vbios_version,driver_version,name,gpu_uuid,power.draw,temperature.gpu,temperature.memory,clocks.current.graphics,clocks.sm,clocks.mem,utilization.gpu,utilization.memory,fan.speed,pcie.link.width.current,pstate'.split(',');
    const [gpu, ...rest] = parseNvidiaSmi(fixture('nvidia-smi-rtx2080.txt'), fields);
    expect(rest).toEqual([]);
    expect(gpu).toEqual({
      index: 0, // no index column: the row
      name: 'GeForce RTX 2080',
      uuid: 'GPU-22b2c6ac-2d49-4863-197c-9c469071178a',
      utilizationPercent: 86,
      memoryTotalBytes: 7979 * MiB,
    });
  });

  it('"[N/A]" and "[Not Supported]" (old and new drivers) are absent values, not zeros', () => {
    const fields = 'memory.total,memory.free,memory.used,temperature.gpu,fan.speed,utilization.gpu,utilization.memory'.split(',');
    for (const file of ['nvidia-smi-n-a.txt', 'nvidia-smi-not-supported.txt']) {
      expect(parseNvidiaSmi(fixture(file), fields)).toEqual([{ index: 0, utilizationPercent: 0, memoryUsedBytes: 0, memoryTotalBytes: 2004 * MiB }]);
    }
    // The same lines with the unknown value in the utilization column: the GPU is kept, unmeasured.
    const asUtil = ['memory.total', 'memory.free', 'memory.used', 'temperature.gpu', 'utilization.gpu', 'fan.speed', 'utilization.memory'];
    for (const file of ['nvidia-smi-n-a.txt', 'nvidia-smi-not-supported.txt']) {
      const [gpu] = parseNvidiaSmi(fixture(file), asUtil);
      expect(gpu.utilizationPercent).toBeUndefined();
      expect(gpu.memoryTotalBytes).toBe(2004 * MiB);
    }
  });

  it('takes the columns from a header line with units, skips blank lines, "[Unknown Error]" is absent', () => {
    const gpus = parseNvidiaSmi(fixture('nvidia-smi-header-units-error.txt'), ['ignored']);
    expect(gpus).toEqual([{ index: 0, name: 'GeForce RTX 2080 Ti', utilizationPercent: 100 }]);
  });

  it('reads values with units (format csv without nounits)', () => {
    expect(parseNvidiaSmi(fixture('nvidia-smi-units-percent.txt'), ['utilization.gpu'])).toEqual([{ index: 0, utilizationPercent: 1 }]);
    // The runner's own query with units kept, memory in MiB or GiB.
    const text = '0, GPU-aaaa, Tesla T4, 37 %, 1934 MiB, 15360 MiB\n1, GPU-bbbb, Tesla T4, [N/A], 1 GiB, 15 GiB\n';
    expect(parseNvidiaSmi(text)).toEqual([
      { index: 0, uuid: 'GPU-aaaa', name: 'Tesla T4', utilizationPercent: 37, memoryUsedBytes: 1934 * MiB, memoryTotalBytes: 15360 * MiB },
      { index: 1, uuid: 'GPU-bbbb', name: 'Tesla T4', memoryUsedBytes: 1024 * MiB, memoryTotalBytes: 15 * 1024 * MiB },
    ]);
  });

  it('skips what is not a GPU row: errors on stdout, wrong column counts, empty output', () => {
    expect(parseNvidiaSmi('')).toEqual([]);
    expect(parseNvidiaSmi('NVIDIA-SMI has failed because it couldn\'t communicate with the NVIDIA driver.\n')).toEqual([]);
    expect(parseNvidiaSmi('x, GPU-1, T4, 1, 2, 3\n')).toEqual([]);
    expect(GPU_QUERY_FIELDS.join(',')).toBe('index,uuid,name,utilization.gpu,memory.used,memory.total');
  });
});

describe('the GPUs of a container (HostConfig.DeviceRequests)', () => {
  const gpus: GpuReading[] = [
    { index: 0, uuid: 'GPU-0000', utilizationPercent: 10 },
    { index: 1, uuid: 'GPU-1111', utilizationPercent: 90 },
    { index: 2, uuid: 'GPU-2222', utilizationPercent: 50 },
  ];
  const gpu = { Driver: '', Capabilities: [['gpu']] };

  it('--gpus all, --gpus 2, --gpus device=…, none', () => {
    expect(assignedGpus([{ ...gpu, Count: -1 }], gpus).map((g) => g.index)).toEqual([0, 1, 2]);
    expect(assignedGpus([{ ...gpu, Count: 2 }], gpus).map((g) => g.index)).toEqual([0, 1]);
    expect(assignedGpus([{ ...gpu, Count: 0, DeviceIDs: ['2', 'GPU-1111'] }], gpus).map((g) => g.index)).toEqual([1, 2]);
    expect(assignedGpus([{ Driver: 'nvidia', DeviceIDs: ['0,2'] }], gpus).map((g) => g.index)).toEqual([0, 2]);
    expect(assignedGpus(null, gpus)).toEqual([]);
    expect(assignedGpus([{ Driver: 'other', Count: -1, Capabilities: [['tpu']] }], gpus)).toEqual([]);
    expect(wantsGpus([{ ...gpu, Count: -1 }])).toBe(true);
    expect(wantsGpus(null)).toBe(false);
  });
});

describe('the nvidia-smi runner', () => {
  it('is quietly absent without nvidia-smi on PATH: no process, no error', async () => {
    expect(onPath('sh')).toBeTruthy();
    expect(onPath('nvidia-smi', '/nonexistent')).toBeUndefined();
    const runner = new GpuRunner({ command: 'wharf-no-such-nvidia-smi' });
    expect(runner.available).toBe(false);
    await expect(runner.read()).resolves.toEqual([]);
  });

  it('runs nvidia-smi with the query and parses it; a hanging one is killed at the timeout', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wharf-nvsmi-'));
    try {
      const script = join(dir, 'nvidia-smi');
      writeFileSync(script, '#!/bin/sh\necho "$@" > "$(dirname "$0")/args"\nprintf "0, GPU-a, Tesla T4, 42, 100, 15360\\n"\n');
      chmodSync(script, 0o755);
      const runner = new GpuRunner({ searchPath: dir });
      expect(runner.available).toBe(true);
      await expect(runner.read()).resolves.toEqual([{ index: 0, uuid: 'GPU-a', name: 'Tesla T4', utilizationPercent: 42, memoryUsedBytes: 100 * MiB, memoryTotalBytes: 15360 * MiB }]);
      expect(readFileSync(join(dir, 'args'), 'utf8').trim()).toBe('--query-gpu=index,uuid,name,utilization.gpu,memory.used,memory.total --format=csv,noheader,nounits');
      writeFileSync(script, '#!/bin/sh\nexec sleep 30\n');
      const t0 = Date.now();
      await expect(new GpuRunner({ searchPath: dir, timeoutMs: 300 }).read()).rejects.toThrow(/nvidia-smi failed/);
      expect(Date.now() - t0).toBeLessThan(5000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
