import type Docker from 'dockerode';
import type { Logger } from 'pino';

const RETRY_MS = { first: 500, max: 5_000 };

/**
 * Tells when the Docker Engine goes away (stopped, restarted, upgraded). A waiting request of
 * dockerode's (`container.wait()`) is never settled when the Engine closes its connection: an
 * app whose Engine restarted with live-restore would be watched by nothing. The Engine's event
 * stream does end then, so one stream, kept open and opened again with a growing pause, is the
 * signal: `lost()` settles when the Engine goes away (each outage settles the promise taken
 * before it).
 */
export class EngineWatch {
  readonly #docker: Docker;
  readonly #log: Logger;
  #lost = deferred();
  #stream: NodeJS.ReadableStream | undefined;
  #closed = false;

  constructor(docker: Docker, log: Logger) {
    this.#docker = docker;
    this.#log = log;
  }

  /** Opens the stream; resolves once it is open (or the first try failed and retries began). */
  async start(): Promise<void> {
    await this.#open(false);
  }

  /** Settles when the Engine next goes away. */
  lost(): Promise<void> {
    return this.#lost.promise;
  }

  close(): void {
    this.#closed = true;
    (this.#stream as unknown as { destroy?: () => void } | undefined)?.destroy?.();
  }

  async #open(after: boolean): Promise<void> {
    for (let pause = RETRY_MS.first; !this.#closed; pause = Math.min(pause * 2, RETRY_MS.max)) {
      try {
        // Daemon events are rare (a reload): an idle stream that only ends with the Engine.
        const stream = (await this.#docker.getEvents({ filters: { type: ['daemon'] } })) as unknown as NodeJS.ReadableStream;
        this.#stream = stream;
        let ended = false;
        const end = () => {
          if (ended || this.#closed) return;
          ended = true;
          this.#log.warn('lost the Docker Engine (its event stream ended); watching for it to come back');
          const lost = this.#lost;
          this.#lost = deferred();
          lost.resolve();
          void this.#open(true);
        };
        stream.on('data', () => {});
        stream.once('end', end);
        stream.once('close', end);
        stream.once('error', end);
        if (after) this.#log.info('the Docker Engine answers again');
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, pause).unref());
      }
    }
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
