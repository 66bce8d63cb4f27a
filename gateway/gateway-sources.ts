import { readFileSync } from 'node:fs';
import { getCACertificates } from 'node:tls';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { CertStore } from '../certs/store.ts';
import type { SessionState } from '../protocol/route-stream.ts';
import { ControlLinks } from './auth/control-links.ts';
import { LocalLinks, type LinkClaims } from './auth/one-time-links.ts';
import { SessionCookies } from './auth/session-cookie.ts';
import { LastRoutes } from './providers/last-routes.ts';
import { ControlProvider } from './providers/control-provider.ts';
import { FileProvider, type RouteProvider } from './providers/file-provider.ts';
import type { GatewaySettings } from './settings.ts';

/*
 * What exists once per gateway, made the same way whether one process serves (gateway.ts)
 * or a supervisor feeds its workers (supervisor/supervisor.ts): the checks of the settings,
 * the route provider and where one-time links are claimed.
 */

/** Throws, saying what to fix, for settings that cannot work together. */
export function checkSettings(s: GatewaySettings): void {
  if (s.tlsCert.length !== s.tlsKey.length) throw new Error('--tls-cert and --tls-key must be given the same number of times');
  if (s.requestTimeoutMs > 0 && s.headersTimeoutMs > s.requestTimeoutMs) throw new Error('--headers-timeout-ms must not exceed --request-timeout-ms');
  if (s.routes && s.control) throw new Error('--routes and WHARF_GATEWAY_CONTROL exclude each other: routes come from one source');
  if (s.control && s.pathRouting) {
    throw new Error('--path-routing cannot be used with WHARF_GATEWAY_CONTROL: under path routing every app shares the dashboard\'s origin, where nothing keeps one app\'s page from acting on another app or on control with a visitor\'s cookie. Give apps their own hosts with wildcard DNS for the apps domain (docs/security.md)');
  }
  if (s.control && !s.key) throw new Error('WHARF_GATEWAY_CONTROL is set but WHARF_GATEWAY_KEY is not: create a key with `wharf gateways add NAME`');
}

/**
 * The CAs an https control URL is trusted by: what Node trusts by default (the public roots,
 * NODE_EXTRA_CA_CERTS, the system's with --use-system-ca) and Wharf's local CA.
 */
export function controlCa(s: GatewaySettings): string[] {
  return [...getCACertificates('default'), new CertStore(s.home).authority().cert];
}

/**
 * The certificate files the HTTPS entrypoint serves and the CA client certificates are
 * checked against: the given ones, or the local CA's, made under WHARF_HOME on first use.
 */
export function tlsFiles(s: GatewaySettings): { certs: { cert: string; key: string }[]; clientCa: string } {
  const store = new CertStore(s.home);
  const certs = s.tlsCert.length ? s.tlsCert.map((cert, i) => ({ cert, key: s.tlsKey[i] })) : [store.gateway(s.appsDomain)];
  return { certs, clientCa: s.clientCa ? readFileSync(s.clientCa, 'utf8') : store.authority().cert };
}

/**
 * Fed by control, app cookies are signed with control's one key (it comes on the route
 * stream), so that every gateway accepts the same cookies (docs/sessions.md); on a routes
 * file, with a key of the gateway's own under WHARF_HOME, made on first use.
 */
export function createSessionCookies(s: GatewaySettings): SessionCookies {
  return s.control ? new SessionCookies() : SessionCookies.fromKeyFile(join(s.home, 'gateway', 'session.key'));
}

/**
 * Fed by control, one-time links are claimed at control, so that a link works once across
 * gateways and restarts (docs/sessions.md); on a routes file, in a used-links file of the
 * gateway's own under WHARF_HOME.
 */
export function createLinkClaims(s: GatewaySettings, log: Logger): LinkClaims {
  return s.control
    ? new ControlLinks({ control: s.control, key: s.key!, ca: controlCa(s), log })
    : new LocalLinks(join(s.home, 'gateway', 'used-links'));
}

/**
 * Control's route stream (which also carries the app session state to `onSessions`), or the
 * routes file, or nothing. `publicUrl` is the URL reported to control (which adopts the first
 * one unless it has its own); with --https-port 0 it is known only once listening (setPublicUrl).
 */
export function createRouteProvider(s: GatewaySettings, log: Logger, onSessions: (state: SessionState) => void, onControl?: (url: string) => void): RouteProvider | undefined {
  if (s.control) {
    const publicUrl = s.publicUrl ?? (s.httpsPort ? `https://localhost:${s.httpsPort}/` : undefined);
    // The last table, for a start while control is away (0600: it holds the app cookie key).
    const lastRoutes = new LastRoutes(join(s.home, 'gateway', 'control-routes.json'), log);
    return new ControlProvider({ controlUrl: s.control, key: s.key!, log, ca: controlCa(s), publicUrl, onSessions, onControl, lastRoutes });
  }
  return s.routes ? new FileProvider(s.routes, log) : undefined;
}
