import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { Logger } from 'pino';
import { Agent } from 'undici';
import type { Route } from '../../protocol/route.ts';
import { parseRouteStreamLine, ROUTE_STREAM_CONTENT_TYPE, ROUTE_STREAM_PATH, type RouteRefusal, type RouteStreamMessage, type SessionState } from '../../protocol/route-stream.ts';
import type { LastRoutes } from './last-routes.ts';
import { parseControlUrls } from '../../protocol/control-urls.ts';
import { ValidationError } from '../../protocol/validate.ts';
import type { RouteErrors, RouteProvider } from './file-provider.ts';

export interface ControlProviderOptions {
  /**
   * Control's URL (WHARF_GATEWAY_CONTROL), such as http://127.0.0.1:7400; several controls on
   * one database: their URLs, comma-separated. A stream that breaks reconnects to the next.
   */
  controlUrl: string;
  /** The gateway key (WHARF_GATEWAY_KEY), sent as `Authorization: Bearer`. */
  key: string;
  log: Logger;
  /** Silence after which the stream counts as dead: about three of control's pings. */
  idleTimeoutMs?: number; // 45_000: 45 s
  /** How long start() waits for the first snapshot while control is not reachable. */
  startTimeoutMs?: number; // 30_000: 30 s
  connectTimeoutMs?: number; // 5_000: 5 s
  /** Reconnect delays: doubling from initialMs to maxMs, each with random jitter (50–100 %). */
  backoff?: { initialMs?: number; maxMs?: number }; // 100 ms, 5 s
  /**
   * Trusted CAs for an https control URL. Replaces Node's default roots (TLS `ca`), so pass
   * `[...tls.rootCertificates, localCaPem]` to trust both.
   */
  ca?: string | Buffer | (string | Buffer)[];
  /** Longest line accepted: a snapshot of every route is one line. */
  maxLineBytes?: number; // 256 MiB
  /**
   * This gateway's public URL (its --public-url, else https://localhost:<https port>/), sent
   * with every stream request so that control can adopt it; see setPublicUrl.
   */
  publicUrl?: string;
  /**
   * Told of the app session state (cookie key and revocations) each time control sends it: in
   * a snapshot, and as a `sessions` line. Called before the snapshot's routes are delivered,
   * so that start() resolves with the key in place. The state holds a secret: never log it.
   */
  onSessions?: (state: SessionState) => void;
  /** Told of the control URL a stream delivers from, when it is another than the one before (and the first time). */
  onControl?: (url: string) => void;
  /**
   * Where the last table is kept: started while control is away (its first try fails), the
   * gateway serves that table until control sends a fresh snapshot.
   */
  lastRoutes?: LastRoutes;
}

/** The request header the public URL is reported in (control/routes/route-stream-handler.ts reads it). */
const PUBLIC_URL_HEADER = 'x-wharf-public-url';

/** A route refused by this gateway, kept until a later change of its id or a snapshot replaces it. */
export type StreamRouteError = RouteRefusal & { version: number };

/** Why start() failed; `code` is stable, the message says what to fix. */
export class ControlStreamError extends Error {
  readonly code: 'GW_CONTROL_KEY_REFUSED' | 'GW_CONTROL_NOT_A_STREAM' | 'GW_CONTROL_UNREACHABLE' | 'GW_CONTROL_CLOSED';
  constructor(code: ControlStreamError['code'], message: string) {
    super(message);
    this.code = code;
  }
}

type Outcome =
  | { kind: 'refused'; status: number }
  | { kind: 'not-stream'; reason: string }
  | { kind: 'failed'; reason: string }
  | { kind: 'ended'; reason: string }
  | { kind: 'resync'; reason: string };

/** Unrelated errors kept without a route id (until the next snapshot), at most. */
const MAX_LOOSE_ERRORS = 100;
/** A connection that stayed up this long resets the backoff. */
const HEALTHY_MS = 1_000; // 1 s

/**
 * Routes from control's route stream (protocol/route-stream.ts): a snapshot, then versioned
 * deltas applied onto the current table, each delivered to the gateway as the whole table
 * (LiveRoutes.apply keeps unchanged routes and their connections). While control is away the
 * last table keeps serving; the provider reconnects with backoff and resumes from the last
 * version it applied, so it receives only what it missed.
 */
export class ControlProvider implements RouteProvider {
  readonly #urls: string[];
  #index = 0;
  /** The control URL the last working stream came from. */
  #servedBy: string | undefined;
  readonly #onControl: ((url: string) => void) | undefined;
  readonly #key: string;
  readonly #log: Logger;
  readonly #agent: Agent;
  readonly #startTimeoutMs: number;
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #maxLine: number;

  readonly #routes = new Map<string, Route>();
  /** Refusals by route id, until a later change of that id or a snapshot. */
  readonly #errors = new Map<string, StreamRouteError>();
  /** Refusals of entries without a readable id, newest MAX_LOOSE_ERRORS, until a snapshot. */
  readonly #looseErrors: StreamRouteError[] = [];
  #version: number | undefined;
  #epoch: string | undefined;
  #apply: ((routes: Route[], errors: RouteErrors) => void) | undefined;

  #closed = false;
  #started = false;
  #settleStart: { resolve: () => void; reject: (err: Error) => void } | undefined;
  #abort: AbortController | undefined;
  #wake: (() => void) | undefined;
  #attempt = 0;
  #outage: { since: number } | undefined;
  #lastReason = 'no answer yet';
  #publicUrl: string | undefined;
  readonly #onSessions: ((state: SessionState) => void) | undefined;
  /** The public URL the open stream was requested with; undefined between connections. */
  #sentPublicUrl: string | undefined;
  #connected = false;
  /** Set while the stream is cut on purpose, to reconnect at once and without a warning. */
  #renewing = false;
  readonly #lastRoutes: LastRoutes | undefined;
  /** The app session state control sent last, kept with the routes. */
  #lastSessions: SessionState | undefined;

  constructor(options: ControlProviderOptions) {
    try {
      this.#urls = parseControlUrls(options.controlUrl);
    } catch (err) {
      throw new Error(`WHARF_GATEWAY_CONTROL ${(err as Error).message}`);
    }
    this.#onControl = options.onControl;
    this.#key = options.key;
    this.#log = options.log;
    this.#startTimeoutMs = options.startTimeoutMs ?? 30_000;
    this.#initialMs = options.backoff?.initialMs ?? 100;
    this.#maxMs = options.backoff?.maxMs ?? 5_000;
    this.#maxLine = options.maxLineBytes ?? 256 * 1024 * 1024;
    this.#publicUrl = options.publicUrl;
    this.#onSessions = options.onSessions;
    this.#lastRoutes = options.lastRoutes;
    const idleTimeoutMs = options.idleTimeoutMs ?? 45_000;
    // Our own agent: never the global dispatcher (STYLE.md, "No globals"). bodyTimeout is the
    // liveness check: control pings every 15 s, so silence past idleTimeoutMs is a dead stream.
    this.#agent = new Agent({
      connect: { timeout: options.connectTimeoutMs ?? 5_000, ...(options.ca ? { ca: options.ca } : {}) },
      headersTimeout: idleTimeoutMs,
      bodyTimeout: idleTimeoutMs,
    });
  }

  /** The control URL streams go to now. */
  get #controlUrl(): string {
    return this.#urls[this.#index];
  }

  /** Relative to control's URL, so that a control behind a path prefix works too. */
  get #streamUrl(): URL {
    return new URL(ROUTE_STREAM_PATH.slice(1), `${this.#controlUrl}/`);
  }

  /** The version of the last change applied; undefined before the first snapshot or while resyncing. */
  get version(): number | undefined {
    return this.#version;
  }

  get epoch(): string | undefined {
    return this.#epoch;
  }

  /**
   * The public URL to report, once known (the HTTPS port bound after the first routes came).
   * A stream already open without it reconnects at once, resuming from its version.
   */
  setPublicUrl(publicUrl: string): void {
    if (publicUrl === this.#publicUrl) return;
    this.#publicUrl = publicUrl;
    if (this.#started && !this.#closed && this.#connected && this.#abort && this.#sentPublicUrl !== publicUrl) {
      this.#renewing = true;
      this.#abort.abort();
    }
  }

  start(apply: (routes: Route[], errors: RouteErrors) => void): Promise<void> {
    if (this.#apply) throw new Error('ControlProvider.start() was called twice');
    this.#apply = apply;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#failStart(new ControlStreamError('GW_CONTROL_UNREACHABLE',
          `control at ${this.#controlUrl} sent no routes within ${this.#startTimeoutMs / 1000} s (${this.#lastReason}): check WHARF_GATEWAY_CONTROL and that control is running`));
      }, this.#startTimeoutMs);
      this.#settleStart = {
        resolve: () => { clearTimeout(timer); resolve(); },
        reject: (err) => { clearTimeout(timer); reject(err); },
      };
      this.#run().catch((err) => {
        this.#log.error({ err }, 'route stream from control stopped by an unexpected error');
        this.#failStart(err as Error);
      });
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#lastRoutes?.flush();
    this.#abort?.abort();
    this.#wake?.();
    this.#agent.destroy().catch(() => {});
    this.#failStart(new ControlStreamError('GW_CONTROL_CLOSED', 'the gateway closed before control sent its routes'));
  }

  #failStart(err: Error): void {
    const settle = this.#settleStart;
    this.#settleStart = undefined;
    if (!settle) return;
    settle.reject(err);
    this.close();
  }

  async #run(): Promise<void> {
    while (!this.#closed) {
      const connection = { upAt: undefined as number | undefined };
      this.#connected = true;
      const outcome = await this.#connect(connection).finally(() => {
        this.#connected = false;
      });
      if (this.#closed) return;
      if (this.#renewing) {
        this.#renewing = false;
        this.#log.debug({ publicUrl: this.#publicUrl, version: this.#version }, 'route stream reconnecting to report the public URL');
        continue;
      }
      this.#lastReason = outcome.kind === 'refused' ? `HTTP ${outcome.status}` : outcome.reason;
      if (!this.#started) {
        // Mistakes in the gateway's settings: waiting would not fix them.
        if (outcome.kind === 'refused') {
          return this.#failStart(new ControlStreamError('GW_CONTROL_KEY_REFUSED',
            `WHARF_GATEWAY_KEY is not accepted by control at ${this.#controlUrl} (HTTP ${outcome.status}): create a key with \`wharf gateways add NAME\` and set WHARF_GATEWAY_KEY to it`));
        }
        if (outcome.kind === 'not-stream') {
          return this.#failStart(new ControlStreamError('GW_CONTROL_NOT_A_STREAM',
            `${this.#streamUrl.href} is not control's route stream (${outcome.reason}): check WHARF_GATEWAY_CONTROL (control's URL, such as http://127.0.0.1:7400)`));
        }
      }
      if (connection.upAt !== undefined && performance.now() - connection.upAt >= HEALTHY_MS) this.#attempt = 0;
      this.#down(outcome);
      if (!this.#started && outcome.kind === 'failed') this.#startFromDisk();
      // Several controls: the next one gets the next try (a resync asks the same one again).
      if (outcome.kind !== 'resync') this.#index = (this.#index + 1) % this.#urls.length;
      await this.#sleep(this.#nextDelay());
    }
  }

  #nextDelay(): number {
    const base = Math.min(this.#maxMs, this.#initialMs * 2 ** Math.min(this.#attempt, 30));
    this.#attempt++;
    // Jitter spreads gateways that lost control at the same moment.
    return base * (0.5 + Math.random() / 2);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    }).finally(() => {
      this.#wake = undefined;
    });
  }

  #down(outcome: Outcome): void {
    if (outcome.kind === 'resync') {
      this.#log.warn({ version: this.#version, reason: outcome.reason }, 'route stream out of step with control; reconnecting for a fresh snapshot');
      this.#version = undefined;
      this.#epoch = undefined;
      return;
    }
    const reason = outcome.kind === 'refused' ? `HTTP ${outcome.status}: WHARF_GATEWAY_KEY is not accepted` : outcome.reason;
    if (this.#outage) {
      this.#log.debug({ reason }, 'route stream from control still away');
      return;
    }
    this.#outage = { since: performance.now() };
    const fields = { control: this.#controlUrl, reason, routes: this.#routes.size, version: this.#version };
    if (outcome.kind === 'refused') this.#log.error(fields, 'control refuses this gateway\'s key; the last routes keep serving');
    else if (this.#started) this.#log.warn(fields, 'route stream from control lost; the last routes keep serving while it reconnects');
    else this.#log.warn(fields, 'control not reachable yet; retrying');
  }

  /** A stream delivers: tell whoever follows which control serves it now. */
  #served(): void {
    const url = this.#controlUrl;
    if (url === this.#servedBy) return;
    if (this.#servedBy !== undefined) this.#log.info({ from: this.#servedBy, to: url }, 'route stream moved to another control');
    this.#servedBy = url;
    this.#onControl?.(url);
  }

  #up(how: string): void {
    if (!this.#outage) return;
    const awayMs = Math.round(performance.now() - this.#outage.since);
    this.#outage = undefined;
    this.#log.info({ control: this.#controlUrl, awayMs, version: this.#version, routes: this.#routes.size }, `route stream from control back (${how})`);
  }

  #requestPath(): string {
    const url = new URL(this.#streamUrl);
    if (this.#version !== undefined && this.#epoch !== undefined) {
      url.searchParams.set('since', String(this.#version));
      url.searchParams.set('epoch', this.#epoch);
    }
    return `${url.pathname}${url.search}`;
  }

  async #connect(connection: { upAt: number | undefined }): Promise<Outcome> {
    const abort = new AbortController();
    this.#abort = abort;
    this.#sentPublicUrl = this.#publicUrl;
    let response;
    try {
      response = await this.#agent.request({
        origin: this.#streamUrl.origin,
        path: this.#requestPath(),
        method: 'GET',
        headers: { authorization: `Bearer ${this.#key}`, accept: ROUTE_STREAM_CONTENT_TYPE, ...(this.#publicUrl ? { [PUBLIC_URL_HEADER]: this.#publicUrl } : {}) },
        signal: abort.signal,
      });
    } catch (err) {
      return { kind: 'failed', reason: describe(err) };
    }
    const { statusCode, headers, body } = response;
    if (statusCode === 401 || statusCode === 403) {
      body.dump().catch(() => {});
      return { kind: 'refused', status: statusCode };
    }
    if (statusCode === 404) {
      body.dump().catch(() => {});
      return { kind: 'not-stream', reason: 'HTTP 404' };
    }
    if (statusCode !== 200) {
      body.dump().catch(() => {});
      return { kind: 'failed', reason: `HTTP ${statusCode}` };
    }
    const type = String(headers['content-type'] ?? '');
    if (!type.startsWith(ROUTE_STREAM_CONTENT_TYPE)) {
      body.dump().catch(() => {});
      return { kind: 'not-stream', reason: `content-type "${type}"` };
    }
    return this.#read(body, connection);
  }

  /** Reads lines as they arrive and applies each at once: no queue between socket and table. */
  #read(body: Readable, connection: { upAt: number | undefined }): Promise<Outcome> {
    return new Promise<Outcome>((resolve) => {
      const decoder = new StringDecoder('utf8');
      const pieces: string[] = [];
      let pending = 0;
      let done = false;
      const finish = (outcome: Outcome) => {
        if (done) return;
        done = true;
        body.destroy();
        resolve(outcome);
      };
      body.on('data', (chunk: Buffer) => {
        const text = decoder.write(chunk);
        let from = 0;
        let nl = text.indexOf('\n');
        while (nl !== -1 && !done) {
          pieces.push(text.slice(from, nl));
          const line = pieces.length === 1 ? pieces[0] : pieces.join('');
          pieces.length = 0;
          pending = 0;
          let resync: string | undefined;
          try {
            resync = this.#line(line);
          } catch (err) {
            this.#log.error({ err, version: this.#version }, 'route stream line could not be handled');
            resync = `an unexpected error (${describe(err)})`;
          }
          if (resync !== undefined) return finish({ kind: 'resync', reason: resync });
          if (connection.upAt === undefined) {
            connection.upAt = performance.now();
            this.#served();
          }
          from = nl + 1;
          nl = text.indexOf('\n', from);
        }
        if (from < text.length) {
          pieces.push(from === 0 ? text : text.slice(from));
          pending += text.length - from;
          if (pending > this.#maxLine) finish({ kind: 'failed', reason: `a line longer than ${this.#maxLine} bytes` });
        }
      });
      body.once('end', () => finish({ kind: 'ended', reason: 'control closed the stream' }));
      body.once('error', (err) => finish({ kind: 'failed', reason: describe(err) }));
      body.once('close', () => finish({ kind: 'ended', reason: 'control closed the stream' }));
    });
  }

  /** Handles one line; returns why the stream must start over from a snapshot, if it must. */
  #line(raw: string): string | undefined {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') return undefined;
    let message: RouteStreamMessage;
    try {
      message = parseRouteStreamLine(line);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      // The line alone is lost; were it a delta, the next version reveals the gap.
      this.#log.error({ field: err.field, version: this.#version }, `route stream line refused: ${err.message}`);
      return undefined;
    }
    if (message.type === 'sessions') {
      this.#sessions(message);
      return undefined;
    }
    if (message.type === 'snapshot') {
      if (message.sessions) this.#sessions(message.sessions);
      this.#routes.clear();
      this.#errors.clear();
      this.#looseErrors.length = 0;
      for (const route of message.routes) this.#routes.set(route.id, route);
      this.#refuse(message.errors, message.version, false);
      this.#version = message.version;
      this.#epoch = message.epoch;
      this.#deliver();
      this.#up(`fresh snapshot at version ${message.version}`);
      if (!this.#started) {
        this.#started = true;
        this.#log.info({ control: this.#controlUrl, version: message.version, routes: this.#routes.size }, 'routes from control loaded');
        const settle = this.#settleStart;
        this.#settleStart = undefined;
        settle?.resolve();
      }
      return undefined;
    }
    if (this.#version === undefined) return `a ${message.type} at version ${message.version} before any snapshot`;
    if (message.type === 'ping') {
      if (message.version !== this.#version) return `control is at version ${message.version}, this gateway at ${this.#version}`;
      this.#up(`resumed at version ${this.#version}`);
      return undefined;
    }
    if (message.version !== this.#version + 1) {
      return message.version <= this.#version
        ? `delta ${message.version} is not newer than version ${this.#version}`
        : `deltas ${this.#version + 1} to ${message.version - 1} are missing`;
    }
    for (const id of message.remove) {
      this.#routes.delete(id);
      this.#errors.delete(id);
    }
    for (const route of message.upsert) {
      this.#routes.set(route.id, route);
      this.#errors.delete(route.id);
    }
    this.#refuse(message.errors, message.version, true);
    this.#version = message.version;
    this.#deliver();
    this.#up(`resumed at version ${this.#version}`);
    return undefined;
  }

  /**
   * Refused routes are skipped. A refused new definition of a route this gateway serves also
   * takes the old one down: its target may meanwhile belong to another app (Docker reuses
   * published ports), so serving it stale would be worse than a 404.
   */
  #refuse(errors: RouteRefusal[], version: number, inDelta: boolean): void {
    for (const e of errors) {
      this.#log.error({ route: e.route, field: e.field, version }, `route refused: ${e.message}`);
      if (e.route === undefined) {
        this.#looseErrors.push({ ...e, version });
        if (this.#looseErrors.length > MAX_LOOSE_ERRORS) this.#looseErrors.shift();
        continue;
      }
      // In a snapshot a refused id is either absent or a repeat of a good earlier entry (kept).
      if (inDelta) this.#routes.delete(e.route);
      this.#errors.delete(e.route);
      this.#errors.set(e.route, { ...e, version });
    }
  }

  /** Control cannot be reached at start: the last table on disk serves until it can. */
  #startFromDisk(): void {
    const table = this.#lastRoutes?.load();
    if (!table) return;
    if (table.sessions) this.#sessions(table.sessions);
    for (const route of table.routes) this.#routes.set(route.id, route);
    this.#deliver();
    this.#started = true;
    this.#log.warn({ control: this.#controlUrl, routes: this.#routes.size, savedAt: new Date(table.savedAt).toISOString() },
      'control not reachable: serving the last routes it sent, kept on disk, until it answers');
    const settle = this.#settleStart;
    this.#settleStart = undefined;
    settle?.resolve();
  }

  #sessions(state: SessionState): void {
    this.#lastSessions = state;
    try {
      this.#onSessions?.({ key: state.key, revoked: state.revoked });
    } catch (err) {
      this.#log.error({ err, version: this.#version }, 'applying app sessions from control failed');
    }
    // New revocations are kept with the table (a snapshot's routes are saved once delivered).
    if (this.#version !== undefined) this.#lastRoutes?.save([...this.#routes.values()], state);
  }

  #deliver(): void {
    const routes = [...this.#routes.values()];
    try {
      this.#apply?.(routes, [...this.#errors.values(), ...this.#looseErrors]);
    } catch (err) {
      this.#log.error({ err, version: this.#version }, 'applying routes from control failed');
    }
    if (this.#version !== undefined) this.#lastRoutes?.save(routes, this.#lastSessions);
  }
}

function describe(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e?.cause?.code ?? e?.code;
  const message = e?.cause?.message ?? e?.message ?? String(err);
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}
