import { isInstanceStatus, STATUS_LABELS, type InstanceStatus } from '../../protocol/instance-status.ts';

/* Pure formatting for the instance list: no DOM, no clock (tested in format.test.ts). */

/** The fields of control's instance view (control/instances/instance-view.ts) the list shows. */
export interface InstanceRow {
  id: string;
  name: string;
  app: string;
  status: InstanceStatus;
  statusReason: string | null;
  idleSeconds: number | null;
  idleSince: string | null;
  owner: string;
  project: string;
  tags: string[];
  queue: string;
  created: string;
}

/** What the status cell shows: a kind (icon and colour), its words, and details for failures. */
export interface StatusDisplay {
  kind: InstanceStatus | 'offline';
  label: string;
  detail: string | null;
}

/** Set by control's agent sweeper on the instances of an agent past its heartbeat. */
export const AGENT_OFFLINE = 'agent offline';

export function statusDisplay(row: Pick<InstanceRow, 'status' | 'statusReason'>): StatusDisplay {
  if (row.statusReason === AGENT_OFFLINE && row.status !== 'stopped' && row.status !== 'failed') {
    return { kind: 'offline', label: AGENT_OFFLINE, detail: null };
  }
  return { kind: row.status, label: STATUS_LABELS[row.status] ?? row.status, detail: row.status === 'failed' ? row.statusReason : null };
}

/** A status as people read it, the same word on every page ("setting up", not "starting"); an unknown one as it came. */
export function statusWord(status: string): string {
  return isInstanceStatus(status) ? STATUS_LABELS[status] : status;
}

/** A length of time, coarse as people read it: `45s`, `12m`, `3h 5m`, `2d 4h`. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h}h ${m % 60}m` : `${h}h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d}d ${h % 24}h` : `${d}d`;
}

/** Time since `iso` at `nowMs`. */
export function age(iso: string, nowMs: number): string {
  return duration((nowMs - Date.parse(iso)) / 1000);
}
