import type { AuditEntry, AuditValue, Store } from '../store/store.ts';

/*
 * The audit log (issue 18): who did what, to which, when — appended to the store by the API
 * handler that did it, after it succeeded (a failed sign-in is recorded as such). Entries
 * carry names and ids, never a secret: no password, token, key or link is ever a field.
 */

/** How long entries are kept unless --audit-retention says otherwise: 180 days. */
export const DEFAULT_AUDIT_RETENTION_MS = 180 * 86_400_000;

/** Every action the log records, with what it means (docs/audit.md lists them the same way). */
export const AUDIT_ACTIONS = {
  'signin': 'signed in to the dashboard (detail.method)',
  'signout': 'signed out of the dashboard, or was signed out when the identity provider refused to refresh the session (detail.method, detail.reason)',
  'signin.failed': 'a sign-in was refused (detail.method, detail.reason; the actor is the name typed)',
  'instance.launch': 'launched an instance',
  'instance.stop': 'stopped an instance (the actor "idle limit" when its idle limit stopped it)',
  'instance.remove': 'removed a stopped instance (detail.snapshots: removed with its snapshots)',
  'app.token': 'was issued access to an instance\'s app: detail.purpose browser (a one-time link from the dashboard or a gateway\'s sign-in), token (`wharf token`, a gateway token and a link), open (`wharf open`) or connect (a `wharf connect` tunnel)',
  'share.add': 'shared an instance with a user (target), or changed the role (detail.role, detail.was)',
  'share.remove': 'revoked an instance\'s share with a user (target); their live connections to it close',
  'project.add': 'created a project (target)',
  'member.add': 'added a member to a project, or changed their role (target: the user; detail.project, detail.role, detail.was)',
  'member.remove': 'removed a member from a project (target: the user; detail.project); their live connections to its apps close',
  'user.add': 'added a user (detail.admin)',
  'user.remove': 'removed a user',
  'user.admin': 'made a user an admin or no longer one (detail.admin)',
  'user.password': 'changed a user\'s password',
  'apitoken.create': 'created an API token (target: its id; detail.name)',
  'apitoken.revoke': 'revoked an API token',
  'agent.add': 'registered an agent (target: its id; detail.name)',
  'agent.drain': 'drained an agent',
  'agent.resume': 'resumed a drained agent',
  'gateway.add': 'registered a gateway (target: its id; detail.name)',
  'keys.rotate': 'rotated the token signing key (target: the new key id)',
} as const;

export type AuditAction = keyof typeof AUDIT_ACTIONS;

/** Who acted: a user (its id and name), or Wharf itself. */
export interface Actor {
  id: string | null;
  name: string | null;
}

/** Wharf's own stops at an instance's idle limit. */
export const IDLE_LIMIT_ACTOR: Actor = { id: null, name: 'idle limit' };

/** What an entry is about. */
export interface AuditAbout {
  target?: string | null;
  instance?: string | null;
  /** The project concerned, where no instance says it (a project made); else `detail.project`, else the instance's. */
  project?: string;
  detail?: Record<string, AuditValue>;
}

/** Appends one entry; an instance's own actions name it as both target and instance. */
export function audit(store: Store, actor: Actor, action: AuditAction, about: AuditAbout = {}): Promise<AuditEntry> {
  return store.audit.add({
    actor: actor.id,
    actorName: actor.name,
    action,
    target: about.target ?? about.instance ?? null,
    instance: about.instance ?? null,
    project: about.project ?? (typeof about.detail?.project === 'string' ? about.detail.project : null),
    detail: about.detail ?? {},
  });
}
