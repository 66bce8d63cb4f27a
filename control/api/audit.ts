import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { AUDIT_ACTIONS } from '../audit/audit-log.ts';
import { parse, ValidationError } from '../../protocol/validate.ts';
import type { AuditEntry, Store } from '../store/store.ts';
import type { ApiAuth } from './auth.ts';
import { isBuiltIn, ownedProject } from '../access/projects.ts';

export const DEFAULT_AUDIT_PAGE = 100;
export const MAX_AUDIT_PAGE = 500;

const Time = (description: string) => Type.Optional(Type.String({ minLength: 1, maxLength: 40, description }));

export const AuditQuery = Type.Object({
  since: Time('entries at or after this time: an ISO 8601 time or milliseconds since the epoch'),
  until: Time('entries before this time, the same way'),
  user: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'entries of the actor of this name' })),
  instance: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'entries about this instance id' })),
  project: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'entries about this project: its instances and members (a project\'s owners may read these)' })),
  action: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: `one action (${Object.keys(AUDIT_ACTIONS).join(', ')})` })),
  before: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$', description: 'the previous page\'s `next`: entries older than it' })),
  limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,3}$', description: `most entries answered, 1 to ${MAX_AUDIT_PAGE} (default ${DEFAULT_AUDIT_PAGE})` })),
}, { additionalProperties: false });

/** An entry as the API answers it: times in ISO 8601, the actor by name. */
export interface AuditEntryView {
  seq: number;
  at: string;
  actor: string | null;
  action: string;
  target: string | null;
  instance: string | null;
  project: string | null;
  detail: AuditEntry['detail'];
}

export function auditEntryView(e: AuditEntry): AuditEntryView {
  return { seq: e.seq, at: new Date(e.at).toISOString(), actor: e.actorName, action: e.action, target: e.target, instance: e.instance, project: e.project, detail: e.detail };
}

/** A time of the query: ISO 8601 or milliseconds; a ValidationError naming the field otherwise. */
function parseTime(field: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = /^[0-9]{1,15}$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) throw new ValidationError(field, `"${value}" is not a time: give an ISO 8601 time (2026-12-07T10:00:00Z) or milliseconds since the epoch`);
  return ms;
}

/**
 * `GET /api/v1/audit`: the audit log, newest first: all of it for admins, and a project's
 * entries (`?project=`) for its owners too.
 */
export function auditRoutes(app: FastifyInstance, store: Store, auth: ApiAuth): void {
  app.get('/api/v1/audit', async (request) => {
    const q = parse(AuditQuery, request.query ?? {});
    const me = auth.user(request);
    if (q.project === undefined || isBuiltIn(q.project)) auth.admin(request); // a built-in project has no owners
    else await ownedProject(store, me, q.project);
    if (q.action !== undefined && !Object.hasOwn(AUDIT_ACTIONS, q.action)) {
      throw new ValidationError('action', `"${q.action}" is not an action (${Object.keys(AUDIT_ACTIONS).join(', ')})`);
    }
    const limit = q.limit === undefined ? DEFAULT_AUDIT_PAGE : Number(q.limit);
    if (limit < 1 || limit > MAX_AUDIT_PAGE) throw new ValidationError('limit', `must be 1 to ${MAX_AUDIT_PAGE}`);
    // One more than asked tells whether an older page exists.
    const entries = await store.audit.list({
      since: parseTime('since', q.since),
      until: parseTime('until', q.until),
      actorName: q.user,
      instance: q.instance,
      project: q.project,
      action: q.action,
      before: q.before === undefined ? undefined : Number(q.before),
      limit: limit + 1,
    });
    const page = entries.slice(0, limit);
    return { entries: page.map(auditEntryView), next: entries.length > limit ? String(page.at(-1)!.seq) : null };
  });
}
