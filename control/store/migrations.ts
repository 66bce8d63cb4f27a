import type { DatabaseSync } from 'node:sqlite';
import { ControlError } from '../errors.ts';

/*
 * The SQLite schema as an ordered list of migrations (PostgreSQL's: postgres/migrations.ts). Append only: a released migration is
 * never edited, a change is a new one. `schema_version` records each applied version; all
 * pending migrations run in one transaction, so a failure leaves the database as it was.
 *
 * Tables are STRICT (a wrong type is an error, not a silent conversion). Times are INTEGER
 * milliseconds since the epoch; JSON columns hold TEXT.
 */

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

const STATUSES = "'queued', 'starting', 'active', 'idle', 'stopping', 'stopped', 'failed'";

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'users, tokens, agents, gateways, instances, jobs, snapshots, console',
    sql: `
      CREATE TABLE users (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,          -- scrypt$N$r$p$salt$hash
        admin INTEGER NOT NULL DEFAULT 0 CHECK (admin IN (0, 1)),
        created INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE api_tokens (
        id TEXT PRIMARY KEY,
        user TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        secret_hash TEXT NOT NULL,            -- sha256 hex of the secret part
        created INTEGER NOT NULL,
        last_used INTEGER,
        revoked INTEGER
      ) STRICT;
      CREATE INDEX api_tokens_by_user ON api_tokens(user, created);

      CREATE TABLE agents (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        key TEXT NOT NULL UNIQUE,
        secret_hash TEXT NOT NULL,            -- sha256 hex
        queues TEXT NOT NULL DEFAULT '[]',    -- JSON list, in the agent's order
        state TEXT NOT NULL DEFAULT 'new' CHECK (state IN ('new', 'online', 'offline')),
        last_seen INTEGER,
        drain INTEGER NOT NULL DEFAULT 0 CHECK (drain IN (0, 1)),
        resources TEXT,                       -- JSON
        created INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE gateways (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        key_hash TEXT NOT NULL,               -- sha256 hex of the secret part
        created INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE instances (
        id TEXT PRIMARY KEY,
        owner TEXT NOT NULL REFERENCES users(id),
        app TEXT NOT NULL,
        name TEXT NOT NULL,
        project TEXT NOT NULL,
        tags TEXT NOT NULL,                   -- JSON list
        queue TEXT NOT NULL,
        config TEXT NOT NULL,                 -- JSON AppConfig
        spec TEXT NOT NULL,                   -- JSON LaunchSpec
        status TEXT NOT NULL CHECK (status IN (${STATUSES})),
        status_reason TEXT,
        agent TEXT REFERENCES agents(id),
        endpoint TEXT,                        -- JSON
        restored_from TEXT,
        created INTEGER NOT NULL,
        updated INTEGER NOT NULL,
        started INTEGER,
        stopped INTEGER,
        quiet_since INTEGER
      ) STRICT;
      CREATE INDEX instances_by_created ON instances(created);
      CREATE INDEX instances_by_status ON instances(status, created);
      CREATE INDEX instances_by_owner ON instances(owner, created);
      CREATE INDEX instances_by_agent ON instances(agent, status);

      -- Launch jobs: a row lives while its instance is queued or starting.
      CREATE TABLE jobs (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, -- enqueue order, never reused
        instance TEXT NOT NULL UNIQUE REFERENCES instances(id) ON DELETE CASCADE,
        queue TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('queued', 'leased')),
        agent TEXT REFERENCES agents(id),
        lease_expires INTEGER,
        attempts INTEGER NOT NULL DEFAULT 0,
        enqueued INTEGER NOT NULL,
        CHECK ((state = 'queued') = (agent IS NULL AND lease_expires IS NULL))
      ) STRICT;
      CREATE INDEX jobs_waiting ON jobs(queue, seq) WHERE state = 'queued';
      CREATE INDEX jobs_by_expiry ON jobs(lease_expires) WHERE state = 'leased';
      CREATE INDEX jobs_by_agent ON jobs(agent) WHERE state = 'leased';

      CREATE TABLE snapshots (
        id TEXT PRIMARY KEY,
        instance TEXT NOT NULL REFERENCES instances(id),
        owner TEXT NOT NULL REFERENCES users(id),
        sha256 TEXT NOT NULL,
        size INTEGER NOT NULL CHECK (size >= 0),
        created INTEGER NOT NULL,
        path TEXT NOT NULL
      ) STRICT;
      CREATE INDEX snapshots_by_instance ON snapshots(instance, created);
      CREATE INDEX snapshots_by_owner ON snapshots(owner, created);

      CREATE TABLE console_lines (
        instance TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        at INTEGER NOT NULL,
        stream TEXT NOT NULL CHECK (stream IN ('event', 'stdout', 'stderr')),
        text TEXT NOT NULL,
        PRIMARY KEY (instance, seq)
      ) STRICT, WITHOUT ROWID;
    `,
  },
  {
    version: 2,
    name: 'removed users, app session revocations, used one-time links',
    sql: `
      -- A removed user keeps their row (instances and snapshots name them) under the name
      -- '~<id>', which no user name can be, so that their name is free again.
      ALTER TABLE users ADD COLUMN removed INTEGER;

      -- The user's app cookies and gateway tokens issued before the time in "before" are
      -- refused on the instance ('*': every one). One row per (user, instance), the latest kept.
      -- No foreign key: a removed user's revocation outlives them.
      CREATE TABLE session_revocations (
        user TEXT NOT NULL,
        instance TEXT NOT NULL,
        before INTEGER NOT NULL,
        PRIMARY KEY (user, instance)
      ) STRICT, WITHOUT ROWID;

      -- One-time links some gateway has exchanged, kept until they have expired.
      CREATE TABLE used_links (
        jti TEXT PRIMARY KEY,
        expires INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX used_links_by_expiry ON used_links(expires);
    `,
  },
  {
    version: 3,
    name: 'removed instances',
    sql: `
      -- When the instance was removed (wharf rm). A removed instance whose snapshots are kept
      -- keeps its row, hidden from every list and look-up but the restore source's, since
      -- snapshots name it and a clone reads its config; without snapshots its row is deleted.
      ALTER TABLE instances ADD COLUMN removed INTEGER;
    `,
  },
  {
    version: 4,
    name: 'keys shared by every control',
    sql: `
      -- Cookie keys every control signs and checks with (base64url), made once.
      CREATE TABLE shared_keys (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        created INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID;

      -- Token signing keys (Ed25519, PKCS#8 PEM); the one with retired NULL is current.
      CREATE TABLE signing_keys (
        kid TEXT PRIMARY KEY,
        created INTEGER NOT NULL,
        retired INTEGER,
        private_key TEXT NOT NULL
      ) STRICT, WITHOUT ROWID;
    `,
  },
  {
    version: 5,
    name: 'TCP gateway ports unique',
    sql: `
      -- The gateway port control pinned for a TCP app (its endpoint's gatewayPort), while it has an
      -- endpoint: unique, so that two controls picking at the same moment cannot both take one.
      ALTER TABLE instances ADD COLUMN gateway_port INTEGER;
      UPDATE instances SET gateway_port = json_extract(endpoint, '$.gatewayPort') WHERE endpoint IS NOT NULL;
      CREATE UNIQUE INDEX instances_by_gateway_port ON instances(gateway_port) WHERE gateway_port IS NOT NULL;
    `,
  },
  {
    version: 6,
    name: 'sign-in state shared by every control',
    sql: `
      -- Dashboard sessions signed out, kept until their cookie would have expired.
      CREATE TABLE signed_out (
        sid TEXT PRIMARY KEY,
        expires INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX signed_out_by_expiry ON signed_out(expires);

      -- Failed password sign-ins per client address (kind 'address') and per user name ('user').
      CREATE TABLE signin_failures (
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        failures INTEGER NOT NULL,
        last INTEGER NOT NULL,
        PRIMARY KEY (kind, key)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX signin_failures_by_last ON signin_failures(last);
    `,
  },
  {
    version: 7,
    name: 'metrics history in the store',
    sql: `
      -- Points of each instance's metrics history (control/metrics/history.ts): 10 s and 1 min
      -- (resolution, ms), each starting at t (Unix ms). The latency histogram (compressed
      -- base64) is kept while the point may still take deltas, then only its percentiles.
      CREATE TABLE metrics_points (
        instance TEXT NOT NULL,
        resolution INTEGER NOT NULL,
        t INTEGER NOT NULL,
        requests INTEGER NOT NULL,
        errors INTEGER NOT NULL,
        bytes_in INTEGER NOT NULL,
        bytes_out INTEGER NOT NULL,
        cpu_sum REAL NOT NULL,
        cpu_n INTEGER NOT NULL,
        gpu_sum REAL NOT NULL,
        gpu_n INTEGER NOT NULL,
        net_sum REAL NOT NULL,
        net_n INTEGER NOT NULL,
        mem_max REAL,
        latency TEXT,
        p50 REAL,
        p95 REAL,
        p99 REAL,
        PRIMARY KEY (instance, resolution, t)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX metrics_points_by_age ON metrics_points(resolution, t);
    `,
  },
  {
    version: 8,
    name: 'instance change sequence',
    sql: `
      -- On PostgreSQL, a sequence numbers every change of an instance, so that controls on one
      -- database can read what changed since they last looked. One control on SQLite has nobody
      -- to follow: the column is here so that both schemas have the same columns (wharf store copy).
      ALTER TABLE instances ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    version: 9,
    name: 'audit log',
    sql: `
      -- Who did what (control/audit/audit-log.ts): appended, never changed, removed only by age
      -- (--audit-retention). No foreign keys: an entry outlives the user or instance it names.
      CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, -- the paging cursor, never reused
        at INTEGER NOT NULL,
        actor TEXT,                           -- user id; null for Wharf itself or an unknown caller
        actor_name TEXT,                      -- as it was then ("idle limit" for Wharf's own stops)
        action TEXT NOT NULL,
        target TEXT,
        instance TEXT,
        detail TEXT NOT NULL DEFAULT '{}'     -- JSON object of plain values, never a secret
      ) STRICT;
      CREATE INDEX audit_log_by_time ON audit_log(at);
      CREATE INDEX audit_log_by_instance ON audit_log(instance, seq);
      CREATE INDEX audit_log_by_actor ON audit_log(actor_name, seq);
    `,
  },
  {
    version: 10,
    name: 'instance shares',
    sql: `
      -- An instance shared by its owner (or an admin) with another user, as viewer or user
      -- (control/access/instance-access.ts). Goes with the instance and with the user.
      CREATE TABLE instance_shares (
        instance TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
        user TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        role TEXT NOT NULL CHECK (role IN ('viewer', 'user')),
        created INTEGER NOT NULL,
        by TEXT,                              -- who shared it (user id); null once that user is gone
        PRIMARY KEY (instance, user)
      ) STRICT;
      CREATE INDEX instance_shares_by_user ON instance_shares(user);
    `,
  },
  {
    version: 11,
    name: 'projects and their members',
    sql: `
      -- Projects users launch into and their members (control/access/projects.ts). The built-in
      -- ones ("Interactive Session", "Apps") are not rows: anyone launches there, nobody is a member.
      CREATE TABLE projects (
        name TEXT PRIMARY KEY,
        created INTEGER NOT NULL
      ) STRICT;
      CREATE TABLE project_members (
        project TEXT NOT NULL REFERENCES projects(name) ON DELETE CASCADE,
        user TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        role TEXT NOT NULL CHECK (role IN ('viewer', 'user', 'owner')),
        added INTEGER NOT NULL,
        by TEXT,                              -- who added them (user id)
        PRIMARY KEY (project, user)
      ) STRICT;
      CREATE INDEX project_members_by_user ON project_members(user);
      -- The projects instances named before projects existed, so that they stay launchable (by admins).
      INSERT INTO projects (name, created)
        SELECT project, MIN(created) FROM instances WHERE project NOT IN ('Interactive Session', 'Apps') GROUP BY project;
    `,
  },
  {
    version: 12,
    name: 'single sign-on identities and sessions',
    sql: `
      -- Which user an identity provider's account is (control/sso): by issuer and subject, never by name.
      CREATE TABLE sso_identities (
        issuer TEXT NOT NULL,
        subject TEXT NOT NULL,
        user TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        PRIMARY KEY (issuer, subject)
      ) STRICT;
      CREATE INDEX sso_identities_by_user ON sso_identities(user);
      -- The IdP session behind each SSO sign-in: the sealed refresh token, server-side only.
      CREATE TABLE sso_sessions (
        sid TEXT PRIMARY KEY,
        user TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        refresh_token TEXT,
        id_token TEXT,
        refresh_at INTEGER NOT NULL,
        expires INTEGER NOT NULL,
        claimed_until INTEGER NOT NULL DEFAULT 0
      ) STRICT;
    `,
  },
  {
    version: 13,
    name: 'the project of each audit entry',
    sql: `
      -- What a project's owners read of the audit log (GET /api/v1/audit?project=): set when the
      -- entry is written (from its instance, or the project it names), so it outlives the instance.
      ALTER TABLE audit_log ADD COLUMN project TEXT;
      UPDATE audit_log SET project = (SELECT project FROM instances WHERE instances.id = audit_log.instance) WHERE instance IS NOT NULL;
      CREATE INDEX audit_log_by_project ON audit_log(project, seq);
    `,
  },
  {
    version: 14,
    name: 'shared route table',
    sql: `
      -- The route table that controls on one database share (control/routes/shared-route-log.ts),
      -- its version counter with the epoch that names this history, and its recent changes.
      CREATE TABLE route_version (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        version INTEGER NOT NULL,
        epoch TEXT NOT NULL
      ) STRICT;
      INSERT INTO route_version (id, version, epoch) VALUES (1, 0, lower(hex(randomblob(9))));
      CREATE TABLE route_table (id TEXT PRIMARY KEY, route TEXT NOT NULL) STRICT;
      CREATE TABLE route_changes (version INTEGER PRIMARY KEY, upsert TEXT NOT NULL, remove TEXT NOT NULL) STRICT;
    `,
  },
];

/** The newest version this code knows. */
export function latestVersion(migrations: readonly Migration[] = MIGRATIONS): number {
  return migrations.at(-1)?.version ?? 0;
}

/** The version the database is at; 0 for a new one. */
export function schemaVersion(db: DatabaseSync): number {
  const table = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").get();
  if (!table) return 0;
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_version').get() as { v: number | null };
  return row.v ?? 0;
}

/**
 * Brings the database up to the newest migration. Returns the versions it applied (none
 * when it was up to date). Refuses a database from a newer Wharf with CTL_STORE_TOO_NEW.
 */
export function migrate(db: DatabaseSync, now: number, migrations: readonly Migration[] = MIGRATIONS): number[] {
  checkOrder(migrations);
  // IMMEDIATE takes the write lock first: two processes opening one new file migrate it once.
  db.exec('BEGIN IMMEDIATE');
  try {
    db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied INTEGER NOT NULL) STRICT');
    const current = schemaVersion(db);
    const latest = latestVersion(migrations);
    if (current > latest) throw tooNew(current, latest);
    const applied: number[] = [];
    const record = db.prepare('INSERT INTO schema_version (version, name, applied) VALUES (?, ?, ?)');
    for (const migration of migrations) {
      if (migration.version <= current) continue;
      try {
        db.exec(migration.sql);
      } catch (err) {
        throw migrationFailed(migration, err);
      }
      record.run(migration.version, migration.name, now);
      applied.push(migration.version);
    }
    db.exec('COMMIT');
    return applied;
  } catch (err) {
    db.exec('ROLLBACK');
    throw err;
  }
}

export function migrationFailed(migration: Migration, err: unknown): ControlError {
  return new ControlError('CTL_STORE_MIGRATION', `migration ${migration.version} (${migration.name}) failed: ${(err as Error).message}`, { cause: err });
}

/** What opening a database written by a newer Wharf throws. */
export function tooNew(current: number, latest: number): ControlError {
  return new ControlError('CTL_STORE_TOO_NEW', `the database has schema version ${current}, this Wharf knows versions up to ${latest}`);
}

/** Throws unless the versions run 1, 2, 3 … in order. */
export function checkOrder(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration ${i} has version ${m.version}; versions must run 1, 2, 3 … in order`);
  });
}
