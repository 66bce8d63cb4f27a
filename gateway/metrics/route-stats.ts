import { build, decodeFromCompressedBase64, encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js';

/** Upper bounds (seconds) of the Prometheus buckets of wharf_gateway_request_duration_seconds. */
export const DURATION_BUCKETS_S = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const BUCKET_BOUNDS_US = DURATION_BUCKETS_S.map((s) => s * 1e6);
/** Upper bounds (seconds) of wharf_gateway_tcp_connection_duration_seconds: TCP sessions last long. */
export const TCP_DURATION_BUCKETS_S = [0.01, 0.1, 1, 10, 60, 300, 1800, 3600, 14_400, 86_400];
const MAX_TRACKED_US = 3_600_000_000; // one hour; longer requests are clamped

export type ConnectionKind = 'http' | 'ws' | 'tcp';

/** What a route reports to control: plain numbers, cheap to serialise. */
export interface RouteStatsSnapshot {
  route: string;
  requests: number;
  statusClasses: { '1xx': number; '2xx': number; '3xx': number; '4xx': number; '5xx': number };
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  bytesIn: number;
  bytesOut: number;
  open: Record<ConnectionKind, number>;
  tcpConnections: number;
  tcpConnectErrors: number;
  /** Unix ms of the last byte or request seen, or null if none yet. */
  lastActivity: number | null;
}

/**
 * What happened on a route since the previous `takeDelta`, in the shape control's
 * POST /api/v1/gateways/stats takes (control/metrics/gateway-delta.ts) less `instance`.
 */
export interface RouteStatsDelta {
  route: string;
  interval: { from: number; to: number };
  requests: number;
  codes: Record<string, number>;
  bytesIn: number;
  bytesOut: number;
  /** HDR histogram of the interval's request durations in µs, `encodeIntoCompressedBase64`. */
  latency: string;
}

/**
 * A route's cumulative figures in plain data, as a gateway worker sends them to its
 * supervisor (gateway/supervisor/), which adds up every worker's into one RouteStats.
 */
export interface RouteStatsState {
  route: string;
  requests: number;
  codes: [number, number][];
  buckets: number[];
  durationSumS: number;
  bytesIn: number;
  bytesOut: number;
  open: Record<ConnectionKind, number>;
  wsConnections: number;
  tcpConnections: number;
  tcpConnectErrors: number;
  tcpBuckets: number[];
  tcpDurationSumS: number;
  lastActivity: number;
  /** The latency histogram, `encodeIntoCompressedBase64`; null before the first request. */
  latency: string | null;
}

/**
 * Everything measured for one route, in plain fields that the request path bumps directly;
 * Prometheus and control read them when they ask. Nothing here is looked up by labels.
 */
export class RouteStats {
  readonly route: string;
  requests = 0;
  /** Requests per status code; Prometheus' `code` label. */
  readonly codes = new Map<number, number>();
  /** Non-cumulative counts per DURATION_BUCKETS_S bound, with +Inf last. */
  readonly buckets = new Float64Array(DURATION_BUCKETS_S.length + 1);
  durationSumS = 0;
  bytesIn = 0;
  bytesOut = 0;
  readonly open: Record<ConnectionKind, number> = { http: 0, ws: 0, tcp: 0 };
  /** WebSocket connections established. */
  wsConnections = 0;
  /** TCP connections accepted (raw, TLS by SNI, or through a tunnel). */
  tcpConnections = 0;
  /** TCP connections whose upstream could not be reached. */
  tcpConnectErrors = 0;
  /** Non-cumulative counts of TCP connection lifetimes per TCP_DURATION_BUCKETS_S bound, +Inf last. */
  readonly tcpBuckets = new Float64Array(TCP_DURATION_BUCKETS_S.length + 1);
  tcpDurationSumS = 0;
  lastActivity = 0;
  // Created on the first request: an idle route among 10,000 costs no histogram memory.
  #latency: Histogram | undefined;
  // takeDelta: the interval's durations (reset at each take) and the counts at the last take.
  #intervalLatency: Histogram | undefined;
  #taken = { at: Date.now(), requests: 0, bytesIn: 0, bytesOut: 0, codes: new Map<number, number>() };

  constructor(route: string) {
    this.route = route;
  }

  /**
   * The counts since the previous take (or since the route was created), undefined when
   * nothing happened; starts a new interval either way. The cumulative counts and histogram
   * (snapshot, Prometheus) are untouched. An interval is at most an hour: older is cut off.
   */
  takeDelta(now: number = Date.now()): RouteStatsDelta | undefined {
    const taken = this.#taken;
    const from = Math.max(Math.min(taken.at, now - 1), now - 3_600_000);
    const requests = this.requests - taken.requests;
    const bytesIn = this.bytesIn - taken.bytesIn;
    const bytesOut = this.bytesOut - taken.bytesOut;
    const codes: Record<string, number> = {};
    for (const [code, n] of this.codes) {
      const d = n - (taken.codes.get(code) ?? 0);
      if (d > 0) codes[String(code)] = d;
    }
    this.#taken = { at: now, requests: this.requests, bytesIn: this.bytesIn, bytesOut: this.bytesOut, codes: new Map(this.codes) };
    if (requests === 0 && bytesIn === 0 && bytesOut === 0) return undefined;
    const histogram = (this.#intervalLatency ??= newHistogram());
    const latency = encodeIntoCompressedBase64(histogram);
    histogram.reset();
    return { route: this.route, interval: { from, to: now }, requests, codes, bytesIn, bytesOut, latency };
  }

  /** One measurement per request: status, time from request to response end, body bytes. */
  record(code: number, durationUs: number, bytesIn: number, bytesOut: number): void {
    this.requests++;
    this.codes.set(code, (this.codes.get(code) ?? 0) + 1);
    let i = 0;
    while (i < BUCKET_BOUNDS_US.length && durationUs > BUCKET_BOUNDS_US[i]) i++;
    this.buckets[i]++;
    this.durationSumS += durationUs / 1e6;
    this.bytesIn += bytesIn;
    this.bytesOut += bytesOut;
    this.lastActivity = Date.now();
    const us = Math.min(Math.max(1, Math.round(durationUs)), MAX_TRACKED_US);
    (this.#latency ??= newHistogram()).recordValue(us);
    (this.#intervalLatency ??= newHistogram()).recordValue(us);
  }

  /** The cumulative figures as plain data (RouteStatsState). */
  state(): RouteStatsState {
    return {
      route: this.route,
      requests: this.requests,
      codes: [...this.codes],
      buckets: [...this.buckets],
      durationSumS: this.durationSumS,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      open: { ...this.open },
      wsConnections: this.wsConnections,
      tcpConnections: this.tcpConnections,
      tcpConnectErrors: this.tcpConnectErrors,
      tcpBuckets: [...this.tcpBuckets],
      tcpDurationSumS: this.tcpDurationSumS,
      lastActivity: this.lastActivity,
      latency: this.#latency ? encodeIntoCompressedBase64(this.#latency) : null,
    };
  }

  /**
   * Becomes the sum of `states` (every worker's figures for this route): counters, buckets and
   * the latency histogram are replaced by the totals, so that Prometheus and /stats read what
   * one process would have counted. What the total histogram grew by since the previous call
   * goes into the interval that takeDelta reports, as record() would have put it there.
   */
  absorb(states: Iterable<RouteStatsState>): void {
    let requests = 0, durationSumS = 0, bytesIn = 0, bytesOut = 0, ws = 0, tcp = 0, tcpErrors = 0, tcpSum = 0, last = 0;
    const codes = new Map<number, number>();
    const buckets = new Float64Array(this.buckets.length);
    const tcpBuckets = new Float64Array(this.tcpBuckets.length);
    const open: Record<ConnectionKind, number> = { http: 0, ws: 0, tcp: 0 };
    let latency: Histogram | undefined;
    for (const s of states) {
      requests += s.requests;
      durationSumS += s.durationSumS;
      bytesIn += s.bytesIn;
      bytesOut += s.bytesOut;
      ws += s.wsConnections;
      tcp += s.tcpConnections;
      tcpErrors += s.tcpConnectErrors;
      tcpSum += s.tcpDurationSumS;
      last = Math.max(last, s.lastActivity);
      for (const [code, n] of s.codes) codes.set(code, (codes.get(code) ?? 0) + n);
      for (let i = 0; i < buckets.length; i++) buckets[i] += s.buckets[i] ?? 0;
      for (let i = 0; i < tcpBuckets.length; i++) tcpBuckets[i] += s.tcpBuckets[i] ?? 0;
      for (const kind of ['http', 'ws', 'tcp'] as const) open[kind] += s.open[kind];
      if (s.latency) (latency ??= newHistogram()).add(decodeFromCompressedBase64(s.latency, 'packed', false));
    }
    this.requests = requests;
    this.durationSumS = durationSumS;
    this.bytesIn = bytesIn;
    this.bytesOut = bytesOut;
    this.wsConnections = ws;
    this.tcpConnections = tcp;
    this.tcpConnectErrors = tcpErrors;
    this.tcpDurationSumS = tcpSum;
    this.lastActivity = last;
    this.codes.clear();
    for (const [code, n] of codes) this.codes.set(code, n);
    this.buckets.set(buckets);
    this.tcpBuckets.set(tcpBuckets);
    Object.assign(this.open, open);
    if (latency) {
      const interval = (this.#intervalLatency ??= newHistogram());
      interval.add(latency);
      if (this.#latency) interval.subtract(this.#latency);
      this.#latency = latency;
    }
  }

  /** A TCP connection ended after `durationS` seconds. */
  recordTcp(durationS: number): void {
    let i = 0;
    while (i < TCP_DURATION_BUCKETS_S.length && durationS > TCP_DURATION_BUCKETS_S[i]) i++;
    this.tcpBuckets[i]++;
    this.tcpDurationSumS += durationS;
  }

  snapshot(): RouteStatsSnapshot {
    const classes = { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 };
    for (const [code, n] of this.codes) {
      const key = `${Math.floor(code / 100)}xx` as keyof typeof classes;
      if (key in classes) classes[key] += n;
    }
    const at = (p: number) => (this.#latency ? this.#latency.getValueAtPercentile(p) / 1000 : 0);
    return {
      route: this.route,
      requests: this.requests,
      statusClasses: classes,
      latencyMs: { p50: at(50), p95: at(95), p99: at(99), max: this.#latency ? this.#latency.maxValue / 1000 : 0 },
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      open: { ...this.open },
      tcpConnections: this.tcpConnections,
      tcpConnectErrors: this.tcpConnectErrors,
      lastActivity: this.lastActivity || null,
    };
  }
}

function newHistogram(): Histogram {
  // Two significant digits (1% resolution) in a packed array: a few KiB per active route.
  return build({ bitBucketSize: 'packed', numberOfSignificantValueDigits: 2, lowestDiscernibleValue: 1, highestTrackableValue: MAX_TRACKED_US, autoResize: false, useWebAssembly: false });
}
