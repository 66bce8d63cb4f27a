import { request } from 'node:http';
import { connect } from 'node:net';
import type { ReadinessProbe } from '../protocol/launch-spec.ts';

/*
 * Readiness: a real answer from the app. docker-proxy accepts a connection on a published
 * port before the app listens, then closes it (DESIGN.md), so an accepted connection proves
 * nothing: an http app must send an HTTP response (any status), a tcp app must keep the
 * connection open for HOLD_MS or send bytes.
 *
 * The http probe sends the route's own headers (spec.routeHeaders: what the gateway adds
 * upstream, Jupyter's `Authorization: token …`), so that an app that checks them answers the
 * probe as it answers the gateway, and does not log it as refused (`403 GET /api/status`).
 */

const HOLD_MS = 300;
const ATTEMPT_MS = 2_000;
const RETRY_MS = 100;

function httpAnswers(host: string, port: number, path: string, headers: Record<string, string>): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host, port, path, method: 'GET', timeout: ATTEMPT_MS, headers: { ...headers, 'user-agent': 'wharf-agent readiness' } }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

function tcpHolds(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let timer: NodeJS.Timeout | undefined;
    const done = (ready: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ready);
    };
    socket.setTimeout(ATTEMPT_MS, () => done(false));
    socket.once('connect', () => {
      timer = setTimeout(() => done(true), HOLD_MS);
    });
    socket.once('data', () => done(true));
    socket.once('end', () => done(false));
    socket.once('error', () => done(false));
    socket.once('close', () => done(false));
  });
}

/** One attempt of the probe against host:port; `headers` go with an http probe's request. */
export function probeOnce(probe: ReadinessProbe, host: string, port: number, headers: Record<string, string> = {}): Promise<boolean> {
  if (probe.kind === 'http') return httpAnswers(host, port, probe.path, headers);
  if (probe.kind === 'tcp') return tcpHolds(host, port);
  return Promise.resolve(true);
}

/**
 * Probes until the app answers ('ready'), `gone()` says the container stopped ('exited'), the
 * signal aborts ('aborted'), or `timeoutMs` passes ('timeout'); `headers`: spec.routeHeaders.
 */
export async function waitReady(
  probe: ReadinessProbe,
  host: string,
  port: number,
  timeoutMs: number,
  gone: () => boolean,
  signal?: AbortSignal,
  headers: Record<string, string> = {},
): Promise<'ready' | 'exited' | 'timeout' | 'aborted'> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (signal?.aborted) return 'aborted';
    if (gone()) return 'exited';
    if (await probeOnce(probe, host, port, headers)) return gone() ? 'exited' : 'ready';
    if (Date.now() + RETRY_MS > deadline) return 'timeout';
    await new Promise((r) => setTimeout(r, RETRY_MS));
  }
}
