import { parsers, UsageError } from '../../protocol/settings.ts';
import { parseCommand, positionals } from './cli-args.ts';
import { ControlClient } from './control-client.ts';

export const auditHelp = `wharf audit [--since WHEN] [--until WHEN] [--user NAME] [--instance ID] [--project NAME] [--action ACTION] [--limit N] [--json]

  prints the audit log, newest first (admins; a project's owners with --project): sign-ins, launches, stops, app tokens and
  tunnels issued, user, admin and token changes, agents and gateways registered (docs/audit.md)

  --since WHEN    entries of the last WHEN (a duration: 90m, 24h, 7d) or from a time (ISO 8601)
  --until WHEN    entries before that time (the same forms)
  --user NAME     entries whose actor is NAME ("idle limit" for Wharf's own stops)
  --instance ID   entries about instance ID
  --project NAME  entries about a project's instances and members (its owners may read these)
  --action A      one action: signin, signin.failed, instance.launch, instance.stop, app.token, …
  --limit N       at most N entries (default 100)
  --json          the entries as JSON, as GET /api/v1/audit answers them

Control and the token come from WHARF_URL and WHARF_TOKEN, else WHARF_HOME.`;

interface AuditEntryView { seq: number; at: string; actor: string | null; action: string; target: string | null; instance: string | null; detail: Record<string, unknown> }

/** Most entries the API answers per request (MAX_AUDIT_PAGE in control/api/audit.ts). */
const PAGE = 500;

/** A duration back from `now` (24h, 7d) or a time (ISO 8601), as the ISO time the API takes. */
export function auditTime(flag: string, raw: string, now: number): string {
  if (/^\d/.test(raw) && !/^\d{4}-/.test(raw)) {
    try {
      return new Date(now - parsers.duration(raw)).toISOString();
    } catch (err) {
      throw new UsageError(`--${flag} ${(err as Error).message}, or an ISO 8601 time`);
    }
  }
  const ms = Date.parse(raw);
  if (!Number.isFinite(ms)) throw new UsageError(`--${flag} must be a duration (90m, 24h, 7d) or an ISO 8601 time (2026-12-07T10:00:00Z), got "${raw}"`);
  return new Date(ms).toISOString();
}

/** One entry as a line: time, actor, action, target, and the detail as key=value. */
export function auditLine(e: AuditEntryView): string {
  const detail = Object.entries(e.detail).map(([k, v]) => `${k}=${String(v)}`).join(' ');
  const about = e.instance && e.instance !== e.target ? `${e.target ?? '-'} (instance ${e.instance})` : (e.target ?? '-');
  return [e.at, e.actor ?? '-', e.action, about, detail].join('\t').trimEnd();
}

export async function runAudit(argv: string[]): Promise<void> {
  const { values, positionals: given } = parseCommand(argv, {
    since: { type: 'string' }, until: { type: 'string' }, user: { type: 'string' }, instance: { type: 'string' }, project: { type: 'string' },
    action: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' },
  });
  positionals(given, [], 'wharf audit [--since WHEN] [--user NAME] [--instance ID] [--json]');
  if (values.limit !== undefined && !/^[1-9][0-9]{0,5}$/.test(values.limit)) throw new UsageError(`--limit must be a whole number from 1, got "${values.limit}"`);
  const limit = Number(values.limit ?? 100);
  const now = Date.now();
  const query = new URLSearchParams();
  if (values.since !== undefined) query.set('since', auditTime('since', values.since, now));
  if (values.until !== undefined) query.set('until', auditTime('until', values.until, now));
  if (values.user !== undefined) query.set('user', values.user);
  if (values.instance !== undefined) query.set('instance', values.instance);
  if (values.project !== undefined) query.set('project', values.project);
  if (values.action !== undefined) query.set('action', values.action);
  const client = new ControlClient();
  const entries: AuditEntryView[] = [];
  let before: string | null = null;
  do {
    query.set('limit', String(Math.min(PAGE, limit - entries.length)));
    if (before !== null) query.set('before', before);
    const page: { entries: AuditEntryView[]; next: string | null } = await client.call('GET', `/api/v1/audit?${query}`);
    entries.push(...page.entries);
    before = page.next;
  } while (before !== null && entries.length < limit);
  if (values.json) console.log(JSON.stringify(entries, null, 2));
  else for (const e of entries) console.log(auditLine(e));
}
