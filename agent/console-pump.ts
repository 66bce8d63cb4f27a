import { Writable } from 'node:stream';
import type Docker from 'dockerode';
import type { ConsoleLine } from './control-api.ts';

/*
 * One instance's console on its way to control: the agent's events and the container's
 * stdout and stderr, line by line, in batches. Bounded everywhere: a line is cut at
 * MAX_LINE characters, at most MAX_PENDING lines wait for control (the oldest are dropped and
 * counted), and the last TAIL lines stay here for failure reasons ("exited with code 3: …").
 */

const MAX_LINE = 16_000;
const MAX_PENDING = 5_000;
const BATCH = 500;
const FLUSH_MS = 100;
const TAIL = 20;

export type PostLines = (lines: ConsoleLine[]) => Promise<unknown>;

export class ConsolePump {
  readonly #post: PostLines;
  #pending: ConsoleLine[] = [];
  #dropped = 0;
  #tail: string[] = [];
  #timer: NodeJS.Timeout | undefined;
  #sending: Promise<void> | undefined;
  #closed = false;
  #logs: NodeJS.ReadableStream | undefined;
  #logsEnded: Promise<void> = Promise.resolve();

  constructor(post: PostLines) {
    this.#post = post;
  }

  /** An agent event (image check, create, start, readiness…). */
  event(text: string): void {
    this.#push(text, 'event');
  }

  /** The container's last output lines, oldest first. */
  tail(): string[] {
    return [...this.#tail];
  }

  /** Follows the container's output from `since` (Unix seconds; adoption uses "now" to skip what was sent). */
  async follow(docker: Docker, container: Docker.Container, since = 0): Promise<void> {
    const stream = await container.logs({ follow: true, stdout: true, stderr: true, since });
    this.followStream(docker, stream as unknown as NodeJS.ReadableStream);
  }

  /** Follows a multiplexed output stream of the Engine (attach or logs, no TTY). */
  followStream(docker: Docker, stream: NodeJS.ReadableStream): void {
    this.#logs = stream;
    const out = this.#lineWriter('stdout');
    const err = this.#lineWriter('stderr');
    this.#logsEnded = new Promise((resolve) => {
      stream.once('end', resolve);
      stream.once('close', resolve);
      stream.once('error', resolve);
    }).then(() => {
      out.end();
      err.end();
    });
    docker.modem.demuxStream(stream, out, err);
  }

  /** Waits (at most `ms`) for the followed output to end: the container's last lines are in. */
  async outputEnded(ms = 2_000): Promise<void> {
    await Promise.race([this.#logsEnded, new Promise((r) => setTimeout(r, ms).unref())]);
  }

  /** Sends what is pending; resolves once control has it (or refused it). */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#sending || this.#pending.length || this.#dropped) {
      if (this.#sending) await this.#sending;
      else this.#send();
      if (this.#closed) return;
    }
  }

  /** Stops following and sending; what is pending is dropped. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    (this.#logs as unknown as { destroy?: () => void } | undefined)?.destroy?.();
    this.#pending = [];
  }

  #lineWriter(stream: 'stdout' | 'stderr'): Writable {
    let partial = '';
    return new Writable({
      write: (chunk: Buffer, _enc, done) => {
        const lines = (partial + chunk.toString('utf8')).split('\n');
        partial = lines.pop() ?? '';
        // A line with no newline for MAX_LINE characters is sent in pieces.
        while (partial.length > MAX_LINE) {
          lines.push(partial.slice(0, MAX_LINE));
          partial = partial.slice(MAX_LINE);
        }
        for (const line of lines) this.#push(line.replace(/\r$/, ''), stream);
        done();
      },
      final: (done) => {
        if (partial) this.#push(partial, stream);
        partial = '';
        done();
      },
    });
  }

  #push(text: string, stream: ConsoleLine['stream']): void {
    if (this.#closed) return;
    const line = text.length > MAX_LINE ? `${text.slice(0, MAX_LINE)}…` : text;
    if (stream !== 'event') {
      this.#tail.push(line);
      if (this.#tail.length > TAIL) this.#tail.shift();
    }
    this.#pending.push({ text: line, stream, at: Date.now() });
    if (this.#pending.length > MAX_PENDING) {
      this.#pending.shift();
      this.#dropped++;
    }
    if (this.#pending.length >= BATCH) this.#send();
    else this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      this.#send();
    }, FLUSH_MS);
  }

  #send(): void {
    if (this.#sending || this.#closed) return;
    let batch = this.#pending.splice(0, BATCH);
    if (this.#dropped) {
      batch = [{ text: `[wharf: ${this.#dropped} console lines dropped: control did not keep up]`, stream: 'event', at: Date.now() }, ...batch];
      this.#dropped = 0;
    }
    if (!batch.length) return;
    this.#sending = this.#post(batch).then(
      () => undefined,
      // Control refused or is unreachable: these lines are lost, the next batch goes on.
      () => undefined,
    ).finally(() => {
      this.#sending = undefined;
      if (this.#pending.length && !this.#closed) this.#timer ??= setTimeout(() => {
        this.#timer = undefined;
        this.#send();
      }, FLUSH_MS);
    });
  }
}
