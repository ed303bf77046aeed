// Min/max bucketing of curve points, the same rule as `bucket_series` in
// weightslab_nb/panels/curves.py: the last point is kept exactly; the points before it fall into
// buckets `width` steps wide (a power of two, aligned to step 0: a bucket is the run of
// consecutive points with the same floor(step / width)), where `width` is the smallest power of
// two (>= the width the rows already have) giving at most `target - 1` buckets. Each bucket is
// one row: its first step, the mean of its means weighted by `meanWeight` (NaN ignored; NaN
// when all are), the true min of the mins and max of the maxes (NaN ignored), `weight` = the
// raw points it stands for, `meanWeight` = those whose mean is a number. Appending points only
// changes the last bucket or doubles `width` (merging whole buckets), so a live copy never
// rewrites its history (lib/series.ts).

export interface Rows {
  step: Float64Array;
  mean: Float64Array;
  min: Float64Array;
  max: Float64Array;
  /** Raw points each row stands for (1 for a raw point). */
  weight: Float64Array;
  /** Raw points with a mean that is a number (the weight of `mean`); `weight` where missing. */
  meanWeight?: Float64Array;
}

export interface Bucketed extends Rows {
  meanWeight: Float64Array;
  /** Bucket width in steps (a power of two; 1 for raw points). */
  width: number;
}

export function rowCount(rows: Rows): number {
  return rows.step.length;
}

/** Buckets among the first `body` rows at width `w` (runs of equal floor(step / w)). */
function runCount(step: ArrayLike<number>, body: number, w: number): number {
  let runs = 0, prev = NaN;
  for (let i = 0; i < body; i++) {
    const k = Math.floor(step[i] / w);
    if (k !== prev) { runs++; prev = k; }
  }
  return runs;
}

/** The width `bucketRows` uses: the smallest power of two >= minWidth giving <= target - 1 buckets. */
export function bucketWidth(step: ArrayLike<number>, target: number, minWidth = 1): number {
  let w = 1;
  while (w < minWidth) w *= 2;
  const body = Math.max(step.length - 1, 0);
  while (runCount(step, body, w) > target - 1) w *= 2;
  return w;
}

/** The mean weight of row i: `meanWeight` when given, else `weight` unless the mean is NaN. */
export function meanWeightAt(rows: Rows, i: number): number {
  if (rows.meanWeight) return rows.meanWeight[i];
  return Number.isNaN(rows.mean[i]) ? 0 : rows.weight[i];
}

/**
 * Reduce `rows` to at most `target` rows (target >= 2) by the rule above. `minWidth`: the width
 * of the buckets `rows` already holds (1 for raw points).
 */
export function bucketRows(rows: Rows, target: number, minWidth = 1): Bucketed {
  if (target < 2) throw new Error("bucketRows: target must be >= 2");
  const n = rows.step.length;
  const width = bucketWidth(rows.step, target, minWidth);
  const body = Math.max(n - 1, 0);
  const nb = runCount(rows.step, body, width);
  const m = n === 0 ? 0 : nb + 1;
  const out: Bucketed = {
    step: new Float64Array(m), mean: new Float64Array(m), min: new Float64Array(m),
    max: new Float64Array(m), weight: new Float64Array(m), meanWeight: new Float64Array(m), width,
  };
  let b = -1, prev = NaN, sum = 0;
  const close = () => {
    if (b >= 0) out.mean[b] = out.meanWeight[b] > 0 ? sum / out.meanWeight[b] : NaN;
  };
  for (let i = 0; i < body; i++) {
    const k = Math.floor(rows.step[i] / width);
    if (k !== prev) {
      close();
      b++; prev = k; sum = 0;
      out.step[b] = rows.step[i];
      out.min[b] = NaN; out.max[b] = NaN;
    }
    const mw = meanWeightAt(rows, i);
    if (mw > 0) { sum += rows.mean[i] * mw; out.meanWeight[b] += mw; }
    out.weight[b] += rows.weight[i];
    const lo = rows.min[i], hi = rows.max[i];
    if (!(lo >= out.min[b])) out.min[b] = Number.isNaN(lo) ? out.min[b] : lo;
    if (!(hi <= out.max[b])) out.max[b] = Number.isNaN(hi) ? out.max[b] : hi;
  }
  close();
  if (n > 0) {
    out.step[nb] = rows.step[body]; out.mean[nb] = rows.mean[body];
    out.min[nb] = rows.min[body]; out.max[nb] = rows.max[body];
    out.weight[nb] = rows.weight[body]; out.meanWeight[nb] = meanWeightAt(rows, body);
  }
  return out;
}

/**
 * Exponential moving average with TensorBoard's debiasing; `smoothing` in [0, 1).
 * NaN inputs repeat the previous smoothed value (NaN before the first finite value).
 */
export function ema(values: ArrayLike<number>, smoothing: number): Float64Array {
  const out = new Float64Array(values.length);
  const s = Math.min(Math.max(smoothing, 0), 0.999);
  let acc = 0, norm = 0, prev = NaN;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isFinite(v)) {
      acc = acc * s + (1 - s) * v;
      norm = norm * s + (1 - s);
      prev = acc / norm;
    }
    out[i] = prev;
  }
  return out;
}
