import type { Route } from '../../protocol/route.ts';
import type { SessionState } from '../../protocol/route-stream.ts';
import type { RouteStatsState } from '../metrics/route-stats.ts';
import type { RouteErrors } from '../providers/file-provider.ts';
import type { CapKind } from '../tcp/connection-caps.ts';

/*
 * What a gateway's supervisor and its workers say to each other over the cluster IPC channel
 * (JSON). The supervisor owns what exists once per gateway (route feed, admin port, one-time
 * links, connection caps, TLS ticket keys); the workers serve the ports and ask it.
 */

/** A question either side asks, answered by a `reply` with the same id. */
export interface Ask<Q> { t: 'ask'; id: number; q: Q }
export interface Reply { t: 'reply'; id: number; value?: unknown; error?: string }

/** What a worker asks its supervisor. */
export type WorkerQuestion =
  /** Mark a one-time link used; the answer: true the first time, false after. */
  | { q: 'claim'; jti: string; expS: number }
  /** Take a connection for `key` (a client address, a TCP route) under the `caps` set; the answer: whether the caps allow it. */
  | { q: 'caps-open'; caps: CapKind; key: string };

/** Supervisor → worker. */
export type ToWorker =
  /** The first message: the whole route table, the session state and the shared ticket keys. */
  | { t: 'init'; routes: Route[]; errors: RouteErrors; sessions: SessionState | null; ticketKeys: string; control: string | null }
  /** A change of the route table: routes added or replaced by id, ids removed. */
  | { t: 'routes'; upsert: Route[]; remove: string[]; errors: RouteErrors }
  | { t: 'sessions'; state: SessionState }
  /** The control the route stream comes from now (of several): the main host is proxied there. */
  | { t: 'control'; url: string }
  /** Stop accepting, finish what is in flight, give long-lived connections `graceMs`, exit. */
  | { t: 'drain'; graceMs: number }
  /** Send your figures (a `figures` message with this id). */
  | { t: 'collect'; id: number }
  | Reply;

/** Worker → supervisor. */
export type ToSupervisor =
  /** Listening for messages now: send `init`. */
  | { t: 'hello' }
  /** Listening on every port, at these addresses. */
  | { t: 'ready'; https: string; http?: string }
  /** A connection that `caps-open` admitted has closed. */
  | { t: 'caps-close'; caps: CapKind; key: string }
  /**
   * The routes whose figures changed since the worker's previous `figures`. Not a reply that
   * may be dropped after a timeout: the supervisor takes every one, late or not, so no change
   * is lost.
   */
  | { t: 'figures'; id: number; figures: WorkerFigures }
  | Ask<WorkerQuestion>;

/** A worker's figures, answering `collect`. */
export interface WorkerFigures {
  /** Routes whose figures changed since the previous `figures`. */
  stats: RouteStatsState[];
  /** The port each raw TCP route listens on. */
  tcpPorts: [string, number][];
}

/**
 * The asking half of the channel: numbered questions, each settled by the reply with its
 * number, or failed after `timeoutMs` or when the other side goes away (failAll).
 */
export class Questions {
  readonly #send: (m: Ask<unknown>) => void;
  readonly #timeoutMs: number;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  #next = 1;

  constructor(send: (m: Ask<unknown>) => void, timeoutMs: number) {
    this.#send = send;
    this.#timeoutMs = timeoutMs;
  }

  ask(q: unknown): Promise<unknown> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`no answer in ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
      timer.unref();
      this.#pending.set(id, { resolve, reject, timer });
      try {
        this.#send({ t: 'ask', id, q });
      } catch (err) {
        clearTimeout(timer);
        this.#pending.delete(id);
        reject(err as Error);
      }
    });
  }

  settle(reply: Reply): void {
    const p = this.#pending.get(reply.id);
    if (!p) return; // timed out already
    this.#pending.delete(reply.id);
    clearTimeout(p.timer);
    if (reply.error !== undefined) p.reject(new Error(reply.error));
    else p.resolve(reply.value);
  }

  failAll(reason: string): void {
    for (const [id, p] of this.#pending) {
      clearTimeout(p.timer);
      this.#pending.delete(id);
      p.reject(new Error(reason));
    }
  }
}

/** Answers one question with `answer`'s value, or with its error's message. */
export function answer(send: (m: Reply) => void, id: number, value: () => unknown): void {
  const reply = (m: Reply) => {
    try {
      send(m);
    } catch {
      // The other side is gone: nobody is waiting for this answer.
    }
  };
  try {
    const v = value();
    if (v instanceof Promise) v.then((value) => reply({ t: 'reply', id, value }), (err: Error) => reply({ t: 'reply', id, error: err.message }));
    else reply({ t: 'reply', id, value: v });
  } catch (err) {
    reply({ t: 'reply', id, error: (err as Error).message });
  }
}
