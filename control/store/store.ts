import type { AppConfig, AppKind } from '../../protocol/app-config.ts';
import type { InstanceStatus } from '../../protocol/instance-status.ts';
import type { LaunchSpec } from '../../protocol/launch-spec.ts';
import type { Route } from '../../protocol/route.ts';
import type { Revocation } from '../../protocol/route-stream.ts';
import type { ChangeFeed } from './change-feed.ts';

/*
 * The store: everything control remembers. Handlers use only this interface; SQLite
 * (`sqlite/open.ts`) is one implementation, and PostgreSQL can be another without touching
 * them. Every method is async for that reason, even where SQLite answers synchronously.
 *
 * Rules every implementation keeps:
 * - No credential in clear: passwords are scrypt hashes, tokens, agent secrets and gateway
 *   keys sha256 hashes of their secret part. A clear credential is returned once, at
 *   creation. (Signing and cookie keys must sign, so they are kept as they are.)
 * - Times are milliseconds since the epoch, from the injected clock or passed in; the store
 *   never reads the system clock itself, so tests control time.
 * - A read-check-write (a status change, a lease) is one transaction: two controls, or two
 *   agents, never both win.
 * - Expected failures throw ControlError (`control/errors.ts`) or protocol's
 *   IllegalTransitionError, each with a code.
 */

/** Milliseconds since the epoch. */
export type Clock = () => number;

export interface User {
  id: string;
  name: string;
  admin: boolean;
  created: number;
}

export interface UserStore {
  /** Throws CTL_USER_EXISTS when the name is taken. */
  add(input: { name: string; password: string; admin?: boolean }): Promise<User>;
  get(id: string): Promise<User | undefined>;
  getByName(name: string): Promise<User | undefined>;
  /** The user when name and password match; undefined otherwise, in about the same time whether or not the name exists. */
  verifyPassword(name: string, password: string): Promise<User | undefined>;
  /** Throws CTL_NOT_FOUND for an unknown id. */
  setPassword(id: string, password: string): Promise<void>;
  setAdmin(id: string, admin: boolean): Promise<void>;
  /** By name. */
  list(): Promise<User[]>;
  /**
   * Removes a user: from now on they are unknown to every method here (get, getByName,
   * verifyPassword, list), their API tokens are revoked, and their name is free again. Their
   * instances and snapshots stay (an admin stops them). Throws CTL_NOT_FOUND for an unknown id
   * and CTL_LAST_ADMIN for the last admin.
   */
  remove(id: string): Promise<void>;
}

/**
 * Revocations of app sessions (docs/sessions.md): what every gateway is told to refuse. Kept
 * compact: one per (user, instance), the latest `before` winning, and a user's `*` revocation
 * replaces their instance revocations it covers.
 */
export interface SessionRevocationStore {
  add(revocation: Revocation): Promise<void>;
  /** By user, then instance. */
  list(): Promise<Revocation[]>;
}

/** Dashboard sessions signed out before their cookie expired: refused by every control, across restarts. */
export interface SignOutStore {
  /** Records that session `sid` ended; kept until `expires` (ms), when its cookie would have expired anyway. */
  add(sid: string, expires: number): Promise<void>;
  /** The sign-outs still in force at `now`. */
  list(now: number): Promise<{ sid: string; expires: number }[]>;
  /** Forgets sign-outs expired at `now`; returns how many. */
  sweep(now: number): Promise<number>;
}

/** Failed password sign-ins by client address and by user name (control/api/signin-throttle.ts). */
export interface SigninTally {
  failures: number;
  /** The last failure, ms. */
  last: number;
}

/** The sign-in throttle's tallies, shared by every control on the store, so that no control is a fresh start for a guesser. */
export interface SigninFailureStore {
  /**
   * One attempt, atomically (so that parallel attempts, on any control, see each other):
   * `decide` gets the tallies of `address` and `user` (none when absent or last failed more than
   * `forgetMs` ago) and says whether the attempt counts; if it does, both grow by one failure at `now`.
   */
  attempt<T>(
    address: string, user: string, now: number, forgetMs: number,
    decide: (byAddress: SigninTally | undefined, byUser: SigninTally | undefined) => { count: boolean; value: T },
  ): Promise<T>;
  /** The attempt's password was right: the address's tally shrinks by one, the user's ends. */
  succeeded(address: string, user: string): Promise<void>;
  /** Forgets tallies whose last failure was at or before `before`; returns how many. */
  sweep(before: number): Promise<number>;
}

/**
 * One point of an instance's metrics history (control/metrics/history.ts says how each field
 * combines what falls into the point). Counts are summed; means are kept as sum and count.
 */
export interface MetricsPoint {
  requests: number;
  errors: number;
  bytesIn: number;
  bytesOut: number;
  cpuSum: number;
  cpuN: number;
  gpuSum: number;
  gpuN: number;
  netSum: number;
  netN: number;
  memMax: number | null;
  /** The merged latency histogram, while the point can still take deltas; null once sealed. */
  latency: string | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

/** Where a point sits: its instance, its resolution (10 s or 1 min) and its start, Unix ms. */
export interface PointKey {
  instance: string;
  resolutionMs: number;
  t: number;
}

/** The metrics history's points, written by whichever control a gateway or agent reports to. */
export interface MetricsPointStore {
  /**
   * Changes each point named (made empty first when new) with `change`, in one transaction, so
   * that reports through several controls into one point add up. `change` may run more than once.
   */
  update(keys: PointKey[], change: (point: MetricsPoint, key: PointKey) => void): Promise<void>;
  /** The points of `instance` at `resolutionMs` with `from <= t < to`, oldest first. */
  list(instance: string, resolutionMs: number, from: number, to: number): Promise<(MetricsPoint & { t: number })[]>;
  /** Deletes the points at `resolutionMs` that start before `cutoff`; returns how many. */
  dropBefore(resolutionMs: number, cutoff: number): Promise<number>;
  /** Drops the latency histograms of points (any resolution) that ended at or before `before`, keeping their percentiles. */
  seal(before: number): Promise<number>;
  /** Deletes an instance's points. */
  forget(instance: string): Promise<void>;
  /** Points held, per resolution, and how many still carry a histogram. */
  count(): Promise<{ instances: number; byResolution: Record<number, number>; open: number }>;
}

/** The one-time links gateways have exchanged: a link works once across every gateway and restart. */
export interface UsedLinkStore {
  /** Marks `jti` used until `expires` (ms): true the first time, false when it was used before. Atomic. */
  claim(jti: string, expires: number): Promise<boolean>;
  /** Forgets links expired at `now`; returns how many. */
  sweep(now: number): Promise<number>;
}

export interface ApiToken {
  id: string;
  user: string;
  name: string;
  created: number;
  /** Updated at most once a minute, so that verifying is not a write per request. */
  lastUsed: number | null;
  revoked: number | null;
}

export interface ApiTokenStore {
  /** `token` is the clear `wharf_<id>_<secret>`: returned here once, never again. */
  create(user: string, name: string): Promise<{ apiToken: ApiToken; token: string }>;
  /** The token's user, or undefined for a malformed, unknown or revoked token. */
  verify(token: string): Promise<User | undefined>;
  /** True when the token existed and was not revoked yet. */
  revoke(id: string): Promise<boolean>;
  get(id: string): Promise<ApiToken | undefined>;
  /** Oldest first, revoked ones included. */
  list(user: string): Promise<ApiToken[]>;
}

/** `new`: added, never heard from; `online`: heartbeats arrive; `offline`: silent past its grace. */
export type AgentState = 'new' | 'online' | 'offline';

export interface Agent {
  id: string;
  name: string;
  /** Public half of the agent's credentials (WHARF_AGENT_KEY); the secret is stored hashed. */
  key: string;
  /** In the agent's order: it takes jobs from the first non-empty one. */
  queues: string[];
  state: AgentState;
  lastSeen: number | null;
  /** Takes no new jobs; its apps are being snapshotted and stopped. */
  drain: boolean;
  /** Host resources as the agent last reported them (CPUs, memory, GPUs, …). */
  resources: unknown;
  created: number;
}

export interface AgentStore {
  /** `secret` is WHARF_AGENT_SECRET in clear: returned here once, never again. */
  add(input: { name: string; queues?: string[] }): Promise<{ agent: Agent; secret: string }>;
  /** The agent when key and secret match, else undefined. */
  verify(key: string, secret: string): Promise<Agent | undefined>;
  get(id: string): Promise<Agent | undefined>;
  list(): Promise<Agent[]>;
  /** A heartbeat: lastSeen = now, state online, and the queues and resources the agent reports. */
  heartbeat(id: string, report?: { queues?: string[]; resources?: unknown }): Promise<Agent>;
  setState(id: string, state: AgentState): Promise<void>;
  setDrain(id: string, drain: boolean): Promise<void>;
}

export interface Gateway {
  id: string;
  name: string;
  created: number;
}

export interface GatewayStore {
  /** `key` is WHARF_GATEWAY_KEY (`wharfgw_<id>_<secret>`) in clear: returned here once, never again. */
  add(name: string): Promise<{ gateway: Gateway; key: string }>;
  verify(key: string): Promise<Gateway | undefined>;
  list(): Promise<Gateway[]>;
  remove(id: string): Promise<boolean>;
}

/** Where an agent published the app, as it reports it; the shape belongs to the agent protocol. */
export type Endpoint = Record<string, unknown>;

export interface Instance {
  /** A DNS label such as `i-7f3k2a9c`: the app's host is `<id>.<appsDomain>`. */
  id: string;
  /** The owner's user id. */
  owner: string;
  app: AppKind;
  name: string;
  project: string;
  tags: string[];
  queue: string;
  config: AppConfig;
  spec: LaunchSpec;
  status: InstanceStatus;
  statusReason: string | null;
  agent: string | null;
  endpoint: Endpoint | null;
  restoredFrom: string | null;
  created: number;
  updated: number;
  /** When it first became active. */
  started: number | null;
  /** When it became stopped or failed. */
  stopped: number | null;
  /** Start of the current quiet period (DESIGN.md, "Idle clock"); null while busy. */
  quietSince: number | null;
}

export interface InstanceFilter {
  status?: InstanceStatus | InstanceStatus[];
  project?: string;
  /** Instances carrying this tag. */
  tag?: string;
  queue?: string;
  owner?: string;
  /** Instances this user owns, that are shared with them, or in a project they are a member of (a user's own list). */
  visibleTo?: string;
  agent?: string;
  limit?: number;
}

/** Who reports a change: an agent must hold the instance (CTL_LEASE_EXPIRED otherwise). */
export interface Reporter {
  agent: string;
  /**
   * The fencing epoch: which lease of the job the report is made under (Job.attempts, as the
   * lease answered it). While the instance starts, a report of an earlier lease is refused,
   * even from the agent that holds the current one.
   */
  epoch?: number;
}

export interface IdleState {
  id: string;
  status: InstanceStatus;
  statusReason: string | null;
  quietSince: number | null;
}

export interface InstanceStore {
  /**
   * Instances inserted or updated after change number `seq` (PostgreSQL numbers every change;
   * SQLite, with one control, none), oldest change first, at most `limit`; and the newest
   * change number seen (`seq` itself when nothing changed). `changedSince(Infinity)`: no ids,
   * the newest number.
   */
  changedSince(seq: number, limit?: number): Promise<{ ids: string[]; seq: number }>;
  /**
   * Stores a new instance as `queued` and puts its launch job at the back of its queue, in
   * one transaction. name, project, tags, queue and restoredFrom come from the config.
   */
  create(input: { owner: string; config: AppConfig; spec: LaunchSpec }): Promise<Instance>;
  /**
   * Undefined for an unknown or removed instance. With `removed: true`, a removed instance
   * whose snapshots are kept too: what restoring and cloning from it read.
   */
  get(id: string, options?: { removed?: boolean }): Promise<Instance | undefined>;
  /** Newest first; never a removed instance. */
  list(filter?: InstanceFilter): Promise<Instance[]>;
  /** How many instances `list(filter)` would answer, `limit` aside. */
  count(filter?: InstanceFilter): Promise<number>;
  /**
   * Removes a stopped or failed instance (CTL_ILLEGAL_TRANSITION for any other status,
   * CTL_NOT_FOUND for an unknown or removed one), with its console lines, in one transaction.
   * Its snapshots are kept, and so is its row, hidden (see `get`), while any is left; with
   * `snapshots: true` they go too, and they are returned: their blobs are the caller's to delete.
   */
  remove(id: string, options?: { snapshots?: boolean }): Promise<{ snapshots: Snapshot[] }>;
  /**
   * Moves the instance to `to`, checked against the status table in the same transaction
   * as the write. `failed` needs a reason. queued → starting and starting → queued belong to
   * the queue (`JobStore.lease`, `JobStore.expire`) and are refused here. With `by`, the
   * agent must hold the instance. Leaving queued or starting ends the launch job.
   */
  updateStatus(id: string, to: InstanceStatus, reason: string | null, by?: Reporter): Promise<Instance>;
  /**
   * The endpoint an agent published, or null when it is gone. Its `gatewayPort` (a TCP app's
   * pinned port) is unique among instances that have an endpoint: CTL_TCP_PORT_TAKEN when
   * another holds it, however many controls pick at once. Losing the endpoint frees the port.
   */
  setEndpoint(id: string, endpoint: Endpoint | null, by?: Reporter): Promise<Instance>;
  /** Start of the current quiet period, or null when the app is busy (the idle detector decides). */
  setQuietSince(id: string, since: number | null): Promise<void>;
  /**
   * What the idle monitor looks at every second for every active or idle instance: a few
   * small columns, none of the JSON (10,000 full instances would cost tens of milliseconds).
   */
  idleStates(): Promise<IdleState[]>;
  /** Ids of the instances that can have a route: neither queued nor finished, with an endpoint (one small query). */
  routableIds(): Promise<string[]>;
  /**
   * Changes only the status reason ("agent offline"), not the status; refused (CTL_NOT_FOUND)
   * for an unknown id. With `expect`, only while the instance still has that status and reason
   * (false otherwise): a check and its write cannot be split by a lease or another writer.
   */
  setStatusReason(id: string, reason: string | null, expect?: { status: InstanceStatus; reason: string | null }): Promise<boolean>;
}

/** A launch job. It exists while its instance is queued or starting. */
export interface Job {
  /** Enqueue sequence: FIFO order within a queue. */
  seq: number;
  instance: string;
  queue: string;
  state: 'queued' | 'leased';
  agent: string | null;
  leaseExpires: number | null;
  /** How many times an agent leased it. */
  attempts: number;
  enqueued: number;
}

export interface QueueDepth {
  queue: string;
  queued: number;
  leased: number;
}

export interface JobStore {
  /**
   * The oldest waiting job of the first queue in `queues` that has one, leased to the agent
   * until now + leaseMs; its instance goes queued → starting. Undefined when every queue is
   * empty or the agent drains. Atomic: no two agents lease the same job.
   */
  lease(agentId: string, queues: string[], leaseMs: number, now: number): Promise<Job | undefined>;
  /** The heartbeat: every live lease of the agent now ends at now + leaseMs. Returns how many. */
  /**
   * Extends the live leases of `agentId` to `now + leaseMs`: those of `instances` only when
   * given (what the agent says it has; a lease it never heard of then runs out), else all.
   */
  renew(agentId: string, now: number, leaseMs: number, instances?: readonly string[]): Promise<number>;
  /**
   * Puts every job whose lease ended at or before `now` back in its queue, at its old
   * place, and its instance back to queued. Returns those jobs, as they were leased, once.
   */
  expire(now: number): Promise<Job[]>;
  /**
   * Throws CTL_LEASE_EXPIRED unless the agent holds the instance: a live lease while it starts
   * (of epoch `epoch`, when given), the instance's agent after.
   */
  assertHolder(agentId: string, instanceId: string, now: number, epoch?: number): Promise<void>;
  get(instanceId: string): Promise<Job | undefined>;
  /** Waiting and leased jobs per queue, by queue name. */
  depths(): Promise<QueueDepth[]>;
}

export interface Snapshot {
  id: string;
  instance: string;
  owner: string;
  sha256: string;
  /** Bytes. */
  size: number;
  created: number;
  /** Where the blob lies, relative to the blob store. */
  path: string;
}

export interface SnapshotStore {
  add(input: Omit<Snapshot, 'id' | 'created'> & { id?: string }): Promise<Snapshot>;
  get(id: string): Promise<Snapshot | undefined>;
  /** Newest first. */
  list(filter?: { owner?: string; instance?: string }): Promise<Snapshot[]>;
  /**
   * True when it existed. The blob is the caller's to delete. The last snapshot of a removed
   * instance takes the instance's hidden row with it.
   */
  delete(id: string): Promise<boolean>;
}

export type ConsoleStream = 'event' | 'stdout' | 'stderr';

export interface ConsoleLine {
  /** 1, 2, 3 … per instance; a follower resumes with `since(lastSeq)`. */
  seq: number;
  at: number;
  stream: ConsoleStream;
  text: string;
}

export interface ConsoleStore {
  /** Appends lines (`at` defaults to now, `stream` to event) and returns the last seq; keeps only the newest lines of the instance. */
  append(instance: string, lines: { text: string; stream?: ConsoleStream; at?: number }[]): Promise<number>;
  /** Lines with seq > `seq`, oldest first, at most `limit`. */
  since(instance: string, seq: number, limit?: number): Promise<ConsoleLine[]>;
}

/**
 * Keys every control must hold the same of: the dashboard's cookie key, the apps' cookie key.
 * Held as they are (they sign, so they cannot be hashed): the store is their home, and is
 * guarded as such (the SQLite file 0600, PostgreSQL's own access control).
 */
export interface SharedKeyStore {
  /** The key named `name`; when there is none yet, `initial` is stored and returned. Atomic: controls starting together agree on one. */
  getOrAdd(name: string, initial: string): Promise<string>;
}

/** A token signing key as stored (control/keys/signing-keys.ts reads and checks it). */
export interface SigningKeyRecord {
  kid: string;
  created: number;
  /** When it stopped signing; null for the current key. */
  retired: number | null;
  /** PKCS#8 PEM. */
  privateKey: string;
}

export interface SigningKeyStore {
  /** Oldest first. */
  list(): Promise<SigningKeyRecord[]>;
  /**
   * Makes `key` the current key and retires the current one at `key.created`, only while
   * the current key is still `currentKid` (undefined: there is none). False when another
   * control rotated first: a rotation happens once, whichever control runs it.
   */
  rotate(currentKid: string | undefined, key: SigningKeyRecord): Promise<boolean>;
  /** Adds keys read from an older install's files, only into an empty table; false when it held keys already. */
  importIfEmpty(keys: SigningKeyRecord[]): Promise<boolean>;
  remove(kid: string): Promise<void>;
}

/** What a share lets its user do: viewer sees the instance and its dashboards, user also opens and connects to the app and clones its workspace. */
export type ShareRole = 'viewer' | 'user';

export interface Share {
  instance: string;
  /** The user it is shared with (id). */
  user: string;
  role: ShareRole;
  created: number;
  /** Who shared it (user id); null once that user is removed. */
  by: string | null;
}

export interface ShareStore {
  /** Shares the instance with the user, or changes the role of the share there is; returns it. */
  set(instance: string, user: string, role: ShareRole, by: string): Promise<Share>;
  get(instance: string, user: string): Promise<Share | undefined>;
  /** The instance's shares, oldest first. */
  list(instance: string): Promise<Share[]>;
  /** True when there was such a share. */
  remove(instance: string, user: string): Promise<boolean>;
}

/** A member's role in a project: viewer sees its instances, user also launches into it and opens its apps, owner also manages its members. */
export type ProjectRole = 'viewer' | 'user' | 'owner';

export interface Project {
  name: string;
  created: number;
}

export interface ProjectMember {
  project: string;
  /** The member (user id). */
  user: string;
  role: ProjectRole;
  added: number;
  /** Who added them (user id); null once that user is removed. */
  by: string | null;
}

export interface ProjectStore {
  /** A new project; CTL_CONFLICT when one has that name. */
  add(name: string): Promise<Project>;
  get(name: string): Promise<Project | undefined>;
  /** By name. */
  list(): Promise<Project[]>;
  /** Adds a member, or changes the role of one; returns them. */
  setMember(project: string, user: string, role: ProjectRole, by: string): Promise<ProjectMember>;
  getMember(project: string, user: string): Promise<ProjectMember | undefined>;
  /** The project's members, oldest first. */
  members(project: string): Promise<ProjectMember[]>;
  /** The user's memberships, by project. */
  memberships(user: string): Promise<ProjectMember[]>;
  /** True when they were a member. */
  removeMember(project: string, user: string): Promise<boolean>;
}

/** A plain value of an audit entry's detail: never a secret (no token, password or key). */
export type AuditValue = string | number | boolean;

/** One line of the audit log: who did what to which, when (control/audit/audit-log.ts names the actions). */
export interface AuditEntry {
  /** The paging cursor: grows with every entry, never reused. */
  seq: number;
  at: number;
  /** The user's id; null for Wharf itself (the idle limit) or a caller it does not know (a failed sign-in). */
  actor: string | null;
  /** The actor's name as it was then: kept after the user is removed. */
  actorName: string | null;
  action: string;
  /** What it was done to: a user's name, a token's, agent's or gateway's id, an instance id. */
  target: string | null;
  /** The instance concerned, if any: what `wharf audit --instance` looks for. */
  instance: string | null;
  /** The project concerned: the instance's (the store fills it in when left null), or the one a project or membership change names. */
  project: string | null;
  detail: Record<string, AuditValue>;
}

export interface AuditFilter {
  /** From this time on (inclusive), in ms. */
  since?: number;
  /** Before this time (exclusive), in ms. */
  until?: number;
  /** Entries whose actor had this name. */
  actorName?: string;
  instance?: string;
  /** Entries about this project (its instances, its members). */
  project?: string;
  action?: string;
  /** Entries older than this seq: the previous page's last one. */
  before?: number;
  /** Most entries answered. */
  limit: number;
}

export interface AuditStore {
  /** Appends one entry (`at` defaults to now) and returns it. */
  add(entry: Omit<AuditEntry, 'seq' | 'at'> & { at?: number }): Promise<AuditEntry>;
  /** Newest first. */
  list(filter: AuditFilter): Promise<AuditEntry[]>;
  /** Removes the entries older than `before` (the retention); returns how many. */
  sweep(before: number): Promise<number>;
}

/** A dashboard sign-in made through the identity provider (control/sso): what its refresh needs, server-side only. */
export interface SsoSession {
  /** The console session's id (its cookie names it). */
  sid: string;
  /** The user's id. */
  user: string;
  /** The IdP's refresh token, sealed by control/sso/sealed.ts (never in clear in the store); null when the IdP gave none. */
  refreshToken: string | null;
  /** The last ID token: the end-session request's `id_token_hint`. */
  idToken: string | null;
  /** When the claims are read again from the IdP (ms): the access token's expiry. */
  refreshAt: number;
  /** When the console session expires anyway (ms); swept after. */
  expires: number;
}

/** Single sign-on: which user each identity-provider account is, and the IdP sessions behind sign-ins. */
export interface SsoStore {
  /** The user id linked to `subject` at `issuer`, or undefined at the first sign-in. */
  user(issuer: string, subject: string): Promise<string | undefined>;
  /** The subject at `issuer` linked to a user, or undefined for a user who never signed in there. */
  subjectOf(issuer: string, user: string): Promise<string | undefined>;
  /** Links an IdP account to a user (its first sign-in made them), unless it is linked already; returns the user it is linked to. */
  link(issuer: string, subject: string, user: string): Promise<string>;
  /** Creates or replaces the session with this sid. */
  saveSession(session: SsoSession): Promise<void>;
  session(sid: string): Promise<SsoSession | undefined>;
  /**
   * Takes the refresh of a session whose `refreshAt` has come, for `leaseMs`: true for one
   * caller only (of every control), so that a rotating refresh token is used once.
   */
  claimRefresh(sid: string, now: number, leaseMs: number): Promise<boolean>;
  /** Forgets a session (signed out, or refused by the IdP). */
  endSession(sid: string): Promise<void>;
  /** Forgets the sessions expired at `now`; returns how many. */
  sweep(now: number): Promise<number>;
}

/** One change of the shared route table, from `version - 1` to `version`. */
export interface RouteTableChange {
  version: number;
  upsert: Route[];
  remove: string[];
}

/**
 * The route table that every control on one database serves its gateways from
 * (control/routes/shared-route-log.ts): the routes, and the log of their changes, numbered
 * by one counter in the database. Writers take turns on that counter (a row lock), so that
 * version N is the same table on every control and a gateway resumes on any of them.
 */
export interface RouteTableStore {
  /** The whole table at one instant: its version, and `epoch`, which names this database's history of versions. */
  read(): Promise<{ epoch: string; version: number; routes: Route[] }>;
  /**
   * The changes after `version`, oldest first, at most `limit` ([] at the current version);
   * undefined when the oldest of them is no longer kept (read the whole table instead).
   */
  since(version: number, limit?: number): Promise<RouteTableChange[] | undefined>;
  /**
   * Applies the routes of `upsert` and removals of `remove` that change the table (removes
   * first, a route also upserted is kept) as the next version, and returns it; `unchanged`
   * when none would. With `ifVersion`, only while the table is at that version: `moved`
   * otherwise (what the caller compared against is out of date).
   */
  apply(change: { upsert?: readonly Route[]; remove?: readonly string[] }, options?: { ifVersion?: number }): Promise<number | 'unchanged' | 'moved'>;
}

/** Work that runs on one control at a time, of several on one database (idle stops, snapshot retention). */
export interface StoreLocks {
  /**
   * True while this control holds the lock `name`, taking it when it is free. A control holds
   * it until its connection to the store ends (the process died, the network is cut): then
   * another takes it at its next call. Never true on two controls at once.
   */
  hold(name: string): Promise<boolean>;
}

export interface Store {
  readonly users: UserStore;
  readonly apiTokens: ApiTokenStore;
  readonly agents: AgentStore;
  readonly gateways: GatewayStore;
  readonly instances: InstanceStore;
  readonly jobs: JobStore;
  readonly snapshots: SnapshotStore;
  readonly console: ConsoleStore;
  readonly revocations: SessionRevocationStore;
  readonly usedLinks: UsedLinkStore;
  readonly signOuts: SignOutStore;
  readonly signinFailures: SigninFailureStore;
  readonly metrics: MetricsPointStore;
  readonly sharedKeys: SharedKeyStore;
  readonly signingKeys: SigningKeyStore;
  readonly audit: AuditStore;
  readonly shares: ShareStore;
  readonly projects: ProjectStore;
  readonly sso: SsoStore;
  readonly routeTable: RouteTableStore;
  /** What this control tells the others on the same database, and hears from them. */
  readonly changes: ChangeFeed;
  readonly locks: StoreLocks;
  close(): Promise<void>;
}
