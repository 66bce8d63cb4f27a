import { spawn, type ChildProcess } from 'node:child_process';

/** Every peer process still running, so that an exiting bench never leaves one behind. */
const running = new Set<() => void>();
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  // 'exit' handlers must be synchronous: SIGKILL is the one signal that needs no waiting.
  process.on('exit', () => {
    for (const kill of running) kill();
  });
}

/** Kills a whole process group: nginx's master and worker, and anything a peer forks. */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // ESRCH: the group is gone already.
  }
}

/** Makes the exit hook kill a process the bench did not spawn itself (the gateway helper's). */
export function adopt(child: ChildProcess): () => void {
  hookExit();
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  running.add(kill);
  child.once('exit', () => running.delete(kill));
  return () => running.delete(kill);
}

export interface Child {
  name: string;
  process: ChildProcess;
  /** The last 64 KiB the process wrote to stdout and stderr, for error messages. */
  output(): string;
  stop(): Promise<void>;
}

const OUTPUT_KEEP = 64 * 1024;

/** Spawns a peer in its own process group, with its output kept for error messages. */
export function startChild(name: string, command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Child {
  hookExit();
  const child = spawn(command, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  const keep = (chunk: Buffer) => {
    out += chunk.toString();
    if (out.length > OUTPUT_KEEP) out = out.slice(-OUTPUT_KEEP);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  // A missing binary surfaces as 'error'; it is reported by whoever waits for readiness.
  child.on('error', (err) => keep(Buffer.from(`\nspawn ${command}: ${err.message}\n`)));
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  const kill = () => killGroup(child, 'SIGKILL');
  running.add(kill);
  return {
    name,
    process: child,
    output: () => out,
    async stop() {
      killGroup(child, 'SIGTERM');
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 3_000);
      await exited;
      clearTimeout(timer);
      // The leader may exit before its workers: make sure none outlives it.
      killGroup(child, 'SIGKILL');
      running.delete(kill);
    },
  };
}
