/** Small statistics for drill reports: quantiles of samples and of Prometheus histograms (pure). */

export interface Summary {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

/** Nearest-rank quantile of ascending-sorted values. */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1]!;
}

export function summarize(values: number[]): Summary | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  return { count: s.length, p50: quantile(s, 0.5), p99: quantile(s, 0.99), max: s[s.length - 1]! };
}

/** Cumulative buckets of one histogram: upper bound (seconds; Infinity for +Inf) → count. */
export interface Histogram {
  buckets: [number, number][];
  count: number;
  sum: number;
}

function labels(raw: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of raw.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) out[m[1]!] = m[2]!;
  return out;
}

/**
 * Reads histogram `name` from Prometheus text exposition, summed over every label set except
 * `le` (one gateway exposes one series; this also tolerates extra labels).
 */
export function parseHistogram(text: string, name: string): Histogram | null {
  const byLe = new Map<number, number>();
  let count = 0;
  let sum = 0;
  let seen = false;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || line.startsWith('#')) continue;
    const m = /^(\w+)(?:\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const value = Number(m[3]);
    if (!Number.isFinite(value)) continue;
    if (m[1] === `${name}_bucket`) {
      const le = labels(m[2] ?? '').le;
      if (le === undefined) continue;
      const bound = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
      byLe.set(bound, (byLe.get(bound) ?? 0) + value);
      seen = true;
    } else if (m[1] === `${name}_count`) {
      count += value;
      seen = true;
    } else if (m[1] === `${name}_sum`) {
      sum += value;
    }
  }
  if (!seen) return null;
  return { buckets: [...byLe.entries()].sort((a, b) => a[0] - b[0]), count, sum };
}

/** after − before, bucket by bucket (counters); a reset (after < before) counts `after` whole. */
export function histogramDelta(after: Histogram, before: Histogram | null): Histogram {
  if (!before || after.count < before.count) return after;
  const prev = new Map(before.buckets);
  return {
    buckets: after.buckets.map(([le, n]) => [le, Math.max(0, n - (prev.get(le) ?? 0))]),
    count: after.count - before.count,
    sum: after.sum - before.sum,
  };
}

/** Adds histograms with the same bucket layout. */
export function histogramSum(hs: Histogram[]): Histogram | null {
  if (hs.length === 0) return null;
  const byLe = new Map<number, number>();
  let count = 0;
  let sum = 0;
  for (const h of hs) {
    for (const [le, n] of h.buckets) byLe.set(le, (byLe.get(le) ?? 0) + n);
    count += h.count;
    sum += h.sum;
  }
  return { buckets: [...byLe.entries()].sort((a, b) => a[0] - b[0]), count, sum };
}

/** Prometheus histogram_quantile: linear interpolation inside the bucket holding the rank. */
export function histogramQuantile(h: Histogram, q: number): number {
  if (h.count === 0) return Number.NaN;
  const rank = q * h.count;
  let prevLe = 0;
  let prevN = 0;
  for (const [le, n] of h.buckets) {
    if (n >= rank) {
      if (le === Number.POSITIVE_INFINITY) return prevLe;
      if (n === prevN) return le;
      return prevLe + ((le - prevLe) * (rank - prevN)) / (n - prevN);
    }
    prevLe = le;
    prevN = n;
  }
  return prevLe;
}

/** Upper bound of the highest non-empty bucket: the best "max" a histogram can give. */
export function histogramMaxBound(h: Histogram): number {
  let prevN = 0;
  let bound = 0;
  for (const [le, n] of h.buckets) {
    if (n > prevN) bound = le;
    prevN = n;
  }
  return bound;
}
