import type Docker from 'dockerode';
import type { Logger } from 'pino';
import type { LaunchSpec } from '../protocol/launch-spec.ts';
import { ConsolePump } from './console-pump.ts';
import { containerName, containerOptions, publishedPort, usesHostNetwork, type HostDefaults } from './container-options.ts';
import { isLeaseLost, retryWhileAway, type AgentControlApi } from './control-api.ts';
import { engineMessage, ensureImage, inspectWhenBack, isNotFound } from './docker-engine.ts';
import type { EngineWatch } from './engine-watch.ts';
import { checkOwnedVolumes } from './isolation/owned-volumes.ts';
import { listeningSockets, watchListening } from './port-hint.ts';
import { waitReady } from './readiness.ts';
import { tarFiles } from './tar-writer.ts';
import { containerUser, expandHome, homeOf, readImagePasswd } from './workspace/home-dir.ts';
import { ensureVolume, removeVolume, restoreWorkspace, takeSnapshot, type SnapshotOutcome } from './workspace/workspace.ts';
import { volumeName } from './container-options.ts';

/*
 * One app instance on this host, from its lease to its end (DESIGN.md "One launch, end to
 * end", "Statuses"): image check, create (labels, env, injected files, limits, published
 * port), start, readiness, endpoint → `active`; then either a stop command (SIGTERM, grace,
 * SIGKILL, container removed, `stopped`) or the app exiting by itself (`stopped` on 0, else
 * `failed` with its code and last lines; the container is kept for inspection until pruned).
 * Every step is a console line. Reports refused with 409 (the lease went elsewhere) end the
 * app here: its container is removed, and control's word stands.
 *
 * Workspaces (issue 6, agent/workspace/): the workspace is the instance's volume
 * `wharf-ws-<id>`; a restore (workspace.restoreFrom) lands in it before the container starts.
 * Every stop and every exit snapshots it first; container and volume go only once control
 * confirmed the upload. A failed snapshot keeps both and ends the instance `failed` with the
 * reason. `snapshotNow` (`wharf snapshot ID`) snapshots the running container.
 */

export interface AppContext {
  docker: Docker;
  api: AgentControlApi;
  log: Logger;
  host: HostDefaults;
  /** WHARF_AGENT_HOST: the address gateways reach published ports at. */
  endpointHost: string;
  readinessTimeoutMs: number;
  stopTimeoutS: number;
  /** Tells when the Docker Engine goes away (engine-watch.ts). */
  engine?: Pick<EngineWatch, 'lost'>;
}

type Phase = 'starting' | 'active' | 'stopping' | 'done';

/** How long a stop's snapshot is tried again while control, or the Docker Engine, is away (an Engine restarts in seconds). */
const FINAL_SNAPSHOT_RETRY_MS = { control: 600_000, engine: 120_000 };
/** How long after an app killed by a signal the agent looks for its Engine leaving, to say so. */
const ENGINE_LEAVING_MS = 3_000;

const reasonOf = (code: number, tail: string[], note?: string) => {
  const last = tail.slice(-5).join(' | ');
  return `${note ? `${note}: ` : ''}exited with code ${code}${last ? `; last lines: ${last}` : ''}`.slice(0, 2000);
};

export class App {
  readonly id: string;
  /** As leased; `~` in the workspace path becomes the container user's home before create. */
  spec: LaunchSpec;
  /** When this agent took the app (lease or adoption), to tell a fresh lease from one control forgot. */
  readonly since = Date.now();
  readonly #ctx: AppContext;
  readonly #console: ConsolePump;
  #phase: Phase = 'starting';
  #container: Docker.Container | undefined;
  #exitCode: number | undefined;
  /** Why the app ended when the Docker Engine had a hand in it (see #waitForExit). */
  #engineNote: string | undefined;
  #exited: Promise<number> | undefined;
  #stopping: Promise<void> | undefined;
  #launching: Promise<void> | undefined;
  /** The workspace holds what it should (restored, or fresh): only then is it worth a snapshot. */
  #workspaceReady = true;
  /** The snapshot under way (on demand, or the final one): one at a time. */
  #snapshotting: Promise<SnapshotOutcome> | undefined;
  readonly #done: Promise<void>;
  #finish!: () => void;

  constructor(ctx: AppContext, id: string, spec: LaunchSpec) {
    this.#ctx = ctx;
    this.id = id;
    this.spec = spec;
    this.#console = new ConsolePump((lines) => ctx.api.console(id, lines));
    this.#done = new Promise((resolve) => {
      this.#finish = resolve;
    });
  }

  get phase(): Phase {
    return this.#phase;
  }

  /** The Docker container's id once it was created (or adopted); undefined before. */
  get containerId(): string | undefined {
    return this.#container?.id;
  }

  /** Resolves when the app is over on this host (stopped, failed, abandoned). */
  get done(): Promise<void> {
    return this.#done;
  }

  /** Runs a leased job up to `active`; failures end in `failed` (or `stopped` on exit 0). */
  launch(queue: string, attempts: number): Promise<void> {
    this.#launching = this.#launch(queue, attempts);
    return this.#launching;
  }

  async #launch(queue: string, attempts: number): Promise<void> {
    const { docker, host } = this.#ctx;
    const say = (line: string) => this.#console.event(line);
    const t0 = Date.now();
    say(`leased from queue ${queue}${attempts > 1 ? ` (attempt ${attempts})` : ''}`);
    this.#workspaceReady = false; // until created and restored; an adopted app's is
    try {
      const image = await ensureImage(docker, this.spec.image, say);
      say(image === 'present' ? `image ${this.spec.image} is on this host` : `image ${this.spec.image} ready`);
      if (this.#hasWorkspace() && this.spec.workspace.path.startsWith('~')) {
        const user = await containerUser(docker, this.spec.image, this.spec.docker.User);
        const path = expandHome(this.spec.workspace.path, homeOf(await readImagePasswd(docker, this.spec.image), user), user);
        say(`workspace ${this.spec.workspace.path} is ${path} for user ${user ?? 'root'}`);
        this.spec = { ...this.spec, workspace: { ...this.spec.workspace, path } };
      }
      if (this.#hasWorkspace()) await ensureVolume(docker, this.id, host).catch((err) => {
        throw new Error(`cannot create the workspace volume ${volumeName(this.id)}: ${engineMessage(err)}`);
      });
      await checkOwnedVolumes(docker, this.spec);
      this.#container = await this.#create(containerOptions(this.id, this.spec, host));
      say(`created container ${containerName(this.id)} (${this.#container.id.slice(0, 12)})${this.#hasWorkspace() ? `, workspace ${this.spec.workspace.path} on volume ${volumeName(this.id)}` : ''}`);
      if (this.#phase !== 'starting') return; // stopped meanwhile: stop() removes it
      const from = this.spec.workspace.restoreFrom;
      if (from && this.#hasWorkspace()) {
        const restore = this.#ctx.api.restoreFor(this.id);
        if (!restore) throw new Error(`restore failed: control names no snapshot of instance ${from} to restore (it has none, or it is another user's)`);
        await restoreWorkspace(this.#workspaceDeps(), this.id, this.#container, this.spec.workspace, restore);
        if (this.#phase !== 'starting') return;
      }
      this.#workspaceReady = true;
      if (this.spec.files.length) {
        const archive = tarFiles(this.spec.files.map((f) => ({ path: f.path.replace(/^\/+/, ''), content: Buffer.from(f.content, 'utf8'), mode: parseInt(f.mode, 8) })));
        await this.#container.putArchive(archive, { path: '/' });
        say(`wrote ${this.spec.files.length} file(s): ${this.spec.files.map((f) => f.path).join(', ')}`);
      }
      // Attached before start, so the app's first lines are not missed.
      const output = await this.#container.attach({ stream: true, stdout: true, stderr: true, logs: true });
      this.#console.followStream(docker, output as unknown as NodeJS.ReadableStream);
      if (this.#phase !== 'starting') return;
      await this.#container.start();
      this.#watchExit();
      say('container started');
      await this.#becomeActive(t0);
    } catch (err) {
      if (this.#phase === 'done' || this.#phase === 'stopping') return;
      const reason = err instanceof Error ? err.message : String(err);
      await this.#fail(reason, { keepContainer: true });
    }
  }

  /**
   * Takes over a container of ours found at start: a running one keeps its route (the
   * endpoint is reported again) and its console, and one still starting goes on to readiness;
   * one that exited meanwhile ends as if it exited now; one only created (the agent died while
   * preparing it) fails, naming that step. With `stopWhy` (stopped or drained while the agent
   * was away, a snapshot upload perhaps cut off), it is stopped as any other: snapshot first.
   */
  async adopt(info: Docker.ContainerInfo, stopWhy?: string): Promise<void> {
    this.#container = this.#ctx.docker.getContainer(info.Id);
    // A container that ever started had its workspace in place; one only created was cut off
    // while being prepared (its restore perhaps half-written): never snapshot that one.
    this.#workspaceReady = info.State !== 'created';
    if (stopWhy !== undefined) {
      this.#console.event('agent restarted: stopping the container, as asked meanwhile');
      return this.stop(stopWhy);
    }
    if (info.State === 'created') {
      return this.#fail('the agent was stopped while preparing the container (create, workspace restore or injected files): it never started', { keepContainer: false });
    }
    this.#console.event('agent restarted: adopting the running container');
    try {
      if (info.State === 'running') {
        await this.#console.follow(this.#ctx.docker, this.#container, Math.floor(Date.now() / 1000));
        this.#watchExit();
        await this.#becomeActive(Date.now());
        return;
      }
      const inspect = await this.#container.inspect();
      this.#exitCode = inspect.State.ExitCode;
      this.#exited = Promise.resolve(this.#exitCode);
      await this.#exitedByItself(this.#exitCode);
    } catch (err) {
      if (this.#phase !== 'done' && this.#phase !== 'stopping') await this.#fail(err instanceof Error ? err.message : String(err), { keepContainer: true });
    }
  }

  /** A stop command: graceful stop, container removed, endpoint gone, `stopped`. Idempotent. */
  stop(why = 'stop requested'): Promise<void> {
    this.#stopping ??= this.#stop(why);
    return this.#stopping;
  }

  /** `wharf snapshot ID`: snapshots the running container's workspace; the outcome is a console line. */
  async snapshotNow(): Promise<SnapshotOutcome | undefined> {
    if (this.#phase !== 'active' || !this.#container || !this.#hasWorkspace() || !this.#workspaceReady) {
      this.#console.event(`snapshot requested, but the app is ${this.#phase}${this.#hasWorkspace() ? '' : ' without a workspace'}: nothing taken`);
      return undefined;
    }
    this.#console.event('snapshot requested: snapshotting the running app\'s workspace');
    const outcome = await this.#snapshot();
    if (!outcome.ok) this.#console.event(`${outcome.reason}; the app keeps running`);
    return outcome;
  }

  /** One snapshot at a time: a stop waits for one on demand, then takes its own. */
  #snapshot(): Promise<SnapshotOutcome> {
    const previous = this.#snapshotting?.catch(() => undefined);
    const next = (async () => {
      await previous;
      return takeSnapshot(this.#workspaceDeps(), this.id, this.#container!, this.spec.workspace);
    })();
    this.#snapshotting = next;
    return next;
  }

  #hasWorkspace(): boolean {
    return this.spec.workspace.path !== '';
  }

  #workspaceDeps() {
    return { docker: this.#ctx.docker, api: this.#ctx.api, say: (line: string) => this.#console.event(line) };
  }

  /** The final snapshot of a stop or an exit; undefined when there is nothing to snapshot. */
  async #finalSnapshot(): Promise<SnapshotOutcome | undefined> {
    if (!this.#container || !this.#hasWorkspace()) return undefined;
    if (!this.#workspaceReady) {
      this.#console.event('no snapshot: the app was stopped before its workspace was set up');
      return undefined;
    }
    // Control or the Docker Engine away (restarting) is no reason to fail a stop: the container
    // and the workspace are still here, so the snapshot is taken again once it answers (up to
    // 10 minutes). An Engine away right as the app exited is one stopping its containers.
    const since = Date.now();
    for (let pause = 2_000; ; pause = Math.min(pause * 2, 30_000)) {
      const outcome = await this.#snapshot();
      if (outcome.ok || !outcome.away || Date.now() + pause > since + FINAL_SNAPSHOT_RETRY_MS[outcome.away]) return outcome;
      if (outcome.away === 'engine') this.#engineNote ??= 'the Docker Engine went away as the app exited (an Engine stopping stops its containers)';
      this.#console.event(`${outcome.reason}; ${outcome.away === 'engine' ? 'the Docker Engine' : 'control'} may be restarting: trying again in ${pause / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, pause).unref());
    }
  }

  /** After the final snapshot is stored: the workspace volume goes. */
  async #removeWorkspace(): Promise<void> {
    if (!this.#hasWorkspace()) return;
    const err = await removeVolume(this.#ctx.docker, this.id);
    if (err) this.#console.event(`could not remove the workspace volume ${volumeName(this.id)}: ${err}`);
    else this.#console.event(`workspace volume ${volumeName(this.id)} removed`);
  }

  /** Control gave the app to no one or someone else: remove the container, report nothing. */
  async abandon(why: string): Promise<void> {
    if (this.#phase === 'done') return;
    this.#phase = 'done';
    this.#ctx.log.warn({ instance: this.id, why }, 'abandoning app');
    this.#console.close();
    await this.#removeContainer();
    this.#finish();
  }

  /** The agent shuts down (SIGTERM): the app keeps running; its console is sent and followed no more. */
  async detach(): Promise<void> {
    await this.#console.flush().catch(() => undefined);
    this.#console.close();
  }

  async #create(options: Docker.ContainerCreateOptions): Promise<Docker.Container> {
    try {
      return await this.#ctx.docker.createContainer(options);
    } catch (err) {
      // A container of an earlier attempt at this same instance holds the name: it goes.
      if ((err as { statusCode?: number }).statusCode !== 409) throw new Error(`cannot create the container: ${engineMessage(err)}`);
      const stale = this.#ctx.docker.getContainer(containerName(this.id));
      const labels = (await stale.inspect()).Config.Labels ?? {};
      if (labels['wharf.instance'] !== this.id) throw new Error(`a container named ${containerName(this.id)} that Wharf does not own exists: remove it`);
      await stale.remove({ force: true });
      this.#console.event('removed the container of an earlier attempt');
      return this.#ctx.docker.createContainer(options);
    }
  }

  #watchExit(): void {
    this.#exited = this.#waitForExit(this.#container!);
    void this.#exited.then((code) => {
      if (this.#phase === 'starting' || this.#phase === 'active') return this.#exitedByItself(code);
    });
  }

  /**
   * The container's exit code, once it exits. The Engine going away (restarted, upgraded) ends
   * the wait without one: the container is inspected once the Engine is back. Still running
   * (the Engine's live-restore), it is followed again; exited (the Engine stopped it on its way
   * down), that is its exit, with the Engine named in the reason; gone, it vanished.
   */
  async #waitForExit(container: Docker.Container): Promise<number> {
    for (;;) {
      // Taken before the wait: an outage from here on settles it. (A wait whose connection the
      // Engine closed is never settled by dockerode: the Engine's event stream tells instead.)
      const lost = this.#ctx.engine?.lost().then(() => new Error('the Engine\'s event stream ended'));
      try {
        const r = await Promise.race([container.wait() as Promise<{ StatusCode?: number }>, ...(lost ? [lost] : [])]);
        if (!(r instanceof Error)) return (this.#exitCode = r.StatusCode ?? -1);
        throw r;
      } catch (err) {
        if (this.#phase === 'done' || this.#phase === 'stopping') return (this.#exitCode = -1);
        this.#ctx.log.warn({ instance: this.id, err: engineMessage(err) }, 'lost the Docker Engine while watching the app; waiting for it');
        const info = await inspectWhenBack(container, () => this.#phase === 'done' || this.#phase === 'stopping');
        if (!info) {
          this.#engineNote = `its container ${containerName(this.id)} vanished while the Docker Engine was away`;
          return (this.#exitCode = -1);
        }
        if (info.State.Running) {
          this.#console.event('the Docker Engine is back and the container survived: following it again');
          await this.#console.follow(this.#ctx.docker, container, Math.floor(Date.now() / 1000)).catch(() => undefined);
          await new Promise((resolve) => setTimeout(resolve, 500).unref()); // an Engine on its way down answers once more
          continue;
        }
        this.#engineNote = 'the Docker Engine stopped it (the Engine went away and came back)';
        return (this.#exitCode = info.State.ExitCode);
      }
    }
  }

  async #becomeActive(t0: number): Promise<void> {
    const port = this.spec.ports[0];
    const container = this.#container!;
    let hostPort: number | undefined;
    if (port) {
      if (usesHostNetwork(this.spec)) hostPort = port.port;
      else hostPort = publishedPort((await container.inspect()).NetworkSettings.Ports as never, port.port);
      if (hostPort === undefined) throw new Error(`Docker published no host port for container port ${port.port}`);
    }
    if (this.spec.readiness.kind !== 'none' && hostPort !== undefined) {
      this.#console.event(`waiting for the app to answer on port ${port!.port} (${this.spec.readiness.kind}, up to ${Math.round(this.#ctx.readinessTimeoutMs / 1000)} s)`);
      const probeHost = usesHostNetwork(this.spec) ? '127.0.0.1' : this.#ctx.host.bind;
      // With host networking the sockets are the host's: not the app's to list in its console.
      const hint = usesHostNetwork(this.spec) ? undefined : watchListening(port!.port, () => listeningSockets(this.#ctx.docker, container), (line) => this.#console.event(line));
      const outcome = await waitReady(this.spec.readiness, probeHost, hostPort, this.#ctx.readinessTimeoutMs, () => this.#exitCode !== undefined || this.#phase !== 'starting', undefined, this.spec.routeHeaders);
      hint?.stop();
      if (outcome === 'exited') return; // #watchExit or stop() reports it
      if (outcome === 'timeout') {
        const seen = hint?.last();
        await this.#fail(`the app did not answer on port ${port!.port} within ${Math.round(this.#ctx.readinessTimeoutMs / 1000)} s (readiness timeout)${seen ? `; ${seen}` : ''}`, { keepContainer: true, stopContainer: true });
        return;
      }
    }
    if (this.#phase !== 'starting') return;
    // The app is up: control away (restarting) only delays the news, it does not fail the app.
    const untilControlAnswers = (report: () => Promise<unknown>) => retryWhileAway(report, {
      giveUp: () => this.#phase !== 'starting',
      onRetry: (err, pause) => this.#console.event(`the app is ready but control cannot be told (${err.message}); trying again in ${pause / 1000} s`),
    });
    if (port && hostPort !== undefined) {
      await untilControlAnswers(() => this.#ctx.api.endpoint(this.id, this.#ctx.endpointHost, hostPort, port.port));
      this.#console.event(`ready in ${Date.now() - t0} ms: endpoint ${this.#ctx.endpointHost}:${hostPort} → container port ${port.port}`);
    } else {
      await untilControlAnswers(() => this.#ctx.api.status(this.id, 'active'));
      this.#console.event(`running after ${Date.now() - t0} ms (no routing)`);
    }
    if (this.#phase === 'starting') this.#phase = 'active';
  }

  async #exitedByItself(code: number): Promise<void> {
    if (this.#phase === 'done' || this.#phase === 'stopping') return;
    this.#phase = 'stopping';
    // An Engine that is stopping stops its containers (SIGTERM, then SIGKILL) before it goes:
    // such an exit is the Engine's doing when the Engine goes away shortly after.
    const engineLeft = this.#ctx.engine?.lost().then(() => true);
    await this.#console.outputEnded();
    this.#console.event(`${this.#engineNote ? `${this.#engineNote}: ` : ''}${code === 0 ? 'the app exited with code 0' : `the app exited with code ${code}`}`);
    if (this.spec.ports.length) await this.#ctx.api.removeEndpoint(this.id).catch(() => undefined);
    // The container stays for inspection (until pruned), and with it its workspace volume.
    const snap = await this.#finalSnapshot();
    if ((code === 137 || code === 143) && engineLeft && !this.#engineNote) {
      const within = new Promise<false>((resolve) => setTimeout(() => resolve(false), ENGINE_LEAVING_MS).unref());
      if (await Promise.race([engineLeft, within])) this.#engineNote = 'the Docker Engine went away as the app exited (an Engine stopping stops its containers)';
    }
    if (snap && !snap.ok) this.#console.event(`${snap.reason}; the container and its workspace volume ${volumeName(this.id)} are kept`);
    await this.#report(async () => {
      if (this.spec.ports.length) await this.#ctx.api.removeEndpoint(this.id);
      await this.#console.flush();
      if (snap && !snap.ok) await this.#ctx.api.status(this.id, 'failed', `${code === 0 ? '' : `${reasonOf(code, this.#console.tail(), this.#engineNote)}; `}${snap.reason}`.slice(0, 2000));
      else if (code === 0) await this.#ctx.api.status(this.id, 'stopped', `${this.#engineNote ? `${this.#engineNote}: ` : ''}exited with code 0`);
      else await this.#ctx.api.status(this.id, 'failed', reasonOf(code, this.#console.tail(), this.#engineNote));
    });
    this.#end();
  }

  async #stop(why: string): Promise<void> {
    if (this.#phase === 'done') return;
    this.#phase = 'stopping';
    // A launch under way ends at its next step (it checks the phase); then the container it made goes.
    await this.#launching?.catch(() => undefined);
    this.#container ??= this.#ctx.docker.getContainer(containerName(this.id));
    const t = this.#ctx.stopTimeoutS;
    this.#console.event(`${why}: stopping the container (SIGTERM, SIGKILL after ${t} s)`);
    if (this.#container) {
      try {
        await this.#container.stop({ t });
      } catch (err) {
        const code = (err as { statusCode?: number }).statusCode;
        if (code !== 304 && code !== 404) this.#console.event(`stop: ${engineMessage(err)}`);
      }
      await this.#console.outputEnded();
      const snap = await this.#finalSnapshot();
      if (snap && !snap.ok) {
        // Nothing is lost: container and volume stay until someone looks.
        this.#console.event(`${snap.reason}; the container and its workspace volume ${volumeName(this.id)} are kept`);
        await this.#report(async () => {
          if (this.spec.ports.length) await this.#ctx.api.removeEndpoint(this.id).catch(() => undefined);
          await this.#console.flush();
          await this.#ctx.api.status(this.id, 'failed', snap.reason);
        });
        this.#end();
        return;
      }
      await this.#removeContainer();
      this.#console.event('container removed');
      if (snap || !this.#workspaceReady) await this.#removeWorkspace();
    }
    await this.#report(async () => {
      if (this.spec.ports.length) await this.#ctx.api.removeEndpoint(this.id);
      await this.#console.flush();
      await this.#ctx.api.status(this.id, 'stopped', why === 'stop requested' ? null : why);
    });
    this.#end();
  }

  async #fail(reason: string, options: { keepContainer: boolean; stopContainer?: boolean }): Promise<void> {
    if (this.#phase === 'done') return;
    this.#phase = 'stopping';
    this.#ctx.log.info({ instance: this.id, reason }, 'app failed');
    if (this.#container && options.stopContainer) await this.#container.stop({ t: 0 }).catch(() => undefined);
    if (this.#container && !options.keepContainer) await this.#removeContainer();
    this.#console.event(`failed: ${reason}`);
    await this.#report(async () => {
      if (this.spec.ports.length) await this.#ctx.api.removeEndpoint(this.id).catch(() => undefined);
      await this.#console.flush();
      await this.#ctx.api.status(this.id, 'failed', reason);
    });
    this.#end();
  }

  /** Runs final reports; a lost lease means control moved on: the container goes too. */
  async #report(reports: () => Promise<void>): Promise<void> {
    try {
      // Control away (restarting): the reports wait for it, or the instance would stay
      // `stopping` or `starting` there for ever.
      await retryWhileAway(reports, { onRetry: (err, pause) => this.#ctx.log.warn({ instance: this.id, err: err.message, retryInMs: pause }, 'control away; reporting again shortly') });
    } catch (err) {
      if (isLeaseLost(err)) {
        await this.#removeContainer();
        return;
      }
      this.#ctx.log.warn({ instance: this.id, err: (err as Error).message }, 'could not report to control');
    }
  }

  async #removeContainer(): Promise<void> {
    if (!this.#container) return;
    try {
      await this.#container.remove({ force: true, v: true });
    } catch (err) {
      if (!isNotFound(err) && (err as { statusCode?: number }).statusCode !== 409) this.#ctx.log.warn({ instance: this.id, err: engineMessage(err) }, 'could not remove container');
    }
  }

  #end(): void {
    this.#phase = 'done';
    this.#ctx.api.forget?.(this.id);
    this.#console.close();
    this.#finish();
  }
}
