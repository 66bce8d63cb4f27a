import { request as httpRequest, type IncomingMessage } from 'node:http';
import { pino } from 'pino';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { SigningKeys } from '../keys/signing-keys.ts';
import { RouteLog } from '../routes/route-log.ts';
import { buildControlApp, type ControlApp, type ControlParts } from '../server.ts';
import type { Store } from '../store/store.ts';
import { tempStore, type TempStore } from '../store/testing.ts';

/* The in-process API tests' set-up: a temp SQLite store, signing keys, the app, users with tokens. */

/** What a test may set of the app's parts; store, keys, routes, log and clock come from the fixture. */
export type TestParts = Omit<ControlParts, 'store' | 'keys' | 'routes' | 'log' | 'clock'>;

export interface TestApp {
  keys: SigningKeys;
  routes: RouteLog;
  control: ControlApp;
}

/** The control app over `t`'s store and clock, with keys in the store and a silent log. */
export async function buildTestApp(t: TempStore, parts: TestParts = {}): Promise<TestApp> {
  const keys = await SigningKeys.open(t.store.signingKeys, t.clock.now);
  const routes = new RouteLog();
  const control = buildControlApp({ store: t.store, keys, routes, log: pino({ level: 'silent' }), clock: t.clock.read, ...parts });
  return { keys, routes, control };
}

/** A user (password `<name>-password` unless given) and an API token of theirs. */
export async function addTestUser(store: Store, name: string, options: { admin?: boolean; password?: string } = {}): Promise<{ id: string; token: string }> {
  const user = await store.users.add({ name, password: options.password ?? `${name}-password`, admin: options.admin ?? false });
  return { id: user.id, token: (await store.apiTokens.create(user.id, 'test')).token };
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface ApiFixture extends TestApp {
  t: TempStore;
  user(name: string, options?: { admin?: boolean; password?: string }): Promise<{ id: string; token: string }>;
  /** An injected request, with `Authorization: Bearer <token>` when a token is given. */
  call(method: Method, url: string, token?: string, payload?: unknown, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
  /** Adds an agent through the API (an admin's token) and returns its `Authorization` value. */
  agent(adminToken: string, name: string, queues: string[]): Promise<{ id: string; auth: string }>;
  /** Closes the app, then the store, and removes the temp folder. */
  close(): Promise<void>;
}

/** A temp store (its clock at `start` when given) and the app built over it. */
export async function apiFixture(parts: TestParts = {}, options: { start?: number } = {}): Promise<ApiFixture> {
  const t = tempStore();
  if (options.start !== undefined) t.clock.now = options.start;
  const built = await buildTestApp(t, parts);
  return {
    ...built, t,
    user: (name, userOptions) => addTestUser(t.store, name, userOptions),
    call: (method, url, token, payload, headers = {}) => built.control.app.inject({
      method, url, payload: payload as InjectOptions['payload'],
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    }),
    async agent(adminToken, name, queues) {
      const res = await built.control.app.inject({ method: 'POST', url: '/api/v1/agents', headers: { authorization: `Bearer ${adminToken}` }, payload: { name, queues } });
      if (res.statusCode !== 201) throw new Error(`adding agent ${name}: ${res.statusCode} ${res.body}`);
      const a = res.json() as { id: string; key: string; secret: string };
      return { id: a.id, auth: `Bearer ${a.key}:${a.secret}` };
    },
    async close() {
      await built.control.app.close();
      await t.cleanup();
    },
  };
}

export interface SseEvent { event: string; id: string | undefined; data: unknown }

/** Follows a server-sent events endpoint of a listening control over a real socket, parsing each event. */
export async function followEvents(port: number, path: string, headers: Record<string, string>) {
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers }, resolve);
    req.on('error', reject);
    req.end();
  });
  const events: SseEvent[] = [];
  let buffer = '';
  let wake: (() => void) | undefined;
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    buffer += chunk;
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (data === undefined) continue; // a comment (heartbeat)
      events.push({ event: /^event: (.*)$/m.exec(block)?.[1] ?? 'message', id: /^id: (.*)$/m.exec(block)?.[1], data: JSON.parse(data) });
    }
    wake?.();
  });
  return {
    res,
    events,
    /** Waits until `n` events arrived (or throws after `timeoutMs`). */
    async waitFor(n: number, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      while (events.length < n) {
        if (Date.now() > deadline) throw new Error(`only ${events.length} of ${n} events`);
        await new Promise<void>((r) => { wake = r; setTimeout(r, 50); });
      }
    },
    close: () => res.destroy(),
  };
}
