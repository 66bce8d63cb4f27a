import { humanBytes } from '../../../protocol/human-bytes.ts';
import { age } from '../format.ts';

/* Pure formatting for the account, users and agents pages: no DOM, no clock (tested in format.test.ts). */

export const MIN_PASSWORD = 8;

/** What is wrong with a new password and its confirmation, in words; null when nothing is. */
export function passwordProblem(password: string, confirm: string): string | null {
  if (password.length < MIN_PASSWORD) return `The password needs at least ${MIN_PASSWORD} characters.`;
  if (password !== confirm) return 'The two passwords do not match.';
  return null;
}

/** Since when, for people: `never` for null, else `12m ago`. */
export function ago(iso: string | null, nowMs: number): string {
  return iso === null ? 'never' : `${age(iso, nowMs)} ago`;
}

/** control's token view (control/api/tokens.ts). */
export interface TokenRow {
  id: string;
  name: string;
  created: string;
  lastUsed: string | null;
  revoked: string | null;
}

/** control's user view (control/api/users.ts). */
export interface UserRow {
  id: string;
  name: string;
  admin: boolean;
  created: string;
}

/** control's agent view (control/api/agents.ts); `resources` is what the agent last reported, any shape. */
export interface AgentRow {
  id: string;
  name: string;
  queues: string[];
  state: string;
  drain: boolean;
  lastSeen: string | null;
  resources: unknown;
  apps: { id: string; name: string; status: string; statusReason: string | null }[];
}

export interface AgentStateDisplay {
  kind: 'online' | 'offline' | 'new' | 'unknown';
  /** A shape as well as a colour, so that the state reads without colour too. */
  icon: string;
  label: string;
}

export function agentState(state: string): AgentStateDisplay {
  switch (state) {
    case 'online': return { kind: 'online', icon: '●', label: 'online' };
    case 'offline': return { kind: 'offline', icon: '⚠', label: 'offline' };
    case 'new': return { kind: 'new', icon: '○', label: 'never connected' };
    default: return { kind: 'unknown', icon: '?', label: state };
  }
}

export interface DrainDisplay {
  kind: 'none' | 'draining' | 'drained';
  label: string;
}

/** Draining while it still runs apps (they are being snapshotted and stopped), drained once none is left. */
export function drainState(agent: Pick<AgentRow, 'drain' | 'apps'>): DrainDisplay {
  if (!agent.drain) return { kind: 'none', label: 'taking jobs' };
  const n = agent.apps.length;
  return n ? { kind: 'draining', label: `draining (${n} app${n === 1 ? '' : 's'} stopping)` } : { kind: 'drained', label: 'drained' };
}

/** The host resources of an agent's heartbeat, as text; null where the agent did not report it. */
export interface HostDisplay {
  memory: string | null;
  cpu: string | null;
  disk: string | null;
  apps: string | null;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : null);

function percent(part: number, whole: number): string {
  return `${Math.round((part / whole) * 100)}%`;
}

function usedOf(used: number | null, total: number | null): string | null {
  if (used === null || total === null || total <= 0) return null;
  const clamped = Math.max(0, Math.min(used, total));
  return `${humanBytes(clamped)} of ${humanBytes(total)} (${percent(clamped, total)})`;
}

/**
 * agent/host-monitor.ts's HostResources plus `apps`/`maxApps`: memory used is total minus
 * available, disk used is total minus free. Anything missing or malformed shows as null.
 */
export function hostResources(resources: unknown): HostDisplay {
  const r = (resources && typeof resources === 'object' ? resources : {}) as Record<string, unknown>;
  const memTotal = num(r.memoryTotalBytes);
  const memAvail = num(r.memoryAvailableBytes);
  const diskTotal = num(r.diskTotalBytes);
  const diskFree = num(r.diskFreeBytes);
  const cpu = num(r.cpuPercent);
  const cpus = num(r.cpus);
  const load = num(r.loadAverage);
  const apps = num(r.apps);
  const maxApps = num(r.maxApps);
  let cpuText: string | null = null;
  if (cpu !== null) {
    cpuText = `${Math.round(Math.min(cpu, 100))}% busy`;
    if (cpus !== null) cpuText += ` of ${cpus} CPU${cpus === 1 ? '' : 's'}`;
    if (load !== null) cpuText += `, load ${load.toFixed(2)}`;
  }
  return {
    memory: usedOf(memTotal !== null && memAvail !== null ? memTotal - memAvail : null, memTotal),
    cpu: cpuText,
    disk: usedOf(diskTotal !== null && diskFree !== null ? diskTotal - diskFree : null, diskTotal),
    apps: apps === null ? null : maxApps === null ? `${apps} app${apps === 1 ? '' : 's'}` : `${apps} of ${maxApps} apps`,
  };
}
