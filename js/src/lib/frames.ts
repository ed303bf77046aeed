// Frame times of the curves: the last `capacity` durations (ms) of a redraw (data preparation
// plus uPlot's draw), and their percentiles, exposed by the view as data attributes.

export class FrameTimes {
  private ring: Float64Array;
  private next = 0;
  /** Frames measured since the start (or the last `clear`). */
  count = 0;

  constructor(readonly capacity = 240) {
    this.ring = new Float64Array(capacity);
  }

  add(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    this.ring[this.next] = ms;
    this.next = (this.next + 1) % this.capacity;
    this.count += 1;
  }

  /** The q-quantile (0..1, nearest rank) of the durations kept; NaN before any frame. */
  percentile(q: number): number {
    const n = Math.min(this.count, this.capacity);
    if (n === 0) return NaN;
    const sorted = Array.from(this.ring.subarray(0, n)).sort((a, b) => a - b);
    const rank = Math.ceil(Math.min(Math.max(q, 0), 1) * n) - 1;
    return sorted[Math.max(0, rank)];
  }

  /** The durations kept, oldest first. */
  recent(): number[] {
    const n = Math.min(this.count, this.capacity);
    const start = this.count > this.capacity ? this.next : 0;
    return Array.from({ length: n }, (_, i) => this.ring[(start + i) % this.capacity]);
  }

  clear(): void {
    this.count = 0;
    this.next = 0;
  }
}
