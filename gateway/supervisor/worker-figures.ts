import type { Worker } from 'node:cluster';
import type { Route } from '../../protocol/route.ts';
import { RouteStats, type RouteStatsState } from '../metrics/route-stats.ts';
import type { WorkerFigures } from './messages.ts';
import { send } from './send.ts';

/**
 * The figures of every worker, added up per route into one RouteStats each, so that the admin
 * port and control see what one process would have counted. A worker that exits leaves its
 * last figures behind (retired, with nothing open): the totals never go back.
 */
export class WorkerFiguresTable {
  /** Per worker id, its latest figures per route. */
  readonly #live = new Map<number, Map<string, RouteStatsState>>();
  /** Per route, the sum of the figures of workers that exited. */
  readonly #retired = new Map<string, RouteStatsState>();
  readonly #totals = new Map<string, RouteStats>();
  readonly #ports = new Map<number, [string, number][]>();
  /** Routes whose totals must be added up again. */
  readonly #dirty = new Set<string>();
  readonly #waits = new Map<number, { pending: Set<number>; done: () => void }>();
  #next = 1;

  /** Takes a worker's `figures` message. */
  take(worker: number, id: number, figures: WorkerFigures): void {
    let mine = this.#live.get(worker);
    if (!mine) this.#live.set(worker, (mine = new Map()));
    for (const state of figures.stats) {
      mine.set(state.route, state);
      this.#dirty.add(state.route);
    }
    this.#ports.set(worker, figures.tcpPorts);
    const wait = this.#waits.get(id);
    if (wait) {
      wait.pending.delete(worker);
      if (wait.pending.size === 0) wait.done();
    }
  }

  /** A worker exited: its figures become part of the retired sum, with nothing open. */
  retire(worker: number): void {
    const mine = this.#live.get(worker);
    this.#live.delete(worker);
    this.#ports.delete(worker);
    for (const [route, state] of mine ?? []) {
      const sum = new RouteStats(route);
      const before = this.#retired.get(route);
      sum.absorb(before ? [before, state] : [state]);
      this.#retired.set(route, { ...sum.state(), open: { http: 0, ws: 0, tcp: 0 } });
      this.#dirty.add(route);
    }
    for (const wait of this.#waits.values()) {
      wait.pending.delete(worker);
      if (wait.pending.size === 0) wait.done();
    }
  }

  /** Forgets routes that left the table (a route that comes back starts from zero, as in one process). */
  keepOnly(routes: Map<string, Route>): void {
    for (const id of this.#totals.keys()) if (!routes.has(id)) this.#totals.delete(id);
    for (const id of this.#retired.keys()) if (!routes.has(id)) this.#retired.delete(id);
    for (const mine of this.#live.values()) for (const id of mine.keys()) if (!routes.has(id)) mine.delete(id);
    for (const id of this.#dirty) if (!routes.has(id)) this.#dirty.delete(id);
  }

  /** Asks `workers` for their figures and resolves when all answered or `timeoutMs` passed. */
  async collect(workers: Worker[], timeoutMs: number): Promise<void> {
    const id = this.#next++;
    const pending = new Set(workers.map((w) => w.id));
    if (pending.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.#waits.set(id, { pending, done: () => { clearTimeout(timer); resolve(); } });
        // A worker exiting meanwhile is taken off by retire(), its figures with it.
        for (const w of workers) send(w, { t: 'collect', id });
      });
      this.#waits.delete(id);
    }
    for (const route of this.#dirty) {
      const states: RouteStatsState[] = [];
      const retired = this.#retired.get(route);
      if (retired) states.push(retired);
      for (const mine of this.#live.values()) {
        const s = mine.get(route);
        if (s) states.push(s);
      }
      this.get(route).absorb(states);
    }
    this.#dirty.clear();
  }

  /** The totals of a route (zero until a worker reports it). */
  get(route: string): RouteStats {
    let total = this.#totals.get(route);
    if (!total) this.#totals.set(route, (total = new RouteStats(route)));
    return total;
  }

  stats(): Iterable<RouteStats> {
    return this.#totals.values();
  }

  /** The port each raw TCP route listens on, as the workers report it. */
  tcpPorts(): Map<string, number> {
    const ports = new Map<string, number>();
    for (const list of this.#ports.values()) for (const [id, port] of list) ports.set(id, port);
    return ports;
  }
}
