import { STATUS_LABELS, type InstanceStatus } from '../../../protocol/instance-status.ts';
import type { AppConfig, AppKind } from '../../../protocol/app-config.ts';

/* What the instance page derives from an instance view for its links and buttons: pure (links.test.ts). */

/** The accessible name of the one-click link to the app. */
export function openLabel(app: AppKind): string {
  return app === 'jupyter' ? 'Open IDE' : 'Open app';
}

/**
 * What the Open button does for an instance in `status`:
 * - `open`: a link to the app (active or idle: the app answers);
 * - `wait`: a disabled button and `why` (queued or setting up: a link now would land on the
 *   gateway's "starting" page, or nowhere while queued); it turns into the link on `active`;
 * - `none`: no button, and `why` when it is worth saying (stopping, stopped, failed);
 *   apps reached otherwise (TCP: `wharf connect`; not routed) have no button and nothing to say.
 */
export type OpenState =
  | { kind: 'open'; href: string }
  | { kind: 'wait'; why: string }
  | { kind: 'none'; why: string | null };

export function openState(v: { status: InstanceStatus; statusReason: string | null; links: { browser: string | null }; config: Pick<AppConfig, 'routing'> }): OpenState {
  if (!v.links.browser || v.config.routing.mode === 'tcp') return { kind: 'none', why: null };
  switch (v.status) {
    case 'active':
    case 'idle':
      return { kind: 'open', href: v.links.browser };
    case 'queued':
      // Control's reason says what holds it ("no agent serves queue gpu"), when it knows.
      return { kind: 'wait', why: `Opens once it runs: ${STATUS_LABELS.queued}${v.statusReason ? ` (${v.statusReason})` : ', waiting for an agent'}.` };
    case 'starting':
      return { kind: 'wait', why: `Opens once the app answers: ${STATUS_LABELS.starting}\u2026` };
    case 'stopping':
      return { kind: 'none', why: 'Nothing to open: the app is stopping.' };
    case 'stopped':
      return { kind: 'none', why: 'Nothing to open: the app is stopped. Clone it to run a copy.' };
    case 'failed':
      return { kind: 'none', why: 'Nothing to open: the app failed. Clone it to try again.' };
  }
}

/** Why the Connect section shows no address: the app no longer runs (view.ts isLive is false). */
export function noAddressWords(status: InstanceStatus): string {
  const what = status === 'failed' ? 'failed' : `is ${STATUS_LABELS[status]}`;
  return `No address: the app ${what}. Clone it to run a copy.`;
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
