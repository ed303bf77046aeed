// The browser's local copy of one curve: appends the points the publisher sends, detects gaps,
// and folds them into buckets by the rule of lib/downsample.ts (`bucket_series` in
// weightslab_nb/panels/curves.py): its rows always equal `bucketRows(every point received,
// target)`, so the copy holds at most `target` rows at any length, each bucket with the true
// min/max and weighted mean of its points, and an append only changes the last bucket (or
// doubles the width, merging pairs of whole buckets).

import { meanWeightAt, type Rows } from "./downsample";

export interface PointsHeader {
  signal: string;
  start: number;
  n: number;
  downsampled: boolean;
  /** Bucket width (steps) of a downsampled snapshot; 1 when missing. */
  width?: number;
  reset?: boolean;
}

export type ApplyResult = "appended" | "replaced" | "duplicate" | "gap";

type Cols = Required<Rows> & { sum: Float64Array };

function grow(a: Float64Array, need: number): Float64Array {
  if (a.length >= need) return a;
  const b = new Float64Array(Math.max(need, a.length * 2, 64));
  b.set(a);
  return b;
}

function emptyCols(): Cols {
  const z = () => new Float64Array(0);
  return { step: z(), mean: z(), min: z(), max: z(), weight: z(), meanWeight: z(), sum: z() };
}

export class Series {
  readonly name: string;
  /** Raw points covered by the local copy (the index the next message must start at). */
  covered = 0;
  /** Rows held locally: the buckets plus the exact last point. */
  length = 0;
  downsampled = false;
  /** Bucket width in steps (a power of two; only ever doubles until the next snapshot). */
  width = 1;
  /** Most rows held (the panel's `max_points`). */
  target: number;
  private cols: Cols = emptyCols();

  constructor(name: string, target = 4000) {
    if (!(target >= 2)) throw new Error("Series: target must be >= 2");
    this.name = name;
    this.target = target;
  }

  /**
   * Apply one `points` message. `reset` replaces the copy (a snapshot: raw points, or the rows
   * of `bucket_series` with `width`); otherwise the message must continue where the copy ends:
   * an overlap is trimmed, a gap is reported ("gap") and nothing changes, so the view can ask
   * for a fresh snapshot.
   */
  apply(h: PointsHeader, arrays: Record<string, Float64Array>): ApplyResult {
    const rows = arrays.step.length;
    if (h.reset) {
      this.length = 0;
      this.covered = h.start;
      this.downsampled = false;
      this.width = 1;
      this.cols = emptyCols();
    }
    if (h.start > this.covered) return "gap";
    let skip = 0;
    if (h.start < this.covered) {
      if (h.downsampled || h.start + h.n <= this.covered) return h.start + h.n <= this.covered ? "duplicate" : "gap";
      skip = this.covered - h.start;
    }
    const src: Rows = {
      step: arrays.step, mean: arrays.mean, min: arrays.min ?? arrays.mean, max: arrays.max ?? arrays.mean,
      weight: arrays.weight ?? new Float64Array(rows).fill(1), meanWeight: arrays.mean_weight,
    };
    if (h.reset && h.downsampled) {
      // rows of bucket_series: already buckets of `width` plus the exact last point
      this.width = Math.max(1, h.width ?? 1);
      this.load(src);
    } else {
      for (let i = skip; i < rows; i++) this.push(src, i);
    }
    this.fit();
    this.covered = h.start + h.n;
    this.downsampled = this.downsampled || h.downsampled || this.width > 1;
    return h.reset ? "replaced" : "appended";
  }

  /** Row `i` of `src` as it is (a bucket of the current width, or the last point). */
  private put(at: number, src: Rows, i: number): void {
    const c = this.cols;
    const need = at + 1;
    if (c.step.length < need) {
      for (const k of ["step", "mean", "min", "max", "weight", "meanWeight", "sum"] as const) c[k] = grow(c[k], need);
    }
    const mw = meanWeightAt(src, i);
    c.step[at] = src.step[i]; c.mean[at] = src.mean[i];
    c.min[at] = src.min[i]; c.max[at] = src.max[i];
    c.weight[at] = src.weight[i]; c.meanWeight[at] = mw;
    c.sum[at] = mw > 0 ? src.mean[i] * mw : 0;
  }

  private load(src: Rows): void {
    for (let i = 0; i < src.step.length; i++) this.put(i, src, i);
    this.length = src.step.length;
  }

  /** Merge row `i` into row `into` (both buckets of the same key at the current width). */
  private merge(into: number, i: number): void {
    const c = this.cols;
    c.sum[into] += c.sum[i];
    c.meanWeight[into] += c.meanWeight[i];
    c.weight[into] += c.weight[i];
    c.mean[into] = c.meanWeight[into] > 0 ? c.sum[into] / c.meanWeight[into] : NaN;
    const lo = c.min[i], hi = c.max[i];
    if (!(lo >= c.min[into]) && !Number.isNaN(lo)) c.min[into] = lo;
    if (!(hi <= c.max[into]) && !Number.isNaN(hi)) c.max[into] = hi;
  }

  private key(i: number): number {
    return Math.floor(this.cols.step[i] / this.width);
  }

  /** Append raw row `i` of `src`: the previous last point joins the buckets. */
  private push(src: Rows, i: number): void {
    const last = this.length - 1;
    if (last >= 0 && last >= 1 && this.key(last - 1) === this.key(last)) {
      this.merge(last - 1, last);
      this.put(last, src, i); // the new exact last point
      return;
    }
    this.put(this.length, src, i);
    this.length += 1;
  }

  /** Double the width (merging whole buckets) until at most `target - 1` buckets remain. */
  private fit(): void {
    while (this.length - 1 > this.target - 1) {
      this.width *= 2;
      const nb = this.length - 1;
      let j = 0;
      for (let i = 1; i < nb; i++) {
        if (this.key(i) === this.key(j)) this.merge(j, i);
        else { j++; if (j !== i) this.copyRow(j, i); }
      }
      j++; // first free slot: the last point goes there
      this.copyRow(j, nb);
      this.length = j + 1;
    }
  }

  private copyRow(to: number, from: number): void {
    const c = this.cols;
    for (const k of ["step", "mean", "min", "max", "weight", "meanWeight", "sum"] as const) c[k][to] = c[k][from];
  }

  /** The rows held (views, valid until the next apply). */
  rows(): Required<Rows> {
    const n = this.length, c = this.cols;
    return {
      step: c.step.subarray(0, n), mean: c.mean.subarray(0, n), min: c.min.subarray(0, n),
      max: c.max.subarray(0, n), weight: c.weight.subarray(0, n), meanWeight: c.meanWeight.subarray(0, n),
    };
  }

  last(): { step: number; mean: number } | null {
    if (this.length === 0) return null;
    return { step: this.cols.step[this.length - 1], mean: this.cols.mean[this.length - 1] };
  }
}
