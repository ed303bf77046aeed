// The browser's local copy of one curve: appends the points the publisher sends, detects gaps,
// and re-buckets itself when it grows past a bound.

import { bucketRows, type Rows } from "./downsample";

export interface PointsHeader {
  signal: string;
  start: number;
  n: number;
  downsampled: boolean;
  reset?: boolean;
}

export type ApplyResult = "appended" | "replaced" | "duplicate" | "gap";

function grow(a: Float64Array, need: number): Float64Array {
  if (a.length >= need) return a;
  const b = new Float64Array(Math.max(need, a.length * 2, 64));
  b.set(a);
  return b;
}

export class Series {
  readonly name: string;
  /** Raw points covered by the local copy (the index the next message must start at). */
  covered = 0;
  /** Rows held locally (fewer than `covered` once bucketed). */
  length = 0;
  downsampled = false;
  private cols: Rows = {
    step: new Float64Array(0), mean: new Float64Array(0), min: new Float64Array(0),
    max: new Float64Array(0), weight: new Float64Array(0),
  };

  constructor(name: string) {
    this.name = name;
  }

  /**
   * Apply one `points` message. `reset` replaces the copy (a snapshot); otherwise the message
   * must continue where the copy ends: an overlap is trimmed, a gap is reported ("gap") and
   * nothing changes, so the view can ask for a fresh snapshot.
   */
  apply(h: PointsHeader, arrays: Record<string, Float64Array>): ApplyResult {
    const rows = arrays.step.length;
    const weight = arrays.weight ?? new Float64Array(rows).fill(1);
    if (h.reset) {
      this.length = 0;
      this.covered = h.start;
      this.downsampled = false;
    }
    if (h.start > this.covered) return "gap";
    let skip = 0;
    if (h.start < this.covered) {
      if (h.downsampled || h.start + h.n <= this.covered) return h.start + h.n <= this.covered ? "duplicate" : "gap";
      skip = this.covered - h.start;
    }
    const add = rows - skip;
    const need = this.length + add;
    const c = this.cols;
    c.step = grow(c.step, need); c.mean = grow(c.mean, need); c.min = grow(c.min, need);
    c.max = grow(c.max, need); c.weight = grow(c.weight, need);
    c.step.set(arrays.step.subarray(skip), this.length);
    c.mean.set(arrays.mean.subarray(skip), this.length);
    c.min.set((arrays.min ?? arrays.mean).subarray(skip), this.length);
    c.max.set((arrays.max ?? arrays.mean).subarray(skip), this.length);
    c.weight.set(weight.subarray(skip), this.length);
    this.length = need;
    this.covered = h.start + h.n;
    this.downsampled = this.downsampled || h.downsampled;
    return h.reset ? "replaced" : "appended";
  }

  /** Re-bucket to `target` rows when more than `bound` rows are held; true if it did. */
  compact(bound: number, target: number): boolean {
    if (this.length <= bound) return false;
    const b = bucketRows(this.rows(), target);
    this.cols = {
      step: b.step.slice(), mean: b.mean.slice(), min: b.min.slice(), max: b.max.slice(),
      weight: b.weight.slice(),
    };
    this.length = b.step.length;
    this.downsampled = true;
    return true;
  }

  /** The rows held (views, valid until the next apply/compact). */
  rows(): Rows {
    const n = this.length, c = this.cols;
    return {
      step: c.step.subarray(0, n), mean: c.mean.subarray(0, n), min: c.min.subarray(0, n),
      max: c.max.subarray(0, n), weight: c.weight.subarray(0, n),
    };
  }

  last(): { step: number; mean: number } | null {
    if (this.length === 0) return null;
    return { step: this.cols.step[this.length - 1], mean: this.cols.mean[this.length - 1] };
  }
}
