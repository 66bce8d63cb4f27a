/** Nearest-rank percentile of samples (sorted in place). */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** A growable list of samples, kept unboxed so that a long run does not churn the GC. */
export class Samples {
  #data = new Float64Array(1 << 16);
  #n = 0;

  add(value: number): void {
    if (this.#n === this.#data.length) {
      const bigger = new Float64Array(this.#data.length * 2);
      bigger.set(this.#data);
      this.#data = bigger;
    }
    this.#data[this.#n++] = value;
  }

  get count(): number {
    return this.#n;
  }

  sorted(): Float64Array {
    return this.#data.slice(0, this.#n).sort();
  }
}
