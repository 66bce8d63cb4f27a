import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/*
 * Registry credentials for image pulls, from the agent's Docker config (`docker login` writes
 * `~/.docker/config.json`, or DOCKER_CONFIG/config.json). Only inline `auths` entries are
 * read; credential helpers are not run. Credentials go to the Engine, never to a log.
 */

export interface RegistryAuth {
  username: string;
  password: string;
  serveraddress: string;
}

const DOCKER_HUB = 'https://index.docker.io/v1/';

/** The registry an image reference names: its first component when that looks like a host, else Docker Hub. */
export function registryOf(image: string): string {
  const slash = image.indexOf('/');
  if (slash < 0) return DOCKER_HUB;
  const first = image.slice(0, slash);
  return /[.:]/.test(first) || first === 'localhost' ? first : DOCKER_HUB;
}

function normalize(server: string): string {
  if (/^https?:\/\/(index\.)?docker\.io(\/|$)/.test(server) || server === 'docker.io' || server === 'index.docker.io') return DOCKER_HUB;
  return server.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
}

/** The credentials config.json holds for the registry of `image`, if any. */
export function authFor(configJson: string, image: string): RegistryAuth | undefined {
  let config: { auths?: Record<string, { auth?: string; username?: string; password?: string }> };
  try {
    config = JSON.parse(configJson);
  } catch {
    return undefined;
  }
  const registry = registryOf(image);
  for (const [server, entry] of Object.entries(config.auths ?? {})) {
    if (normalize(server) !== registry) continue;
    if (entry.username && entry.password) return { username: entry.username, password: entry.password, serveraddress: server };
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), serveraddress: server };
    }
  }
  return undefined;
}

/** Reads the agent's Docker config; no file, no credentials. */
export function loadRegistryAuth(image: string, env: NodeJS.ProcessEnv = process.env): RegistryAuth | undefined {
  const file = join(env.DOCKER_CONFIG || join(homedir(), '.docker'), 'config.json');
  try {
    return authFor(readFileSync(file, 'utf8'), image);
  } catch {
    return undefined;
  }
}
