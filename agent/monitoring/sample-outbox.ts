import type { Logger } from 'pino';
import type { ResourceSampleReport } from '../../protocol/resource-sample.ts';
import { controlAway } from '../control-api.ts';

/** Samples kept while control is away: at a 5 s interval, 20 apps for about 8 minutes. */
export const MAX_WAITING = 2_000;
const RETRY_MS = { first: 1_000, max: 30_000 };

export interface SampleOutboxOptions {
  /** Sends one sample to control (AgentControlApi.samples). */
  report: (instance: string, sample: ResourceSampleReport) => Promise<unknown>;
  log: Logger;
  /** Told how many wait and how many were dropped, after every change (the agent's /metrics). */
  onChange?: (waiting: number, droppedTotal: number) => void;
}

/**
 * Resource samples on their way to control. While control is away (restarting, its host
 * rebooting), samples wait here, oldest first, up to MAX_WAITING; past that the oldest are
 * dropped and counted. When control answers again they are sent in order, each with the time
 * it was taken (`at`), so the history has no gap. A sample control refuses (the app ended,
 * its lease moved) is dropped quietly, as before: routine, not an outage.
 */
export class SampleOutbox {
  readonly #o: SampleOutboxOptions;
  #waiting: { instance: string; sample: ResourceSampleReport }[] = [];
  #dropped = 0;
  #droppedThisOutage = 0;
  #flushing: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #retryMs = RETRY_MS.first;
  #closed = false;

  constructor(options: SampleOutboxOptions) {
    this.#o = options;
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  get dropped(): number {
    return this.#dropped;
  }

  /** Sends the sample, or keeps it while control is away; never throws. */
  async send(instance: string, sample: ResourceSampleReport): Promise<void> {
    if (this.#waiting.length || this.#flushing) {
      this.#keep(instance, sample);
      return;
    }
    try {
      await this.#o.report(instance, sample);
    } catch (err) {
      if (controlAway(err)) {
        this.#keep(instance, sample);
        this.#later();
      } else this.#o.log.debug({ instance, err: (err as Error).message }, 'resource sample refused');
    }
  }

  /** Stops retrying; what waits is dropped (the process is ending). */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }

  #keep(instance: string, sample: ResourceSampleReport): void {
    this.#waiting.push({ instance, sample });
    if (this.#waiting.length > MAX_WAITING) {
      this.#waiting.shift();
      this.#dropped++;
      this.#droppedThisOutage++;
    }
    this.#o.onChange?.(this.#waiting.length, this.#dropped);
  }

  #later(): void {
    if (this.#timer || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#flushing = this.#flush().finally(() => (this.#flushing = undefined));
    }, this.#retryMs);
    this.#timer.unref();
  }

  async #flush(): Promise<void> {
    while (this.#waiting.length && !this.#closed) {
      const { instance, sample } = this.#waiting[0];
      try {
        await this.#o.report(instance, sample);
      } catch (err) {
        if (controlAway(err)) {
          this.#retryMs = Math.min(this.#retryMs * 2, RETRY_MS.max);
          this.#later();
          return;
        }
        this.#o.log.debug({ instance, err: (err as Error).message }, 'resource sample refused');
      }
      this.#waiting.shift();
      this.#o.onChange?.(this.#waiting.length, this.#dropped);
    }
    this.#retryMs = RETRY_MS.first;
    if (this.#droppedThisOutage) {
      this.#o.log.warn({ dropped: this.#droppedThisOutage, kept: MAX_WAITING }, 'resource samples dropped while control was away (the newest were kept and sent)');
      this.#droppedThisOutage = 0;
    }
  }
}
