import type { InstanceAccess } from '../access/instance-access.ts';
import type { AppConfig, AppKind } from '../../protocol/app-config.ts';
import type { InstanceStatus } from '../../protocol/instance-status.ts';
import { isIdleWarningReason } from '../idle/idle-monitor.ts';
import { appBaseUrl, type AppHosts } from '../keys/gateway-tokens.ts';
import type { Instance } from '../store/store.ts';

/*
 * The instance view of DESIGN.md ("Instance view"): what `GET /instances/:id`, `wharf show`
 * and the dashboard read. `links.browser` ("Open IDE") is control's `/auth/app` hand-off on
 * the main host: one click from a signed-in browser gives a fresh one-time link to the app (it
 * holds no secret, so every view can carry it). `POST /instances/:id/token` answers the
 * one-time link itself, for the CLI (`wharf open`).
 */

export interface InstanceLinks {
  /** The app's base URL (`https://<id>.<appsDomain>[:port]/`), null for routing "none". */
  https: string | null;
  /** Opens the app in a browser in one click: control's /auth/app hand-off (a one-time link in the token answer); null for routing "none". */
  browser: string | null;
  /** The base URL for programs sending `Authorization: Bearer`, null for routing "none". */
  endpoint: string | null;
  /** `host:port` for a TCP app once control has pinned its port, else null. */
  tcp: string | null;
}

export interface InstanceView {
  id: string;
  name: string;
  app: AppKind;
  status: InstanceStatus;
  statusReason: string | null;
  /** Seconds since the current quiet period began; null unless active or idle, 0 while busy. */
  idleSeconds: number | null;
  /** When the current quiet period began (ISO); null while busy, and unless active or idle. Clients tick idle time from it. */
  idleSince: string | null;
  /**
   * The warning ahead of the idle limit (WHARF_IDLE_WARNING_S before it), null otherwise: when
   * the idle monitor stops the instance unless it is used. `statusReason` says the same in words
   * (`idle: stops at <ISO time>`) for the CLI and the dashboard.
   */
  idleWarning: { stopsAt: string; secondsLeft: number } | null;
  restoredFrom: string | null;
  /** The owner's user name. */
  owner: string;
  agent: string | null;
  project: string;
  tags: string[];
  queue: string;
  created: string;
  updated: string;
  started: string | null;
  stopped: string | null;
  config: AppConfig;
  links: InstanceLinks;
  /**
   * What the caller may do with it (control/access/instance-access.ts), in the API's answers to
   * a user: owner (its owner, or an admin), user (opens and connects) or viewer (sees it).
   */
  access?: InstanceAccess;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/**
 * The gateway port control pinned for a TCP app (`gatewayPort`, control/agents/endpoint-routes.ts).
 * Not the endpoint's `port`: that is where the agent published it, which users never reach.
 */
function pinnedPort(endpoint: Instance['endpoint']): number | undefined {
  const value = endpoint?.gatewayPort;
  return Number.isInteger(value) && (value as number) > 0 && (value as number) < 65536 ? value as number : undefined;
}

export function instanceLinks(instance: Instance, hosts: AppHosts): InstanceLinks {
  const mode = instance.config.routing.mode;
  const base = mode === 'none' ? null : appBaseUrl(instance.id, hosts);
  let tcp: string | null = null;
  const port = mode === 'tcp' ? pinnedPort(instance.endpoint) : undefined;
  if (port !== undefined) tcp = `${new URL(hosts.publicUrl).hostname}:${port}`;
  const browser = base === null ? null : `${new URL('auth/app', hosts.publicUrl).href}?instance=${encodeURIComponent(instance.id)}&return=${encodeURIComponent(base)}`;
  return { https: base, browser, endpoint: base, tcp };
}

/** Set by the idle monitor through the status reason; stopsAt is quietSince + idle.maxHours. */
function idleWarning(instance: Instance, now: number): InstanceView['idleWarning'] {
  if ((instance.status !== 'active' && instance.status !== 'idle') || instance.quietSince === null || !isIdleWarningReason(instance.statusReason)) return null;
  const stopsAt = instance.quietSince + Math.round(instance.config.idle.maxHours * 3_600_000);
  return { stopsAt: new Date(stopsAt).toISOString(), secondsLeft: Math.max(0, Math.ceil((stopsAt - now) / 1000)) };
}

export function instanceView(instance: Instance, ownerName: string, hosts: AppHosts, now: number): InstanceView {
  const busyOrQuiet = instance.status === 'active' || instance.status === 'idle';
  const idleSeconds = !busyOrQuiet ? null : instance.quietSince === null ? 0 : Math.max(0, Math.floor((now - instance.quietSince) / 1000));
  return {
    id: instance.id,
    name: instance.name,
    app: instance.app,
    status: instance.status,
    statusReason: instance.statusReason,
    idleSeconds,
    idleSince: busyOrQuiet ? iso(instance.quietSince) : null,
    idleWarning: idleWarning(instance, now),
    restoredFrom: instance.restoredFrom,
    owner: ownerName,
    agent: instance.agent,
    project: instance.project,
    tags: instance.tags,
    queue: instance.queue,
    created: new Date(instance.created).toISOString(),
    updated: new Date(instance.updated).toISOString(),
    started: iso(instance.started),
    stopped: iso(instance.stopped),
    config: instance.config,
    links: instanceLinks(instance, hosts),
  };
}
