import { collectDefaultMetrics, Counter, Registry } from 'prom-client';

/** Control's own Prometheus metrics (`wharf_control_*`, DESIGN.md "Metrics names"): one registry per control, no globals. */
export class ControlMetrics {
  readonly registry = new Registry();
  readonly #requests: Counter<'route' | 'code'>;

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'wharf_control_' });
    this.#requests = new Counter({
      name: 'wharf_control_api_requests_total',
      help: 'API requests answered, by route pattern and status code',
      labelNames: ['route', 'code'],
      registers: [this.registry],
    });
  }

  /** `route` is the route pattern (`/api/v1/users/:name/password`), never the raw URL, so label values stay few. */
  countRequest(route: string, code: number): void {
    this.#requests.inc({ route, code: String(code) });
  }
}
