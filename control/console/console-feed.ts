/*
 * In-process pub/sub of console appends: the agent console endpoint calls `notify` after a
 * store append; followers (`GET /instances/:id/console?follow=1`) subscribe per instance and
 * read the new lines from the store themselves, so a notification carries only the last seq.
 * One control process holds every follower; a second control would need the store to notify.
 */

export type ConsoleListener = (seq: number) => void;

export class ConsoleFeed {
  readonly #listeners = new Map<string, Set<ConsoleListener>>();

  /** Calls `listener` after each append to `instance`; returns the unsubscribe function. */
  subscribe(instance: string, listener: ConsoleListener): () => void {
    let set = this.#listeners.get(instance);
    if (!set) this.#listeners.set(instance, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.#listeners.get(instance) === set) this.#listeners.delete(instance);
    };
  }

  notify(instance: string, seq: number): void {
    const set = this.#listeners.get(instance);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        listener(seq);
      } catch { /* a follower's failure is its own */ }
    }
  }

  /** Followers of all instances together (for tests and metrics). */
  get followers(): number {
    let n = 0;
    for (const set of this.#listeners.values()) n += set.size;
    return n;
  }
}
