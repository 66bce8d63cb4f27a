import { Writable } from 'node:stream';
import type Docker from 'dockerode';
import { ControlApiError, type ConsoleLine } from './control-api.ts';

/*
 * One instance's console on its way to control: the agent's events and the container's
 * stdout and stderr, line by line, in batches. Bounded everywhere: a line is cut at
 * MAX_LINE characters, at most MAX_PENDING lines wait for control (the oldest are dropped and
 * counted), and the last TAIL lines stay here for failure reasons ("exited with code 3: …").
 * While control cannot be reached the lines wait, within that bound, and go when it is back
 * (tried again after a growing pause); a batch control refuses (4xx) is let go.
 */

const MAX_LINE = 16_000;
// Below the 5,000 lines control keeps per instance, so that the note of what was dropped
// (sent first) is still among them once the rest has come.
const MAX_PENDING = 4_000;
const RETRY_MS = { first: 250, max: 5_000 };
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
  /** The last send found control unreachable; the next try waits #retryMs. */
  #unreachable = false;
  #retryMs = RETRY_MS.first;
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

  /** Sends what is pending; resolves once control has it (or refused it), or could not be reached (the lines wait). */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#sending || this.#pending.length || this.#dropped) {
      if (this.#sending) await this.#sending;
      else this.#send();
      if (this.#closed || (this.#unreachable && !this.#sending)) return;
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
    this.#bound();
    if (this.#unreachable) this.#later(this.#retryMs); // control is away: no try per line
    else if (this.#pending.length >= BATCH) this.#send();
    else this.#later(FLUSH_MS);
  }

  /** Drops the oldest lines beyond MAX_PENDING, counting them. */
  #bound(): void {
    const over = this.#pending.length - MAX_PENDING;
    if (over <= 0) return;
    this.#pending.splice(0, over);
    this.#dropped += over;
  }

  #later(ms: number): void {
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      this.#send();
    }, ms);
  }

  #send(): void {
    if (this.#sending || this.#closed) return;
    const dropped = this.#dropped;
    const lines = this.#pending.splice(0, BATCH);
    const batch = dropped ? [{ text: `[wharf: ${dropped} console lines dropped: control did not keep up]`, stream: 'event' as const, at: Date.now() }, ...lines] : lines;
    this.#dropped = 0;
    if (!batch.length) return;
    this.#unreachable = false;
    this.#sending = this.#post(batch).then(
      () => {
        this.#retryMs = RETRY_MS.first;
      },
      (err: unknown) => {
        // Refused (the instance is gone, the lease moved on): these lines are let go.
        if (err instanceof ControlApiError && err.status < 500) return;
        // Unreachable, or failing: the lines wait for the next try, within the bound.
        this.#pending = [...lines, ...this.#pending];
        this.#dropped += dropped;
        this.#bound();
        this.#unreachable = true;
        this.#retryMs = Math.min(RETRY_MS.max, this.#retryMs * 2);
      },
    ).finally(() => {
      this.#sending = undefined;
      if ((this.#pending.length || this.#dropped) && !this.#closed) this.#later(this.#unreachable ? this.#retryMs : FLUSH_MS);
    });
  }
}
