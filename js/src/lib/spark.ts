// Sparklines of the grid cells: the recent loss history of each sample (grid page `spark`,
// see weightslab_nb/panels/grid.py) split per row and drawn as a tiny SVG polyline.

export interface SparkRow {
  steps: Float64Array;
  values: Float64Array;
}

/**
 * Split the page's concatenated `steps`/`values` by `offsets` (length rows + 1): row i owns
 * `offsets[i] .. offsets[i+1]`. Throws when the offsets do not describe the arrays.
 */
export function splitSpark(offsets: ArrayLike<number>, steps: Float64Array, values: Float64Array, rows: number): SparkRow[] {
  if (offsets.length !== rows + 1) throw new Error(`spark: ${offsets.length} offsets for ${rows} rows`);
  if (steps.length !== values.length) throw new Error(`spark: ${steps.length} steps but ${values.length} values`);
  if (offsets[0] !== 0 || offsets[rows] !== values.length) throw new Error("spark: offsets do not cover the values");
  const out: SparkRow[] = [];
  for (let i = 0; i < rows; i++) {
    const a = offsets[i], b = offsets[i + 1];
    if (!(b >= a)) throw new Error(`spark: offsets decrease at row ${i}`);
    out.push({ steps: steps.subarray(a, b), values: values.subarray(a, b) });
  }
  return out;
}

/** Finite [min, max] of the values, or null. */
export function sparkDomain(values: ArrayLike<number>): [number, number] | null {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo === Infinity ? null : [lo, hi];
}

/** Finite [min, max] over every row of a page (one shared scale for its sparklines), or null. */
export function pageSparkDomain(rows: readonly (SparkRow | null)[]): [number, number] | null {
  let out: [number, number] | null = null;
  for (const r of rows) {
    const d = r ? sparkDomain(r.values) : null;
    if (!d) continue;
    out = out ? [Math.min(out[0], d[0]), Math.max(out[1], d[1])] : d;
  }
  return out;
}

const r1 = (v: number) => Math.round(v * 10) / 10;

/**
 * Pixel position of point `i` of `n` with value `v` in a `width` x `height` box (`pad` pixels
 * inside each edge): x by index, larger values higher; a flat domain sits in the middle.
 */
export function sparkXY(i: number, n: number, v: number, width: number, height: number, domain: [number, number], pad = 1): [number, number] {
  const w = Math.max(0, width - 2 * pad), hgt = Math.max(0, height - 2 * pad);
  const x = pad + (n <= 1 ? w / 2 : (i / (n - 1)) * w);
  const span = domain[1] - domain[0];
  const y = span > 0 ? pad + (1 - (v - domain[0]) / span) * hgt : pad + hgt / 2;
  return [r1(x), r1(y)];
}

/**
 * The SVG path (`d`) of a sparkline: "M x y L x y ...", a new "M" after a non-finite value;
 * a lone point becomes a short dash so it stays visible. "" when there is nothing to draw.
 */
export function sparkPath(values: ArrayLike<number>, width: number, height: number, pad = 1, domain?: [number, number] | null): string {
  const d = domain ?? sparkDomain(values);
  if (!d) return "";
  const n = values.length;
  const parts: string[] = [];
  let pen = false, run = 0;
  const dash = (x: number, y: number) => `M${r1(x - 1.5)} ${y}L${r1(x + 1.5)} ${y}`;
  let lastX = 0, lastY = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) {
      if (pen && run === 1) parts[parts.length - 1] = dash(lastX, lastY);
      pen = false;
      run = 0;
      continue;
    }
    const [x, y] = sparkXY(i, n, v, width, height, d, pad);
    parts.push(`${pen ? "L" : "M"}${x} ${y}`);
    pen = true;
    run += 1;
    lastX = x; lastY = y;
  }
  if (pen && run === 1) parts[parts.length - 1] = dash(lastX, lastY);
  return parts.join("");
}

/** Index of `step` in a row's steps (sorted), or -1. */
export function indexOfStep(steps: ArrayLike<number>, step: number): number {
  let lo = 0, hi = steps.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (steps[mid] === step) return mid;
    if (steps[mid] < step) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
