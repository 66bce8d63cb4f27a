import { describe, expect, it } from 'vitest';
import { parseProcStat, processTree, treeCpu } from './process-cpu.ts';

// A real line (caddy, 6 threads: utime 113, stime 65 ticks).
const CADDY = '26484 (caddy) S 1 26476 15292 0 -1 4194560 6605 0 0 0 113 65 0 0 20 0 6 0 1584264 1148051456 11187 18446744073709551615 4206592 21980549 140720752724384 0 0 0 1002057728 0 2143420159 0 0 0 17 0 0 0 0 0 0 40323952 40948952 773128192 140720752732581 140720752732630 140720752732630 140720752734185 0';

describe('parseProcStat', () => {
  it('reads pid, parent, own ticks and waited-for children\'s ticks', () => {
    expect(parseProcStat(CADDY)).toEqual({ pid: 26484, ppid: 1, ticks: 178, childTicks: 0 });
  });

  it('counts fields from the last parenthesis, whatever the command name holds', () => {
    const odd = CADDY.replace('(caddy)', '(a) S 9 (b)').replace(' 113 65 0 0 ', ' 113 65 7 3 ');
    expect(parseProcStat(odd)).toEqual({ pid: 26484, ppid: 1, ticks: 178, childTicks: 10 });
  });
});

describe('processTree', () => {
  const s = (pid: number, ppid: number) => ({ pid, ppid, ticks: 1, childTicks: 0 });

  it('takes the root and its descendants at any depth, nothing beside them', () => {
    const stats = [s(1, 0), s(10, 1), s(11, 10), s(12, 10), s(13, 11), s(20, 1), s(21, 20)];
    expect(processTree(stats, 10).map((p) => p.pid).sort()).toEqual([10, 11, 12, 13]);
  });

  it('is empty when the root is gone', () => {
    expect(processTree([s(1, 0)], 10)).toEqual([]);
  });
});

describe('treeCpu', () => {
  it('reads this process\'s own CPU time, and it grows with work', () => {
    const before = treeCpu(process.pid);
    const until = performance.now() + 50;
    while (performance.now() < until);
    const after = treeCpu(process.pid);
    expect(after.processes).toBeGreaterThanOrEqual(1);
    expect(after.seconds).toBeGreaterThan(before.seconds);
  });
});
