// Zooming the curves on x: the step range a drag selects, and which reply of Python's finer
// series (`range` messages, see weightslab_nb/panels/curves.py) belongs to the current zoom.

/** The whole steps [lo, hi] a selection from data x `a` to `b` covers (lo >= 0); null when it
 * covers less than one step or is not finite. */
export function selectionSteps(a: number, b: number): [number, number] | null {
  if (!Number.isFinite(a) || !Number.isFinite(b)) return null;
  const lo = Math.max(0, Math.floor(Math.min(a, b)));
  const hi = Math.ceil(Math.max(a, b));
  return hi - lo >= 1 ? [lo, hi] : null;
}

/**
 * The zoom state: the step range shown (null: the full range) and, once Python answered the
 * request made for it, the finer rows of that range. A reply to an older request (the user
 * zoomed again, or reset) is ignored.
 */
export class Zoom<T> {
  range: [number, number] | null = null;
  rows: T | null = null;
  private req: number | string | null = null;

  get active(): boolean {
    return this.range !== null;
  }

  /** Zoom to [lo, hi]; `req` is the id of the range request sent for it. */
  start(range: [number, number], req: number | string): void {
    this.range = range;
    this.rows = null;
    this.req = req;
  }

  /** Take the reply to request `req`; false (nothing changes) when it is not the current one. */
  accept(req: number | string | undefined, rows: T): boolean {
    if (this.range === null || req === undefined || req !== this.req) return false;
    this.rows = rows;
    return true;
  }

  reset(): void {
    this.range = null;
    this.rows = null;
    this.req = null;
  }
}
