import { parseLaunchSpec, type LaunchSpec } from '../protocol/launch-spec.ts';

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

/** The agent lost the instance: its lease expired or it went to another agent (409). */
export const isLeaseLost = (err: unknown): boolean => err instanceof ControlApiError && err.code === 'CTL_LEASE_EXPIRED';

export class AgentControlApi {
  readonly #base: string;
  readonly #auth: string;

  constructor(controlUrl: string, key: string, secret: string) {
    this.#base = `${controlUrl.replace(/\/+$/, '')}/api/v1/agent/`;
    this.#auth = `Bearer ${key}:${secret}`;
  }

  async heartbeat(body: { resources?: unknown; queues?: string[] }): Promise<HeartbeatAnswer> {
    const a = await this.#call<Partial<HeartbeatAnswer>>('POST', 'heartbeat', body);
    const ids = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
    if (typeof (a as { agent?: unknown })?.agent !== 'string') throw new Error('control answered a heartbeat without the agent id');
    return {
      agent: (a as { agent: string }).agent,
      drain: a?.drain === true,
      leaseTimeoutMs: typeof a?.leaseTimeoutMs === 'number' && a.leaseTimeoutMs > 0 ? a.leaseTimeoutMs : 30_000,
      stop: ids(a?.stop),
      instances: ids(a?.instances),
    };
  }

  /** The next job of this agent's queues, or undefined after waiting `waitMs` with none. */
  async lease(waitMs: number, signal?: AbortSignal): Promise<Job | undefined> {
    const a = await this.#call<Record<string, unknown> | undefined>('POST', `lease?wait=${Math.round(waitMs)}`, undefined, signal);
    if (!a) return undefined;
    if (typeof a.instance !== 'string' || !/^[a-z0-9-]{1,64}$/.test(a.instance)) throw new Error('control answered a lease without a valid instance id');
    return { instance: a.instance, queue: String(a.queue ?? ''), spec: parseLaunchSpec(a.spec), attempts: Number(a.attempts ?? 1) };
  }

  status(id: string, status: string, reason?: string | null): Promise<unknown> {
    return this.#call('POST', `instances/${encodeURIComponent(id)}/status`, { status, ...(reason === undefined ? {} : { reason: reason?.slice(0, 2000) ?? null }) });
  }

  endpoint(id: string, host: string, port: number, containerPort: number): Promise<unknown> {
    return this.#call('POST', `instances/${encodeURIComponent(id)}/endpoint`, { host, port, containerPort });
  }

  removeEndpoint(id: string): Promise<unknown> {
    return this.#call('DELETE', `instances/${encodeURIComponent(id)}/endpoint`);
  }

  console(id: string, lines: ConsoleLine[]): Promise<unknown> {
    return this.#call('POST', `instances/${encodeURIComponent(id)}/console`, { lines });
  }

  samples(id: string, sample: Record<string, number>): Promise<unknown> {
    return this.#call('POST', `instances/${encodeURIComponent(id)}/samples`, sample);
  }

  async #call<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    let res: Response;
    try {
      res = await fetch(this.#base + path, {
        method,
        signal,
        headers: { authorization: this.#auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw err;
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new Error(`cannot reach control at ${this.#base} (${cause?.code ?? cause?.message ?? (err as Error).message})`);
    }
    const text = await res.text();
    if (!res.ok) {
      let code = res.headers.get('x-wharf-error') ?? `HTTP_${res.status}`;
      let message = text.slice(0, 300);
      try {
        const json = JSON.parse(text) as { error?: { code?: string; message?: string } };
        code = json.error?.code ?? code;
        message = json.error?.message ?? message;
      } catch { /* not JSON: keep the text */ }
      throw new ControlApiError(res.status, code, `control answered ${res.status} to ${method} ${path.split('?')[0]}: ${message}`);
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }
}
