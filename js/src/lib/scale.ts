// Axis extents, "nice" ticks and the linear/log mapping used by the curves canvas.

/** Finite [lo, hi] over arrays (log: only values > 0); null when there is none. */
export function extent(arrays: ArrayLike<number>[], log = false): [number, number] | null {
  let lo = Infinity, hi = -Infinity;
  for (const a of arrays) {
    for (let i = 0; i < a.length; i++) {
      const v = a[i];
      if (!Number.isFinite(v) || (log && v <= 0)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return lo === Infinity ? null : [lo, hi];
}

/** Widen a degenerate or tight range a little so lines do not sit on the border. */
export function pad([lo, hi]: [number, number], log = false, frac = 0.05): [number, number] {
  if (log) {
    const a = Math.log10(lo), b = Math.log10(hi);
    const d = b - a || 1;
    return [10 ** (a - d * frac), 10 ** (b + d * frac)];
  }
  if (hi === lo) {
    const d = Math.abs(lo) * 0.1 || 1;
    return [lo - d, hi + d];
  }
  const d = (hi - lo) * frac;
  return [lo - d, hi + d];
}

/** About `count` round tick values covering [lo, hi] (steps of 1, 2 or 5 times a power of 10). */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || count < 1) return [];
  if (hi < lo) [lo, hi] = [hi, lo];
  if (hi === lo) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const r = raw / mag;
  const step = (r < 1.5 ? 1 : r < 3 ? 2 : r < 7 ? 5 : 10) * mag;
  const first = Math.ceil(lo / step - 1e-9);
  const out: number[] = [];
  for (let k = first; k * step <= hi + step * 1e-9; k++) {
    out.push(+(k * step).toPrecision(12));
  }
  return out;
}

/** Powers of ten within [lo, hi] (for a log axis), or nice linear ticks when fewer than 2. */
export function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.ceil(Math.log10(lo) - 1e-9); e <= Math.floor(Math.log10(hi) + 1e-9); e++) out.push(10 ** e);
  return out.length >= 2 ? out : niceTicks(lo, hi, 4).filter((t) => t > 0);
}

/** Map data values to pixels; a log scale maps log10(v) and gives NaN for v <= 0. */
export function makeScale(domain: [number, number], range: [number, number], log = false): (v: number) => number {
  const f = log ? (v: number) => (v > 0 ? Math.log10(v) : NaN) : (v: number) => v;
  const d0 = f(domain[0]), d1 = f(domain[1]);
  const k = d1 === d0 ? 0 : (range[1] - range[0]) / (d1 - d0);
  return (v: number) => range[0] + (f(v) - d0) * k;
}

/** Index of the row whose step is nearest to `x` in a sorted array (-1 when empty). */
export function nearestIndex(steps: ArrayLike<number>, x: number): number {
  const n = steps.length;
  if (n === 0) return -1;
  let lo = 0, hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (steps[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  if (lo > 0 && Math.abs(steps[lo - 1] - x) <= Math.abs(steps[lo] - x)) return lo - 1;
  return lo;
}

/** The q-quantile (0..1, lower nearest rank) of the finite values (log: only values > 0); NaN when none. */
export function quantile(arrays: ArrayLike<number>[], q: number, log = false): number {
  const vals: number[] = [];
  for (const a of arrays) {
    for (let i = 0; i < a.length; i++) {
      const v = a[i];
      if (Number.isFinite(v) && !(log && v <= 0)) vals.push(v);
    }
  }
  if (vals.length === 0) return NaN;
  vals.sort((x, y) => x - y);
  return vals[Math.min(vals.length - 1, Math.max(0, Math.floor(q * (vals.length - 1) + 1e-9)))];
}

export interface CurveRows {
  mean: ArrayLike<number>;
  min: ArrayLike<number>;
  max: ArrayLike<number>;
}

export interface RangeOptions {
  /** The min/max band is drawn. */
  band: boolean;
  /** Fit the whole band ("fit band"); otherwise its 1st-99th percentile (`clip`). */
  fitBand?: boolean;
  log?: boolean;
  /** Quantile of the band kept by default (0.01: mins down to their 1st, maxes up to their 99th percentile). */
  clip?: number;
  /** Other values that must be in range (evaluation markers). */
  extra?: ArrayLike<number>[];
}

/**
 * The default y extent of the curves: every mean line (and `extra`) always; the band only up to
 * its 1st (mins) / 99th (maxes) percentile, so a few huge per-sample maxima do not squash the
 * mean into a flat line; with `fitBand` the whole band. Null when nothing is finite.
 */
export function curveRange(rows: CurveRows[], opts: RangeOptions): [number, number] | null {
  const log = opts.log ?? false;
  const base = extent([...rows.map((r) => r.mean), ...(opts.extra ?? [])], log);
  if (!opts.band) return base;
  const mins = rows.map((r) => r.min), maxs = rows.map((r) => r.max);
  if (opts.fitBand) return extent([...(base ? [base] : []), ...mins, ...maxs], log);
  const clip = opts.clip ?? 0.01;
  const lo = quantile(mins, clip, log), hi = quantile(maxs, 1 - clip, log);
  const parts: number[] = [...(base ?? []), lo, hi].filter((v) => Number.isFinite(v));
  return parts.length ? [Math.min(...parts), Math.max(...parts)] : null;
}
