import type { InstanceStatus } from '../../../protocol/instance-status.ts';
import type { AppKind } from '../../../protocol/app-config.ts';

/* What the instance page derives from an instance view for its links and buttons: pure (links.test.ts). */

/** The accessible name of the one-click link to the app. */
export function openLabel(app: AppKind): string {
  return app === 'jupyter' ? 'Open IDE' : 'Open app';
}

/** Quotes a word for a POSIX shell only when it needs it. */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9._:/@%+=,-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The command that opens a local tunnel to a TCP app (`wharf connect ID`, bin/commands/connect.ts). */
export function connectCommand(id: string): string {
  return `wharf connect ${shellWord(id)}`;
}

/** `host:port` split for display; null when it is not one. IPv6 hosts come in brackets. */
export function hostPort(value: string): { host: string; port: number } | null {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[^:\s[\]]+):(\d{1,5})$/.exec(value);
  if (!m) return null;
  const port = Number(m[2]);
  return port > 0 && port < 65536 ? { host: m[1], port } : null;
}

/** Statuses control's POST /instances/:id/stop accepts (control/api/instances.ts). */
const STOPPABLE: readonly InstanceStatus[] = ['queued', 'starting', 'active', 'idle'];

export function canStop(status: InstanceStatus): boolean {
  return STOPPABLE.includes(status);
}

/** The name an exported configuration downloads as. */
export function exportFileName(id: string): string {
  return `wharf-${id.replace(/[^A-Za-z0-9._-]/g, '_')}.json`;
}

/** The configuration as the file holds it: the API's JSON, indented, with a final newline. */
export function exportText(config: unknown): string {
  return `${JSON.stringify(config, null, 2)}\n`;
}

/** The launch form pre-filled from this instance. */
export function cloneHref(id: string): string {
  return `/launch?clone=${encodeURIComponent(id)}`;
}
