import Docker from 'dockerode';
import { loadRegistryAuth } from './registry-auth.ts';

/*
 * The agent's connection to the Docker Engine (dockerode: DOCKER_HOST, else the default
 * socket), with the failures a person meets turned into one line that says what to do.
 */

/** Where dockerode connects, for messages: DOCKER_HOST or the default socket. */
export function dockerTarget(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_HOST || 'unix:///var/run/docker.sock';
}

/** Connects and pings; an absent or unreachable Engine is an Error that says what to start. */
export async function connectDocker(env: NodeJS.ProcessEnv = process.env): Promise<Docker> {
  const docker = new Docker();
  try {
    await docker.ping();
  } catch (err) {
    const e = err as { code?: string; statusCode?: number; message?: string };
    const why = e.code ?? (e.statusCode ? `HTTP ${e.statusCode}` : e.message ?? String(err));
    const hint = e.code === 'EACCES'
      ? 'run the agent as a user in the docker group, or as root'
      : 'start the Docker Engine (`systemctl start docker`, or `dockerd &` as root) or point DOCKER_HOST at one';
    throw new Error(`no Docker Engine answers at ${dockerTarget(env)} (${why}): ${hint}`);
  }
  return docker;
}

export const isNotFound = (err: unknown) => (err as { statusCode?: number }).statusCode === 404;

/** The Engine's socket did not answer (the Engine stopping, restarting, not started): not an answer of the Engine's. */
export function engineAway(err: unknown): boolean {
  const e = err as { statusCode?: number; code?: string } | undefined;
  return e?.statusCode === undefined && ['ECONNREFUSED', 'ENOENT', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT'].includes(e?.code ?? '');
}

/**
 * Inspects the container once the Engine answers again (restarted, upgraded): tried with a
 * growing pause (0.5 s to 5 s) until it answers or `give up` says so. Undefined when the
 * container is gone or the caller gave up.
 */
export async function inspectWhenBack(container: Docker.Container, giveUp: () => boolean): Promise<Docker.ContainerInspectInfo | undefined> {
  for (let pause = 500; !giveUp(); pause = Math.min(pause * 2, 5_000)) {
    try {
      return await container.inspect();
    } catch (err) {
      if (isNotFound(err)) return undefined;
      await new Promise((resolve) => setTimeout(resolve, pause).unref());
    }
  }
  return undefined;
}

/** The Engine's own message for a failed call, without dockerode's "(HTTP code 404) …" prefix. */
export function engineMessage(err: unknown): string {
  const e = err as { json?: { message?: string }; reason?: string; message?: string };
  return (e.json?.message ?? e.message ?? String(err)).replace(/^\(HTTP code \d+\) [^-]*- /, '').trim();
}

/**
 * Makes sure `image` is on this host: kept when present, else pulled (with the agent's
 * registry credentials), `say` getting a progress line per layer step. An image that is absent
 * and cannot be pulled throws an Error that names it and why.
 */
export async function ensureImage(docker: Docker, image: string, say: (line: string) => void): Promise<'present' | 'pulled'> {
  try {
    await docker.getImage(image).inspect();
    return 'present';
  } catch (err) {
    if (!isNotFound(err)) throw new Error(`cannot inspect image ${image}: ${engineMessage(err)}`);
  }
  say(`image ${image} is not on this host: pulling it`);
  const authconfig = loadRegistryAuth(image);
  try {
    const stream = await docker.pull(image, authconfig ? { authconfig } : {});
    await new Promise<void>((resolve, reject) => {
      let last = '';
      docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve()), (event: { status?: string; id?: string; error?: string }) => {
        if (event.error) return;
        // One line per layer state change, not per progress tick.
        const line = [event.id, event.status].filter(Boolean).join(': ');
        if (line && line !== last && !/^Downloading|^Extracting/.test(event.status ?? '')) say(line);
        last = line;
      });
    });
  } catch (err) {
    throw new Error(`image ${image} is not on this host and cannot be pulled: ${engineMessage(err)}`);
  }
  say(`image ${image} pulled`);
  return 'pulled';
}
