// Min/max bucketing of curve points, the same rule as weightslab_nb/panels/curves.py:
// the last point is kept exactly; the others fall into equal buckets of consecutive points, each
// becoming one row (first step of the bucket, weighted mean of the means, min of the mins, max of
// the maxes, weight = number of raw points). NaNs are ignored; an all-NaN bucket gives NaN.

export interface Rows {
  step: Float64Array;
  mean: Float64Array;
  min: Float64Array;
  max: Float64Array;
  /** Raw points each row stands for (1 for a raw point). */
  weight: Float64Array;
}

export function rowCount(rows: Rows): number {
  return rows.step.length;
}

/** Reduce `rows` to at most `target` rows (target >= 2); returns the input when already small. */
export function bucketRows(rows: Rows, target: number): Rows {
  const n = rows.step.length;
  if (target < 2) throw new Error("bucketRows: target must be >= 2");
  if (n <= target) return rows;
  const body = n - 1;
  const size = Math.ceil(body / (target - 1));
  const nb = Math.ceil(body / size);
  const out: Rows = {
    step: new Float64Array(nb + 1),
    mean: new Float64Array(nb + 1),
    min: new Float64Array(nb + 1),
    max: new Float64Array(nb + 1),
    weight: new Float64Array(nb + 1),
  };
  for (let b = 0; b < nb; b++) {
    const i0 = b * size;
    const i1 = Math.min(i0 + size, body);
    let sum = 0, wsum = 0, w = 0, lo = Infinity, hi = -Infinity;
    for (let i = i0; i < i1; i++) {
      const wi = rows.weight[i];
      w += wi;
      const m = rows.mean[i];
      if (!Number.isNaN(m)) { sum += m * wi; wsum += wi; }
      if (rows.min[i] < lo) lo = rows.min[i];
      if (rows.max[i] > hi) hi = rows.max[i];
    }
    out.step[b] = rows.step[i0];
    out.mean[b] = wsum > 0 ? sum / wsum : NaN;
    out.min[b] = lo === Infinity ? NaN : lo;
    out.max[b] = hi === -Infinity ? NaN : hi;
    out.weight[b] = w;
  }
  out.step[nb] = rows.step[body];
  out.mean[nb] = rows.mean[body];
  out.min[nb] = rows.min[body];
  out.max[nb] = rows.max[body];
  out.weight[nb] = rows.weight[body];
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
