import type Docker from 'dockerode';
import { readFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import type { Logger } from 'pino';
import { engineMessage } from '../docker-engine.ts';

/*
 * The INPUT rule that keeps app containers off published ports (docs/isolation-containers.md).
 *
 * With WHARF_AGENT_BIND on a non-loopback address, an app container can connect to that
 * address of the host, and so to every app's published port: Docker's nat rules let traffic
 * from a container's own bridge through to docker-proxy (its userland port proxy), which
 * accepts on the host and connects to the target container itself. That path is INPUT on the
 * host and OUTPUT from the proxy, never FORWARD: the app network's "no inter-container
 * traffic" and DOCKER-USER never see it. So one rule in INPUT rejects new TCP connections
 * from the app network's bridge to the bind address on the ports Docker publishes from (the
 * host's ephemeral range); the gateways, which do not come from that bridge, still get through.
 * A loopback bind needs none: the host's loopback is not routed from a bridge; nor does an
 * IPv6 one: the app network has no IPv6.
 *
 * Changing INPUT needs NET_ADMIN in the host's network namespace, which the deployed agent
 * (user `node`, Docker socket only) lacks. A short-lived helper container does it: host
 * network, NET_ADMIN, NET_RAW and SYS_CHROOT only, the host's root at /host, and the host's
 * own iptables (whichever backend Docker uses) run through `chroot`, so any image with
 * `chroot` will do: the agent's own by default.
 */

/** Docker's fallback when it cannot read the host's ephemeral range (libnetwork portallocator). */
const DOCKER_DEFAULT_RANGE: [number, number] = [49153, 65535];

/** Whether publishing on `bind` needs the rule. */
export function needsInputRule(bind: string): boolean {
  return isIPv4(bind) && !bind.startsWith('127.');
}

/** The ports Docker publishes on, from /proc/sys/net/ipv4/ip_local_port_range ("32768\t60999"). */
export function publishedPortRange(text: string | undefined): [number, number] {
  const m = /^\s*(\d+)\s+(\d+)\s*$/.exec(text ?? '');
  const low = Number(m?.[1]);
  const high = Number(m?.[2]);
  return m && low >= 1 && low <= high && high <= 65535 ? [low, high] : DOCKER_DEFAULT_RANGE;
}

/** The rule's iptables arguments after `-C INPUT`, `-I INPUT 1` or `-D INPUT`. */
export function inputRule(bridge: string, bind: string, [low, high]: [number, number]): string[] {
  return [
    '-i', bridge, '-d', `${bind}/32`, '-p', 'tcp', '-m', 'tcp', '--dport', `${low}:${high}`,
    // New connections only: the host's own connections to the bind address (the gateway's,
    // the agent's readiness probe) are DNATed into the bridge, and their replies come back in
    // on it, to a port of the same range.
    '-m', 'conntrack', '--ctstate', 'NEW',
    '-m', 'comment', '--comment', 'wharf: app containers may not reach published ports',
    '-j', 'REJECT', '--reject-with', 'tcp-reset',
  ];
}

/** The shell command an operator runs instead (WHARF_FIREWALL_IMAGE=off), the rule's words quoted. */
export function inputRuleCommand(rule: string[]): string {
  return `iptables -I INPUT 1 ${rule.map((w) => (/^[\w./:-]+$/.test(w) ? w : `'${w}'`)).join(' ')}`;
}

/**
 * The container this process runs in, from /proc/self/mountinfo: Docker bind-mounts its
 * `…/containers/<id>/hostname` on /etc/hostname. Undefined on a bare host.
 */
export function ownContainerId(mountinfo: string): string | undefined {
  return /\/containers\/([0-9a-f]{64})\/hostname \/etc\/hostname /.exec(mountinfo)?.[1];
}

/** Adds the rule unless it is there already (idempotent: an agent restart adds nothing). */
const SCRIPT = 'iptables -w -C INPUT "$@" 2>/dev/null || iptables -w -I INPUT 1 "$@"';

/**
 * Runs the helper container that adds `rule` to the host's INPUT chain; throws an Error with
 * the helper's output when it fails. `labels` go on the helper (WHARF_LABELS), `wharf.type`
 * "helper" keeps prune and adoption off it.
 */
export async function addInputRule(docker: Docker, image: string, rule: string[], labels: Record<string, string>): Promise<void> {
  let container: Docker.Container;
  try {
    container = await docker.createContainer({
      Image: image,
      User: '0',
      Entrypoint: ['chroot', '/host', '/bin/sh', '-c', SCRIPT, 'wharf-input-rule', ...rule],
      Cmd: [],
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      Labels: { ...labels, 'wharf.type': 'helper' },
      // A terminal: its output comes back as plain text, not multiplexed.
      Tty: true,
      HostConfig: { NetworkMode: 'host', CapDrop: ['ALL'], CapAdd: ['NET_ADMIN', 'NET_RAW', 'SYS_CHROOT'], Binds: ['/:/host'], RestartPolicy: { Name: 'no' } },
    });
  } catch (err) {
    throw new Error(`cannot create the helper container from ${image}: ${engineMessage(err)}`);
  }
  try {
    await container.start().catch((err) => {
      throw new Error(`the helper container (${image}) cannot start: ${engineMessage(err)}`);
    });
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    if (StatusCode !== 0) {
      const output = String(await container.logs({ stdout: true, stderr: true }).catch(() => '')).trim().split('\n').slice(-3).join(' | ');
      throw new Error(`the helper container (${image}) exited with code ${StatusCode}${output ? `: ${output}` : ''}`);
    }
  } finally {
    await container.remove({ force: true }).catch(() => undefined);
  }
}

export interface InputRuleOptions {
  /** The app network's bridge interface. */
  bridge: string;
  /** WHARF_AGENT_BIND. */
  bind: string;
  /** WHARF_FIREWALL_IMAGE: the helper's image, "off", or undefined for the agent's own. */
  image: string | undefined;
  /** WHARF_LABELS, for the helper container. */
  labels: [string, string][];
}

/**
 * At agent start: adds the rule when the bind address needs it. Throws an Error that says
 * what to do when it cannot, so that an agent never publishes where app containers get in.
 */
export async function ensureInputRule(docker: Docker, options: InputRuleOptions, log: Logger): Promise<void> {
  const { bridge, bind } = options;
  if (!needsInputRule(bind)) return;
  const rule = inputRule(bridge, bind, publishedPortRange(readText('/proc/sys/net/ipv4/ip_local_port_range')));
  const command = inputRuleCommand(rule);
  if (options.image === 'off') {
    log.warn({ rule: command }, 'WHARF_FIREWALL_IMAGE=off: the host must hold this INPUT rule, or app containers reach each other\'s published ports');
    return;
  }
  const image = options.image ?? await ownImage(docker);
  if (!image) {
    throw new Error(`WHARF_AGENT_BIND=${bind} lets app containers reach every app's published port through the host unless an INPUT rule stops them: set WHARF_FIREWALL_IMAGE to an image on this host that has chroot (the agent adds the rule with it), or add the rule yourself and set WHARF_FIREWALL_IMAGE=off: ${command}`);
  }
  try {
    await addInputRule(docker, image, rule, Object.fromEntries(options.labels));
  } catch (err) {
    throw new Error(`cannot add the INPUT rule that keeps app containers off published ports (${(err as Error).message}): fix that, or add the rule yourself and set WHARF_FIREWALL_IMAGE=off: ${command}`);
  }
  log.info({ rule: command, image }, 'app containers kept off published ports');
}

/** The image of the container the agent runs in; undefined on a bare host. */
async function ownImage(docker: Docker): Promise<string | undefined> {
  const id = ownContainerId(readText('/proc/self/mountinfo') ?? '');
  if (!id) return undefined;
  return docker.getContainer(id).inspect().then((c) => c.Image, () => undefined);
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
