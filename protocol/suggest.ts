/*
 * "Did you mean …?" for a misspelt field name: the closest known name by Damerau–Levenshtein
 * distance (the optimal string alignment variant: insertions, deletions, substitutions and
 * swaps of two neighbours, each costing 1), compared without regard to case.
 */

/** Edits between `a` and `b`: one per inserted, deleted or changed character, or swapped neighbours. */
export function editDistance(a: string, b: string): number {
  // d[i][j]: edits between the first i characters of a and the first j of b.
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * The known name closest to `name`, or undefined when none is close: at most 2 edits, or 1 when
 * either name has 4 characters or fewer (two edits lead from a short name to unrelated ones:
 * `ram` is two from `name`). Ties go to the earlier known name.
 */
export function suggest(name: string, known: Iterable<string>): string | undefined {
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    if (candidate === name) continue;
    const limit = Math.min(lower.length, candidate.length) <= 4 ? 1 : 2;
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance <= limit && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}
