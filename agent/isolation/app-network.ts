import type Docker from 'dockerode';
import { engineMessage, isNotFound } from '../docker-engine.ts';

/*
 * Wharf's app network (docs/isolation-containers.md). Docker's default bridge lets every
 * container open connections to every other, so one user's app could fetch another's private
 * page by its container address, with no token. Apps join this bridge network instead, made
 * with inter-container traffic off: Docker then drops whatever one of its containers sends to
 * another (FORWARD, `-i wharf-apps -o wharf-apps -j DROP`), while traffic out of the network
 * (outbound access, the host) and into published ports (the gateways) still flows. Docker
 * also keeps containers of different networks apart, so apps cannot reach containers on the
 * default bridge or compose's networks (control's) either.
 */

export const APP_NETWORK = 'wharf-apps';
const ICC = 'com.docker.network.bridge.enable_icc';
const BRIDGE_NAME = 'com.docker.network.bridge.name';

export interface AppNetwork {
  name: string;
  /** The host's interface of the bridge: where app containers' packets come in from. */
  bridge: string;
}

/** The create body: a fixed interface name (at most 15 characters), so that a host rule can name it. */
export const APP_NETWORK_OPTIONS = {
  Name: APP_NETWORK,
  Driver: 'bridge',
  CheckDuplicate: true,
  Labels: { 'wharf.type': 'network' },
  Options: { [ICC]: 'false', [BRIDGE_NAME]: APP_NETWORK },
};

/** What the agent may use of an inspected network, or why not. Pure. */
export function appNetworkOf(inspect: { Name?: string; Id?: string; Driver?: string; Options?: Record<string, string> | null }): AppNetwork {
  const options = inspect.Options ?? {};
  if (inspect.Driver !== 'bridge' || options[ICC] !== 'false') {
    throw new Error(`the Docker network ${APP_NETWORK} exists but lets containers reach each other (driver ${inspect.Driver}, ${ICC}=${options[ICC] ?? 'true'}): remove it (docker network rm ${APP_NETWORK}) and start the agent again; it makes its own`);
  }
  return { name: APP_NETWORK, bridge: options[BRIDGE_NAME] ?? `br-${(inspect.Id ?? '').slice(0, 12)}` };
}

/** Finds or makes the app network; throws an Error that says what to do when it cannot. */
export async function ensureAppNetwork(docker: Docker): Promise<AppNetwork> {
  const found = await inspectAppNetwork(docker);
  if (found) return appNetworkOf(found);
  try {
    await docker.createNetwork(APP_NETWORK_OPTIONS);
  } catch (err) {
    // 409: another agent on this host made it meanwhile; the inspect below reads theirs.
    if ((err as { statusCode?: number }).statusCode !== 409) throw new Error(`cannot create the Docker network ${APP_NETWORK}: ${engineMessage(err)}`);
  }
  const made = await inspectAppNetwork(docker);
  if (!made) throw new Error(`the Docker network ${APP_NETWORK} was removed as it was made: start the agent again`);
  return appNetworkOf(made);
}

async function inspectAppNetwork(docker: Docker): Promise<Docker.NetworkInspectInfo | undefined> {
  try {
    return await docker.getNetwork(APP_NETWORK).inspect();
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw new Error(`cannot inspect the Docker network ${APP_NETWORK}: ${engineMessage(err)}`);
  }
}
