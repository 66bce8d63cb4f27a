import { readFile } from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import { parseProcNetTcp, type ListeningSocket } from './proc-net-tcp.ts';

/*
 * While an app does not answer on its port, which ports does its container listen on? A wrong
 * routing.port (the app on 8888, the config saying 8080) or an app bound to 127.0.0.1 inside
 * its container then shows in the console within seconds instead of as a readiness timeout
 * minutes later.
 *
 * The container's sockets are in /proc/net/tcp{,6} of its network namespace. Read from the
 * host's /proc/<pid>/net/ when the agent shares the host's PID namespace (an agent run on the
 * host), after checking that <pid> is the container's (its cgroup names the container's id:
 * in another PID namespace the same number is some other process); otherwise (the agent in
 * its own container, deploy/agent) with `docker exec cat /proc/net/tcp /proc/net/tcp6`, which
 * needs `cat` in the image. An image without it says nothing here.
 */

const FIRST_AFTER_MS = 3_000;
/** Docker's embedded DNS server, in every container on a user-defined network: not the app's. */
const DOCKER_DNS = '127.0.0.11';
const EVERY_MS = 2_000;
const EXEC_MS = 3_000;

async function fromHostProc(procRoot: string, pid: number | undefined, id: string): Promise<ListeningSocket[] | undefined> {
  if (!pid) return undefined;
  try {
    if (!(await readFile(`${procRoot}/${pid}/cgroup`, 'utf8')).includes(id)) return undefined;
  } catch {
    return undefined;
  }
  const texts = await Promise.all(['tcp', 'tcp6'].map((f) => readFile(`${procRoot}/${pid}/net/${f}`, 'utf8').catch(() => undefined)));
  return texts.some((t) => t !== undefined) ? parseProcNetTcp(texts.join('\n')) : undefined;
}

async function fromExec(docker: Docker, container: Docker.Container): Promise<ListeningSocket[] | undefined> {
  try {
    const exec = await container.exec({ Cmd: ['cat', '/proc/net/tcp', '/proc/net/tcp6'], AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: false });
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString('utf8')));
    docker.modem.demuxStream(stream, out, new PassThrough().resume());
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        stream.destroy();
        resolve();
      }, EXEC_MS);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      stream.once('end', done);
      stream.once('close', done);
      stream.once('error', done);
    });
    // cat exits 1 when a kernel without IPv6 has no tcp6, after printing tcp: the header is the proof.
    return text.includes('local_address') ? parseProcNetTcp(text) : undefined;
  } catch {
    return undefined;
  }
}

/** The app's listening TCP sockets in its container; undefined when they cannot be read. */
export async function listeningSockets(docker: Docker, container: Docker.Container, procRoot = '/proc'): Promise<ListeningSocket[] | undefined> {
  let inspect: Docker.ContainerInspectInfo;
  try {
    inspect = await container.inspect();
  } catch {
    return undefined;
  }
  if (!inspect.State.Running) return undefined;
  const sockets = (await fromHostProc(procRoot, inspect.State.Pid, inspect.Id)) ?? (await fromExec(docker, container));
  return sockets?.filter((s) => s.address !== DOCKER_DNS);
}

function where(s: ListeningSocket): string {
  if (s.any) return String(s.port);
  return s.address.includes(':') ? `[${s.address}]:${s.port}` : `${s.address}:${s.port}`;
}

/**
 * What the sockets say about an app expected on `port`, for a console line after
 * "waiting for port N: "; undefined when they cannot be read.
 */
export function describeListening(port: number, sockets: ListeningSocket[] | undefined): string | undefined {
  if (!sockets) return undefined;
  if (!sockets.length) return 'nothing listens on a TCP port in the container yet';
  const on = sockets.filter((s) => s.port === port);
  if (on.some((s) => !s.loopback)) return `the app listens on ${port} but has not answered yet`;
  if (on.length) {
    return `the app listens on ${on.map(where).join(', ')} only, which is not reachable from outside its container: make it listen on 0.0.0.0 (all addresses)`;
  }
  const others = [...new Set(sockets.map(where))];
  return `the app listens on ${others.join(', ')} (tcp), not on ${port}: check routing.port`;
}

export interface PortHint {
  /** Stops watching (the app answered, or the wait is over). */
  stop(): void;
  /** The last thing said ("the app listens on 8888 (tcp), not on 8080: …"), for the failure reason. */
  last(): string | undefined;
}

/**
 * After FIRST_AFTER_MS without an answer, and every EVERY_MS after, reads the sockets and says
 * `waiting for port N: …` when that changed since last said.
 */
export function watchListening(port: number, read: () => Promise<ListeningSocket[] | undefined>, say: (line: string) => void, firstAfterMs = FIRST_AFTER_MS, everyMs = EVERY_MS): PortHint {
  let stopped = false;
  let said: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  const tick = async () => {
    const text = describeListening(port, await read().catch(() => undefined));
    if (stopped) return;
    if (text && text !== said) {
      said = text;
      say(`waiting for port ${port}: ${text}`);
    }
    timer = setTimeout(tick, everyMs);
  };
  timer = setTimeout(tick, firstAfterMs);
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
    last: () => said,
  };
}
