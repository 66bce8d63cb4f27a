/**
 * Remembers the `jti` of one-time link tokens until they expire, so that a link used twice
 * is refused. Entries leave once their token could no longer be accepted anyway.
 */
export class OneTimeLinks {
  readonly #used = new Map<string, number>(); // jti → expiry, Unix ms
  readonly #max: number;

  constructor(max = 100_000) {
    this.#max = max;
  }

  /** Marks `jti` used; false when it was used before (or the table is full of live links). */
  claim(jti: string, expMs: number, nowMs = Date.now()): boolean {
    if (this.#used.has(jti)) return false;
    if (this.#used.size >= this.#max) this.sweep(nowMs);
    if (this.#used.size >= this.#max) return false;
    this.#used.set(jti, expMs);
    return true;
  }

  sweep(nowMs = Date.now()): void {
    for (const [jti, exp] of this.#used) if (exp <= nowMs) this.#used.delete(jti);
  }

  get size(): number {
    return this.#used.size;
  }
}
