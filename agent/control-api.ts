import { createReadStream } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { ControlUrls, parseControlUrls } from '../protocol/control-urls.ts';
import { parseLaunchSpec, type LaunchSpec } from '../protocol/launch-spec.ts';
import { LEASE_EPOCH_HEADER } from '../protocol/lease-epoch.ts';
import type { ResourceSampleReport } from '../protocol/resource-sample.ts';

/*
 * The agent's side of control's agent API (control/api/agents.ts has the server side):
 * `Authorization: Bearer <key>:<secret>` on every call. Answers are checked before use: a
 * job's launch spec goes through the protocol schema, so a control of another version or a
 * man in the middle cannot make the agent run something malformed.
 */

export interface Job {
  instance: string;
  queue: string;
  spec: LaunchSpec;
  attempts: number;
  /** The snapshot to restore before the app starts (the spec's workspace.restoreFrom resolved by control). */
  restore: RestoreInfo | null;
}

/** Which snapshot restores a workspace: control's answer for `workspace.restoreFrom`. */
export interface RestoreInfo {
  snapshot: string;
  sha256: string;
  /** The instance it was taken of. */
  from: string;
}

export interface SnapshotInfo {
  id: string;
  instance: string;
  sha256: string;
  size: number;
  created: string;
}

export interface HeartbeatAnswer {
  /** The agent's id (the `wharf.agent` label of its containers). */
  agent: string;
  drain: boolean;
  leaseTimeoutMs: number;
  /** Instances control wants stopped (status `stopping`). */
  stop: string[];
  /** Instances control considers this agent's (starting, active, idle, stopping). */
  instances: string[];
  /** Instances whose workspace a user asked to snapshot now (`wharf snapshot ID`). */
  snapshot: string[];
}

export interface ConsoleLine {
  text: string;
  stream: 'event' | 'stdout' | 'stderr';
  at: number;
}

/** Control answered with an error; `code` is its stable X-Wharf-Error code. */
export class ControlApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** A leased job whose launch spec this agent cannot read (a control of another version): it fails, not loops. */
export class UnrunnableJob extends Error {
  readonly instance: string;
  constructor(instance: string, why: string) {
    super(`this agent cannot run the launch spec: ${why}`);
    this.instance = instance;
  }
}

/** The agent lost the instance: its lease expired or it went to another agent (409). */
export const isLeaseLost = (err: unknown): boolean => err instanceof ControlApiError && err.code === 'CTL_LEASE_EXPIRED';

/** Control could not be reached, or the connection broke off mid-request: it may be restarting. */
export class ControlUnreachable extends Error {}

/**
 * Worth trying again later: control away (restarting, its host rebooting) or answering 5xx on
 * the way; not 507, a full snapshot store, which waits for an admin.
 */
export function controlAway(err: unknown): boolean {
  return err instanceof ControlUnreachable || (err instanceof ControlApiError && err.status >= 500 && err.status !== 501 && err.status !== 507);
}

/**
 * Runs `fn` again while control is away (controlAway), with a pause growing from 1 s to 30 s,
 * for up to `forMs` (default 10 minutes; then the last error is thrown), or until `giveUp`.
 */
export async function retryWhileAway<T>(fn: () => Promise<T>, options: { forMs?: number; onRetry?: (err: Error, pauseMs: number) => void; giveUp?: () => boolean } = {}): Promise<T> {
  const deadline = Date.now() + (options.forMs ?? 600_000);
  for (let pause = 1_000; ; pause = Math.min(pause * 2, 30_000)) {
    try {
      return await fn();
    } catch (err) {
      if (!controlAway(err) || Date.now() + pause > deadline || options.giveUp?.()) throw err;
      options.onRetry?.(err as Error, pause);
      await new Promise((resolve) => setTimeout(resolve, pause).unref());
    }
  }
}

export class AgentControlApi {
  readonly #urls: ControlUrls;
  readonly #auth: string;
  readonly #restores = new Map<string, RestoreInfo | null>();
  /** The fencing epoch of each instance leased here (protocol/lease-epoch.ts), sent with its reports. */
  readonly #epochs = new Map<string, number>();

  /** `controlUrl`: one URL, or several controls' (comma-separated): the next is used when one cannot be reached. */
  constructor(controlUrl: string, key: string, secret: string) {
    this.#urls = new ControlUrls(parseControlUrls(controlUrl));
    this.#auth = `Bearer ${key}:${secret}`;
  }

  /**
   * `launching`: the instances this agent is launching or running; control renews the leases of
   * those only, so that a lease whose answer never arrived (its control died as it answered)
   * runs out and its job goes back to the queue. Left out (the first heartbeat, before adoption):
   * every lease this agent holds is renewed.
   */
  async heartbeat(body: { resources?: unknown; queues?: string[]; launching?: string[] }): Promise<HeartbeatAnswer> {
    const a = await this.#call<Partial<HeartbeatAnswer>>('POST', 'heartbeat', body);
    const ids = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
    if (typeof (a as { agent?: unknown })?.agent !== 'string') throw new Error('control answered a heartbeat without the agent id');
    return {
      agent: (a as { agent: string }).agent,
      drain: a?.drain === true,
      leaseTimeoutMs: typeof a?.leaseTimeoutMs === 'number' && a.leaseTimeoutMs > 0 ? a.leaseTimeoutMs : 30_000,
      stop: ids(a?.stop),
      instances: ids(a?.instances),
      snapshot: ids((a as { snapshot?: unknown })?.snapshot),
    };
  }

  /** The next job of this agent's queues, or undefined after waiting `waitMs` with none. */
  async lease(waitMs: number, signal?: AbortSignal): Promise<Job | undefined> {
    const a = await this.#call<Record<string, unknown> | undefined>('POST', `lease?wait=${Math.round(waitMs)}`, undefined, { signal });
    if (!a) return undefined;
    if (typeof a.instance !== 'string' || !/^[a-z0-9-]{1,64}$/.test(a.instance)) throw new Error('control answered a lease without a valid instance id');
    const restore = parseRestore(a.restore);
    this.#restores.set(a.instance, restore);
    let spec: LaunchSpec;
    try {
      spec = parseLaunchSpec(a.spec);
    } catch (err) {
      throw new UnrunnableJob(a.instance, (err as Error).message);
    }
    const attempts = Number(a.attempts ?? 1);
    if (Number.isSafeInteger(attempts) && attempts >= 1) this.#epochs.set(a.instance, attempts);
    return { instance: a.instance, queue: String(a.queue ?? ''), spec, attempts, restore };
  }

  /** The restore of the instance's last lease (undefined: none leased here, e.g. adopted). */
  restoreFor(id: string): RestoreInfo | null | undefined {
    return this.#restores.get(id);
  }

  forget(id: string): void {
    this.#restores.delete(id);
    this.#epochs.delete(id);
  }

  /** A snapshot made of an already stored blob with this digest (nothing uploaded); undefined when control has none. */
  async reuseSnapshot(id: string, sha256: string): Promise<SnapshotInfo | undefined> {
    try {
      return await this.#call<SnapshotInfo>('POST', `instances/${encodeURIComponent(id)}/snapshot/reuse`, { sha256 });
    } catch (err) {
      if (err instanceof ControlApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** Streams a snapshot file to control; `progress` gets the bytes sent so far. */
  uploadSnapshot(id: string, file: string, size: number, sha256: string, progress: (sent: number) => void): Promise<SnapshotInfo> {
    return this.#urls.use((base) => this.#upload(base, id, file, size, sha256, progress));
  }

  #upload(base: string, id: string, file: string, size: number, sha256: string, progress: (sent: number) => void): Promise<SnapshotInfo> {
    const path = `instances/${encodeURIComponent(id)}/snapshot`;
    const url = new URL(agentPath(base, path));
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      let settled = false;
      const done = (err: Error | null, value?: SnapshotInfo) => {
        if (settled) return;
        settled = true;
        if (err) reject(err);
        else resolve(value!);
      };
      const body = createReadStream(file);
      const req = send(url, {
        method: 'PUT',
        headers: { authorization: this.#auth, 'content-type': 'application/octet-stream', 'content-length': String(size), 'x-wharf-sha256': sha256 },
      }, (res) => {
        const ok = (res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300;
        // Refused (413 over the limit, 409 lease): the rest of the file is not sent.
        if (!ok) body.unpipe(req);
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => done(err));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if ((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300) {
            try {
              return done(null, JSON.parse(text) as SnapshotInfo);
            } catch {
              return done(new Error(`control answered the snapshot upload with something other than JSON: ${text.slice(0, 200)}`));
            }
          }
          done(errorOf(res.statusCode ?? 0, res.headers['x-wharf-error'] as string | undefined, text, 'PUT', path));
          body.destroy();
          req.destroy();
        });
      });
      req.on('error', (err) => {
        const code = (err as { code?: string }).code;
        // A server that refuses early may close while the body is still going (EPIPE): its
        // answer (413, 409) says more than the broken pipe, so it gets a moment to arrive.
        // The code stays on the error: a control that was never reached is not another's refusal.
        setTimeout(() => done(Object.assign(new ControlUnreachable(`the snapshot upload to ${url.origin} broke off (${code ?? err.message})`), { code })), 250).unref();
      });
      let sent = 0;
      body.on('data', (c) => {
        sent += c.length;
        progress(sent);
      });
      body.on('error', (err) => {
        req.destroy(err);
        done(err);
      });
      body.pipe(req);
    });
  }

  /** A snapshot's bytes from control, streaming, with the digest control says they have. */
  async downloadSnapshot(snapshot: string, instance: string): Promise<{ body: AsyncIterable<Uint8Array>; sha256: string | null; size: number | null }> {
    const path = `snapshots/${encodeURIComponent(snapshot)}?instance=${encodeURIComponent(instance)}`;
    let res: Response;
    try {
      res = await this.#urls.use((base) => fetch(agentPath(base, path), { headers: { authorization: this.#auth } }));
    } catch (err) {
      throw this.#unreachable(err);
    }
    if (!res.ok || !res.body) throw errorOf(res.status, res.headers.get('x-wharf-error') ?? undefined, await res.text(), 'GET', path);
    const length = Number(res.headers.get('content-length'));
    return { body: res.body as unknown as AsyncIterable<Uint8Array>, sha256: res.headers.get('x-wharf-sha256'), size: Number.isFinite(length) && length >= 0 ? length : null };
  }

  status(id: string, status: string, reason?: string | null): Promise<unknown> {
    return this.#call('POST', `instances/${encodeURIComponent(id)}/status`, { status, ...(reason === undefined ? {} : { reason: reason?.slice(0, 2000) ?? null }) }, { idempotent: true });
  }

  endpoint(id: string, host: string, port: number, containerPort: number): Promise<unknown> {
    return this.#call('POST', `instances/${encodeURIComponent(id)}/endpoint`, { host, port, containerPort }, { idempotent: true });
  }

  removeEndpoint(id: string): Promise<unknown> {
    return this.#call('DELETE', `instances/${encodeURIComponent(id)}/endpoint`, undefined, { idempotent: true });
  }

  console(id: string, lines: ConsoleLine[]): Promise<unknown> {
    return this.#call('POST', `instances/${encodeURIComponent(id)}/console`, { lines });
  }

  samples(id: string, sample: ResourceSampleReport): Promise<unknown> {
    return this.#call('POST', `instances/${encodeURIComponent(id)}/samples`, sample, { idempotent: true });
  }

  /**
   * One request to control. `idempotent`: one that may be carried out twice (a report of what
   * is), so that a control killed under it does not turn into an error: the next one gets it.
   */
  async #call<T>(method: string, path: string, body?: unknown, options: { signal?: AbortSignal; idempotent?: boolean } = {}): Promise<T> {
    const { signal, idempotent } = options;
    let res: Response;
    try {
      const epoch = this.#epochs.get(/^instances\/([^/]+)\//.exec(path)?.[1] ?? '');
      res = await this.#urls.use((base) => fetch(agentPath(base, path), {
        method,
        signal,
        headers: {
          authorization: this.#auth,
          ...(epoch === undefined ? {} : { [LEASE_EPOCH_HEADER]: String(epoch) }),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      }), { idempotent });
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw err;
      throw this.#unreachable(err);
    }
    const text = await res.text();
    if (!res.ok) throw errorOf(res.status, res.headers.get('x-wharf-error') ?? undefined, text, method, path);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  #unreachable(err: unknown): Error {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return new ControlUnreachable(`cannot reach control at ${this.#urls.all.join(', ')} (${cause?.code ?? cause?.message ?? (err as Error).message})`);
  }
}

function agentPath(base: string, path: string): string {
  return `${base}/api/v1/agent/${path}`;
}

function errorOf(status: number, header: string | undefined, text: string, method: string, path: string): ControlApiError {
  let code = header ?? `HTTP_${status}`;
  let message = text.slice(0, 300);
  try {
    const json = JSON.parse(text) as { error?: { code?: string; message?: string } };
    code = json.error?.code ?? code;
    message = json.error?.message ?? message;
  } catch { /* not JSON: keep the text */ }
  return new ControlApiError(status, code, `control answered ${status} to ${method} ${path.split('?')[0]}: ${message}`);
}

function parseRestore(v: unknown): RestoreInfo | null {
  const r = v as Partial<RestoreInfo> | null | undefined;
  if (!r || typeof r.snapshot !== 'string' || typeof r.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(r.sha256)) return null;
  return { snapshot: r.snapshot, sha256: r.sha256, from: typeof r.from === 'string' ? r.from : '' };
}
