import { collectDefaultMetrics, Counter, Registry } from 'prom-client';

/** Control's own Prometheus metrics (`wharf_control_*`, DESIGN.md "Metrics names"): one registry per control, no globals. */
export class ControlMetrics {
  readonly registry = new Registry();
  readonly #requests: Counter<'route' | 'code'>;
  readonly #signinFailures: Counter<'reason'>;

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'wharf_control_' });
    this.#requests = new Counter({
      name: 'wharf_control_api_requests_total',
      help: 'API requests answered, by route pattern and status code',
      labelNames: ['route', 'code'],
      registers: [this.registry],
    });
    this.#signinFailures = new Counter({
      name: 'wharf_control_signin_failures_total',
      help: 'Failed dashboard sign-ins: bad_login (wrong user name or password, never told apart) or throttled (refused with 429)',
      labelNames: ['reason'],
      registers: [this.registry],
    });
    // Both series exist from the start, so that a rate over them needs no first failure.
    for (const reason of ['bad_login', 'throttled'] as const) this.#signinFailures.inc({ reason }, 0);
  }

  /** `route` is the route pattern (`/api/v1/users/:name/password`), never the raw URL, so label values stay few. */
  countRequest(route: string, code: number): void {
    this.#requests.inc({ route, code: String(code) });
  }

  /** One reason for a wrong name and a wrong password: a count must not tell whether a user exists. */
  countSigninFailure(reason: 'bad_login' | 'throttled'): void {
    this.#signinFailures.inc({ reason });
  }
}
