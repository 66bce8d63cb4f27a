import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** The fields of /proc/<pid>/stat the CPU count needs (proc(5)), times in clock ticks. */
export interface ProcStat {
  pid: number;
  ppid: number;
  /** utime + stime: every thread of the process, user and kernel. */
  ticks: number;
  /** cutime + cstime: children the process has waited for, so a worker that exits mid-run still counts. */
  childTicks: number;
}

/**
 * Parses one /proc/<pid>/stat line. The command name (field 2) sits in parentheses and may
 * itself hold spaces and parentheses, so the fields are counted from the last ')'.
 */
export function parseProcStat(line: string): ProcStat {
  const close = line.lastIndexOf(')');
  if (close < 0) throw new Error(`not a /proc/<pid>/stat line: ${line}`);
  const pid = Number(line.slice(0, line.indexOf(' ')));
  // From field 3 (state) on: ppid is field 4, utime 14, stime 15, cutime 16, cstime 17.
  const f = line.slice(close + 2).split(' ');
  const at = (field: number) => Number(f[field - 3]);
  return { pid, ppid: at(4), ticks: at(14) + at(15), childTicks: at(16) + at(17) };
}

/** The root and every process below it, by parent pid. */
export function processTree(stats: ProcStat[], root: number): ProcStat[] {
  const children = new Map<number, ProcStat[]>();
  for (const s of stats) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s]);
  const tree = stats.filter((s) => s.pid === root);
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i].pid) ?? []));
  return tree;
}

function readStats(): ProcStat[] {
  const stats: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      stats.push(parseProcStat(readFileSync(`/proc/${name}/stat`, 'utf8')));
    } catch {
      // The process exited between the listing and the read.
    }
  }
  return stats;
}

let ticksPerSecond: number | undefined;
/** sysconf(_SC_CLK_TCK), which Node does not expose; 100 on every Linux we run on. */
function clockTicks(): number {
  ticksPerSecond ??= Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;
  return ticksPerSecond;
}

export interface TreeCpu {
  /** CPU seconds, user and kernel, of the process and all its descendants so far. */
  seconds: number;
  processes: number;
}

/**
 * CPU time of a process and all its descendants (nginx's master and workers, the gateway's
 * supervisor and workers): read before and after a run, the difference is what they spent on it.
 */
export function treeCpu(root: number): TreeCpu {
  const tree = processTree(readStats(), root);
  if (!tree.length) throw new Error(`process ${root} is gone: no CPU time to read`);
  const ticks = tree.reduce((n, s) => n + s.ticks + s.childTicks, 0);
  return { seconds: ticks / clockTicks(), processes: tree.length };
}
