// The curves as uPlot draws them: one shared x array (the union of the steps shown) and one
// value column per drawn line (mean, its unsmoothed copy, min and max of the band), nulls where
// a curve has no row at that step or a value cannot be drawn (NaN, or <= 0 on a log scale).
// Pure: the view (curves.ts) only hands the columns to uPlot.

import { ema } from "./downsample";

/** One curve to draw: a signal's rows, or (with `overlay`) a compared run's mean line. */
export interface CurvePart {
  name: string;
  step: ArrayLike<number>;
  mean: ArrayLike<number>;
  min: ArrayLike<number>;
  max: ArrayLike<number>;
  /** The compare choice this curve comes from: only its (smoothed) mean is drawn, dashed. */
  overlay?: string;
}

export type Role = "mean" | "raw" | "min" | "max";

export interface ChartColumn {
  /** Index into the parts given to `buildChart`. */
  part: number;
  role: Role;
}

export interface ChartOptions {
  band: boolean;
  /** EMA smoothing in [0, 1); > 0 adds the unsmoothed mean as a faint "raw" column. */
  smoothing: number;
  log: boolean;
  /** Only the rows within [lo, hi] (plus one neighbour each side, so lines reach the edges). */
  xRange?: [number, number] | null;
}

export interface ChartData {
  x: number[];
  columns: ChartColumn[];
  values: (number | null)[][];
  /** Rows of each part within the range (what is drawn per curve). */
  drawn: number[];
}

/** The index span [a, b) of sorted `step` to draw for `range` (all rows when null). */
export function rowSpan(step: ArrayLike<number>, range: [number, number] | null | undefined): [number, number] {
  const n = step.length;
  if (!range) return [0, n];
  let a = 0;
  while (a < n && step[a] < range[0]) a++;
  let b = a;
  while (b < n && step[b] <= range[1]) b++;
  return [Math.max(0, a - 1), Math.min(n, b + 1)];
}

/** Columns in drawing order for `parts`: band first (drawn below), then raw, then mean. */
export function chartColumns(parts: CurvePart[], opts: Pick<ChartOptions, "band" | "smoothing">): ChartColumn[] {
  const out: ChartColumn[] = [];
  parts.forEach((p, i) => {
    if (p.overlay === undefined && opts.band) out.push({ part: i, role: "max" }, { part: i, role: "min" });
  });
  parts.forEach((p, i) => {
    if (p.overlay === undefined && opts.smoothing > 0) out.push({ part: i, role: "raw" });
    out.push({ part: i, role: "mean" });
  });
  return out;
}

/** Sorted union of the steps of several sorted arrays. */
export function unionSteps(arrays: ArrayLike<number>[]): number[] {
  if (arrays.length === 1) return Array.from(arrays[0]);
  const all: number[] = [];
  for (const a of arrays) for (let i = 0; i < a.length; i++) all.push(a[i]);
  all.sort((p, q) => p - q);
  const out: number[] = [];
  for (const v of all) if (out.length === 0 || out[out.length - 1] !== v) out.push(v);
  return out;
}

/** Build the x array and the value columns uPlot draws. */
export function buildChart(parts: CurvePart[], opts: ChartOptions): ChartData {
  const spans = parts.map((p) => rowSpan(p.step, opts.xRange));
  const x = unionSteps(parts.map((p, i) => slice(p.step, spans[i])));
  const columns = chartColumns(parts, opts);
  const smoothed = new Map<number, Float64Array>();
  const source = (c: ChartColumn): ArrayLike<number> => {
    const p = parts[c.part];
    if (c.role === "min") return p.min;
    if (c.role === "max") return p.max;
    if (c.role === "raw" || !(opts.smoothing > 0)) return p.mean;
    let s = smoothed.get(c.part);
    if (!s) smoothed.set(c.part, (s = ema(p.mean, opts.smoothing)));
    return s;
  };
  const values = columns.map((c) => {
    const col: (number | null)[] = new Array(x.length).fill(null);
    const p = parts[c.part], src = source(c);
    const [a, b] = spans[c.part];
    let k = 0;
    for (let i = a; i < b; i++) {
      const s = p.step[i];
      while (x[k] < s) k++;
      const v = src[i];
      col[k] = Number.isFinite(v) && !(opts.log && v <= 0) ? v : null;
    }
    return col;
  });
  const drawn = spans.map(([a, b], i) => {
    if (!opts.xRange) return b - a;
    const st = parts[i].step;
    let n = 0;
    for (let j = a; j < b; j++) if (st[j] >= opts.xRange[0] && st[j] <= opts.xRange[1]) n++;
    return n;
  });
  return { x, columns, values, drawn };
}

function slice(a: ArrayLike<number>, [s, e]: [number, number]): ArrayLike<number> {
  return (a as Float64Array).subarray ? (a as Float64Array).subarray(s, e) : Array.prototype.slice.call(a, s, e);
}
