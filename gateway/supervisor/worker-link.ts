import type { Route } from '../../protocol/route.ts';
import type { SessionState } from '../../protocol/route-stream.ts';
import type { LinkClaims } from '../auth/one-time-links.ts';
import { AuthFailure } from '../auth/token-verifier.ts';
import type { RouteStats } from '../metrics/route-stats.ts';
import type { RouteErrors } from '../providers/file-provider.ts';
import type { CapKind, ConnectionCaps } from '../tcp/connection-caps.ts';
import { Questions, type ToSupervisor, type ToWorker, type WorkerFigures, type WorkerQuestion } from './messages.ts';

/** How long a worker waits for its supervisor's answer (a link claim, a connection admission). */
const ANSWER_TIMEOUT_MS = 5_000;

/** What the worker's gateway does with what the supervisor sends. */
export interface WorkerHandlers {
  apply(routes: Route[], errors: RouteErrors): void;
  update(upsert: Route[], remove: string[], errors: RouteErrors): void;
  sessions(state: SessionState): void;
  /** The control the route stream comes from now (of several). */
  control(url: string): void;
  /** Every route's stats and the raw TCP ports, for the supervisor's figures. */
  stats(): Iterable<RouteStats>;
  tcpPorts(): Map<string, number>;
  /** Resolves once the gateway is closed: the worker then exits. */
  drain(graceMs: number): Promise<void>;
}

/**
 * A gateway worker's end of the channel to its supervisor (gateway/supervisor/supervisor.ts):
 * the route table, app session state and TLS ticket keys come from it, one-time links and
 * connection caps are decided by it, and the worker's figures go to it. A worker whose
 * supervisor is gone exits at once: serving on with a route table nobody updates any more
 * would keep removed apps reachable.
 */
export class WorkerLink {
  readonly #questions: Questions;
  readonly #process: NodeJS.Process;
  #handlers: WorkerHandlers | undefined;
  /** What each route's figures were when last sent: only changed routes are sent again. */
  readonly #sent = new WeakMap<RouteStats, string>();

  constructor(proc: NodeJS.Process = process) {
    this.#process = proc;
    if (!proc.send) throw new Error('a gateway worker needs the IPC channel of its supervisor');
    this.#questions = new Questions((m) => this.#send(m as ToSupervisor), ANSWER_TIMEOUT_MS);
    proc.once('disconnect', () => {
      this.#questions.failAll('the supervisor is gone');
      process.exit(1);
    });
  }

  /**
   * Waits for the supervisor's first message and hands its routes and session state to
   * `handlers`; resolves with the TLS ticket keys every worker shares.
   */
  start(handlers: WorkerHandlers): Promise<Buffer> {
    this.#handlers = handlers;
    return new Promise((resolve) => {
      this.#process.on('message', (m: ToWorker) => {
        switch (m.t) {
          case 'init':
            if (m.sessions) handlers.sessions(m.sessions);
            if (m.control) handlers.control(m.control);
            handlers.apply(m.routes, m.errors);
            resolve(Buffer.from(m.ticketKeys, 'base64'));
            break;
          case 'routes':
            handlers.update(m.upsert, m.remove, m.errors);
            break;
          case 'sessions':
            handlers.sessions(m.state);
            break;
          case 'control':
            handlers.control(m.url);
            break;
          case 'collect':
            this.#send({ t: 'figures', id: m.id, figures: this.#figures() });
            break;
          case 'drain':
            void handlers.drain(m.graceMs).finally(() => process.exit(0));
            break;
          case 'reply':
            this.#questions.settle(m);
            break;
        }
      });
      this.#send({ t: 'hello' });
    });
  }

  ready(https: string, http: string | undefined): void {
    this.#send({ t: 'ready', https, ...(http ? { http } : {}) });
  }

  /** One-time links, claimed at the supervisor: a link works once whichever worker it reaches. */
  readonly links: LinkClaims = {
    claim: async (jti, expS) => {
      try {
        return (await this.#ask({ q: 'claim', jti, expS })) === true;
      } catch (err) {
        throw new AuthFailure('GW_LINK_UNAVAILABLE', `the link could not be checked: ${(err as Error).message}`);
      }
    },
    close: () => {},
  };

  /** Connection caps counted by the supervisor over every worker. */
  readonly caps: Record<CapKind, ConnectionCaps> = { clients: this.#askedCaps('clients'), tcp: this.#askedCaps('tcp') };

  #askedCaps(caps: CapKind): ConnectionCaps {
    return {
      open: (key) => this.#ask({ q: 'caps-open', caps, key }).then((ok) => ok === true, () => false),
      close: (key) => this.#send({ t: 'caps-close', caps, key }),
    };
  }

  #ask(q: WorkerQuestion): Promise<unknown> {
    return this.#questions.ask(q);
  }

  #figures(): WorkerFigures {
    const stats = [];
    for (const s of this.#handlers!.stats()) {
      const mark = `${s.requests},${s.bytesIn},${s.bytesOut},${s.open.http},${s.open.ws},${s.open.tcp},${s.wsConnections},${s.tcpConnections},${s.tcpConnectErrors}`;
      if (this.#sent.get(s) === mark) continue;
      this.#sent.set(s, mark);
      stats.push(s.state());
    }
    return { stats, tcpPorts: [...this.#handlers!.tcpPorts()] };
  }

  #send(m: ToSupervisor): void {
    // With a callback, a failed send (the supervisor just went) is not an 'error' event that
    // would crash the worker; 'disconnect' ends it in an orderly way.
    if (this.#process.connected) this.#process.send!(m, undefined, {}, () => {});
  }
}
