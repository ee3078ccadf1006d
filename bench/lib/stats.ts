// Order statistics of a sample: the median and the 10th/90th percentiles (linear interpolation
// between closest ranks), which say more about start-up times than a mean does.

export interface Summary {
  n: number;
  median: number;
  p10: number;
  p90: number;
}

export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function summarize(xs: number[]): Summary {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, median: quantile(s, 0.5), p10: quantile(s, 0.1), p90: quantile(s, 0.9) };
}

/** The sample minus a constant (crun net of its wrapper's median), never below zero. */
export function minus(s: Summary, c: number): Summary {
  const f = (x: number) => Math.max(0, x - c);
  return { n: s.n, median: f(s.median), p10: f(s.p10), p90: f(s.p90) };
}
