// The RunMedia panel's "plot" cards (wl.plot.line / scatter / bar / histogram / line_series /
// confusion_matrix / pr_curve / roc_curve), without the DOM: the chart value normalised, the plot
// box inside the SVG, axis domains and min/max tick labels, line paths (a null y breaks a line),
// scatter dots, bar and histogram geometry, series colours and confusion-matrix cell shades.
// Protocol: weightslab_nb/panels/media.py (an entry of kind "plot"; its value is the chart).

import { formatCount, formatNumber, formatTick } from "./format";
import { binLabel, histogramBars } from "./media";
import { PALETTE } from "./panel";
import { makeScale } from "./scale";

// ---------------------------------------------------------------------------------------------
// The chart value

export const CHARTS = ["line", "scatter", "bar", "histogram", "line_series", "confusion_matrix", "pr_curve", "roc_curve"] as const;
export type ChartKind = (typeof CHARTS)[number];

/** Charts drawn from `series` (scatter as dots, the others as lines). */
export const SERIES_CHARTS: ReadonlySet<ChartKind> = new Set<ChartKind>(["line", "scatter", "line_series", "pr_curve", "roc_curve"]);

export type PlotPoint = [x: number, y: number | null];

export interface PlotSeries {
  name: string;
  points: PlotPoint[];
}

export interface PlotBar {
  label: string;
  value: number | null;
}

export interface PlotSpec {
  chart: ChartKind;
  title: string | null;
  xLabel: string | null;
  yLabel: string | null;
  series: PlotSeries[]; // line-like charts and scatter
  bars: PlotBar[]; // bar
  bins: number[]; // histogram: n+1 edges
  values: number[]; // histogram: n counts
  labels: string[]; // confusion_matrix: k classes
  counts: (number | null)[][]; // confusion_matrix: k x k, row = actual, column = predicted
}

const text = (v: unknown): string | null => (typeof v === "string" && v !== "" ? v : null);
const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** A plot entry's value, normalised; null when it is not an object or names no known chart. */
export function plotOf(raw: unknown): PlotSpec | null {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) return null;
  const r = raw as Record<string, unknown>;
  if (!(CHARTS as readonly unknown[]).includes(r.chart)) return null;
  const series = arr(r.series)
    .filter((s): s is Record<string, unknown> => !!s && typeof s === "object" && !Array.isArray(s))
    .map((s, i) => ({
      name: typeof s.name === "string" && s.name !== "" ? s.name : `series ${i + 1}`,
      points: arr(s.points)
        .filter((p): p is unknown[] => Array.isArray(p) && p.length >= 2 && num(p[0]) !== null)
        .map((p) => [p[0] as number, num(p[1])] as PlotPoint),
    }));
  const bars = arr(r.bars)
    .filter((b): b is Record<string, unknown> => !!b && typeof b === "object" && !Array.isArray(b))
    .map((b, i) => ({ label: b.label === null || b.label === undefined ? String(i + 1) : String(b.label), value: num(b.value) }));
  const values = arr(r.values).map((v) => num(v) ?? 0);
  const bins = arr(r.bins).map((v) => num(v) ?? NaN);
  let labels = arr(r.labels).map((l) => String(l ?? ""));
  const rows = arr(r.counts).map(arr);
  if (labels.length === 0) labels = rows.map((_, i) => String(i));
  const counts = labels.map((_, i) => labels.map((__, j) => num(rows[i]?.[j])));
  return {
    chart: r.chart as ChartKind,
    title: text(r.title),
    xLabel: text(r.x_label),
    yLabel: text(r.y_label),
    series,
    bars,
    bins: bins.length === values.length + 1 && bins.every(Number.isFinite) ? bins : [],
    values,
    labels,
    counts,
  };
}

/** The axis labels shown: the value's, else the ones a PR / ROC curve or confusion matrix implies. */
export function axisLabels(spec: Pick<PlotSpec, "chart" | "xLabel" | "yLabel">): { x: string | null; y: string | null } {
  const implied: Partial<Record<ChartKind, [string, string]>> = {
    pr_curve: ["recall", "precision"],
    roc_curve: ["false positive rate", "true positive rate"],
    confusion_matrix: ["predicted", "actual"],
  };
  const d = implied[spec.chart];
  return { x: spec.xLabel ?? d?.[0] ?? null, y: spec.yLabel ?? d?.[1] ?? null };
}

// ---------------------------------------------------------------------------------------------
// Geometry

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Tick {
  pos: number; // pixel along its axis
  label: string;
  anchor: "start" | "middle" | "end";
}

export const PLOT_HEIGHT = 180;
const CHAR_PX = 6; // width of a character of a 10 px tick label, about
const INSET = 4; // data stays this far inside the box, so dots do not sit on the axes

const r1 = (v: number) => Math.round(v * 10) / 10;

/**
 * [min, max] over the finite numbers given; a single value (or all equal) is widened to a
 * non-empty range around it, and nothing gives [0, 1].
 */
export function domainOf(values: Iterable<number | null>): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (const v of values) {
    if (v === null || !Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo === Infinity) return [0, 1];
  if (lo === hi) {
    const d = Math.abs(lo) * 0.1 || 1;
    return [lo - d, hi + d];
  }
  return [lo, hi];
}

/** The box the data is drawn in, inside a `width` x `height` SVG, leaving room for the labels. */
export function plotBox(width: number, height: number, o: { yTicks: readonly string[]; xLabel: boolean; yLabel: boolean }): Box {
  const chars = Math.max(1, ...o.yTicks.map((t) => t.length));
  const left = 4 + (o.yLabel ? 14 : 0) + Math.min(60, chars * CHAR_PX) + 4;
  const right = 8, top = 6;
  const bottom = 16 + (o.xLabel ? 14 : 0);
  return { x: left, y: top, width: Math.max(1, width - left - right), height: Math.max(1, height - top - bottom) };
}

/** Data -> pixels across a box: x left to right, y bottom to top, `inset` pixels inside its edges. */
export function plotScales(box: Box, xDomain: [number, number], yDomain: [number, number], inset = INSET): { sx: (v: number) => number; sy: (v: number) => number } {
  const ix = Math.min(inset, box.width / 4), iy = Math.min(inset, box.height / 4);
  const sx = makeScale(xDomain, [box.x + ix, box.x + box.width - ix]);
  const sy = makeScale(yDomain, [box.y + box.height - iy, box.y + iy]);
  return { sx: (v) => r1(sx(v)), sy: (v) => r1(sy(v)) };
}

/** The min and max tick of an axis (one tick when they print the same). */
export function rangeTicks(domain: [number, number], scale: (v: number) => number, vertical = false): Tick[] {
  const [lo, hi] = domain;
  const a = formatTick(lo), b = formatTick(hi);
  if (a === b) return [{ pos: scale(lo), label: a, anchor: vertical ? "end" : "middle" }];
  return [
    { pos: scale(lo), label: a, anchor: vertical ? "end" : "start" },
    { pos: scale(hi), label: b, anchor: "end" },
  ];
}

/** The runs of drawable points of a series: a null (or non-finite) y ends a run. */
export function lineSegments(points: readonly PlotPoint[]): [number, number][][] {
  const out: [number, number][][] = [];
  let run: [number, number][] = [];
  for (const [x, y] of points) {
    if (y === null || !Number.isFinite(y) || !Number.isFinite(x)) {
      if (run.length) out.push(run);
      run = [];
    } else {
      run.push([x, y]);
    }
  }
  if (run.length) out.push(run);
  return out;
}

/** The `d` of a series' path: one subpath per run, a lone point as a short dash; "" for none. */
export function linePath(points: readonly PlotPoint[], sx: (v: number) => number, sy: (v: number) => number): string {
  return lineSegments(points).map((run) => {
    if (run.length === 1) {
      const x = sx(run[0][0]), y = sy(run[0][1]);
      return `M${r1(x - 2)},${y}h4`;
    }
    return run.map(([x, y], i) => `${i ? "L" : "M"}${sx(x)},${sy(y)}`).join("");
  }).join("");
}

/** The centres of a scatter series' dots (points without a y are left out). */
export function scatterDots(points: readonly PlotPoint[], sx: (v: number) => number, sy: (v: number) => number): [number, number][] {
  const out: [number, number][] = [];
  for (const [x, y] of points) if (y !== null && Number.isFinite(y)) out.push([sx(x), sy(y)]);
  return out;
}

/** The colour of series i in `palette` (light by default; `paletteFor` gives the theme's). */
export function seriesColor(i: number, palette: readonly string[] = PALETTE): string {
  const n = palette.length;
  return palette[((Math.trunc(i) % n) + n) % n];
}

export interface PlotRect extends Box {
  title: string; // tooltip
}

/**
 * Bars of a bar chart across a box: one slot per bar, drawn from the zero line up (or down for
 * negative values); the value axis always holds 0. A missing value is an empty bar.
 */
export function barGeometry(bars: readonly PlotBar[], box: Box, gap = 1): { rects: PlotRect[]; zero: number; domain: [number, number] } {
  const vals = bars.map((b) => b.value ?? 0);
  const domain = domainOf([0, ...vals]);
  if (vals.every((v) => v >= 0)) domain[0] = 0; // all-zero bars: [0, 1], not [-1, 1]
  const sy = makeScale(domain, [box.y + box.height, box.y]);
  const zero = r1(sy(0));
  const n = bars.length;
  const slot = n ? box.width / n : 0;
  const g = slot > 2 * gap ? gap : 0;
  const rects = bars.map((b, i) => {
    const y = r1(sy(vals[i]));
    return {
      x: r1(box.x + i * slot + g / 2),
      y: Math.min(y, zero),
      width: r1(Math.max(0, slot - g)),
      height: r1(Math.abs(zero - y)),
      title: `${b.label}: ${formatNumber(b.value)}`,
    };
  });
  return { rects, zero, domain };
}

/** Bars of a histogram across a box (the histogram kind's geometry, moved into the box). */
export function histogramGeometry(bins: readonly number[], values: readonly number[], box: Box): PlotRect[] {
  return histogramBars(values, box.width, box.height).map((b, i) => ({
    x: r1(box.x + b.x), y: r1(box.y + b.y), width: b.width, height: b.height, title: binLabel(bins, values, i),
  }));
}

/** Show every `stride`-th category label, so labels about `px` wide do not overlap. */
export function labelStride(n: number, width: number, px = 40): number {
  if (n <= 0 || !(width > 0)) return 1;
  return Math.max(1, Math.ceil(px / (width / n)));
}

/** A label cut to `max` characters ("…" marks the cut). */
export function clipLabel(label: string, max: number): string {
  if (label.length <= max) return label;
  return max <= 1 ? "…" : label.slice(0, max - 1) + "…";
}

export interface SeriesShape {
  name: string;
  color: string;
  points: number; // points with a y
  path: string | null; // lines
  dots: [number, number][] | null; // scatter
}

export interface PlotLayout {
  width: number;
  height: number;
  box: Box;
  xTicks: Tick[];
  yTicks: Tick[];
  xLabel: string | null;
  yLabel: string | null;
  series: SeriesShape[];
  rects: PlotRect[];
  zero: number | null; // the bar chart's zero line, when it has negative bars
  chance: [x1: number, y1: number, x2: number, y2: number] | null; // the ROC curve's diagonal
  legend: boolean;
}

/** Everything the SVG of a chart (any but the confusion matrix) draws, in a `width` x `height` box. */
export function plotLayout(spec: PlotSpec, width: number, height = PLOT_HEIGHT,
  palette: readonly string[] = PALETTE): PlotLayout {
  const labels = axisLabels(spec);
  const has = { xLabel: labels.x !== null, yLabel: labels.y !== null };
  const out: PlotLayout = {
    width, height, box: { x: 0, y: 0, width, height }, xTicks: [], yTicks: [], xLabel: labels.x, yLabel: labels.y,
    series: [], rects: [], zero: null, chance: null, legend: false,
  };
  const vertical = (domain: [number, number]) => rangeTicks(domain, (v) => v, true).map((t) => t.label);

  if (spec.chart === "bar") {
    const probe = barGeometry(spec.bars, { x: 0, y: 0, width: 1, height: 1 });
    out.box = plotBox(width, height, { yTicks: vertical(probe.domain), ...has });
    const g = barGeometry(spec.bars, out.box);
    out.rects = g.rects;
    out.zero = g.domain[0] < 0 ? g.zero : null;
    const sy = makeScale(g.domain, [out.box.y + out.box.height, out.box.y]);
    out.yTicks = rangeTicks(g.domain, (v) => r1(sy(v)), true);
    const n = spec.bars.length;
    const stride = labelStride(n, out.box.width);
    const room = Math.max(1, Math.floor((out.box.width / Math.max(1, n)) * stride / CHAR_PX));
    out.xTicks = spec.bars.flatMap((b, i) => (i % stride ? [] : [{
      pos: r1(out.box.x + (i + 0.5) * (out.box.width / n)), label: clipLabel(b.label, room), anchor: "middle" as const,
    }]));
    return out;
  }

  if (spec.chart === "histogram") {
    const top = Math.max(0, ...spec.values.filter((v) => v > 0));
    const yDomain: [number, number] = [0, top > 0 ? top : 1];
    out.box = plotBox(width, height, { yTicks: vertical(yDomain), ...has });
    out.rects = histogramGeometry(spec.bins, spec.values, out.box);
    const sy = makeScale(yDomain, [out.box.y + out.box.height, out.box.y]);
    out.yTicks = rangeTicks(yDomain, (v) => r1(sy(v)), true);
    if (spec.bins.length >= 2) {
      const lo = spec.bins[0], hi = spec.bins[spec.bins.length - 1];
      out.xTicks = [
        { pos: out.box.x, label: formatTick(lo), anchor: "start" },
        { pos: out.box.x + out.box.width, label: formatTick(hi), anchor: "end" },
      ];
    }
    return out;
  }

  // series charts
  const unit = spec.chart === "pr_curve" || spec.chart === "roc_curve";
  const xs: number[] = unit ? [0, 1] : [], ys: (number | null)[] = unit ? [0, 1] : [];
  for (const s of spec.series) {
    for (const [x, y] of s.points) {
      if (y === null) continue;
      xs.push(x);
      ys.push(y);
    }
  }
  const xDomain = domainOf(xs), yDomain = domainOf(ys);
  out.box = plotBox(width, height, { yTicks: vertical(yDomain), ...has });
  const { sx, sy } = plotScales(out.box, xDomain, yDomain);
  out.xTicks = rangeTicks(xDomain, sx);
  out.yTicks = rangeTicks(yDomain, sy, true);
  const scatter = spec.chart === "scatter";
  out.series = spec.series.map((s, i) => ({
    name: s.name,
    color: seriesColor(i, palette),
    points: s.points.filter(([, y]) => y !== null).length,
    path: scatter ? null : linePath(s.points, sx, sy),
    dots: scatter ? scatterDots(s.points, sx, sy) : null,
  }));
  if (spec.chart === "roc_curve") out.chance = [sx(0), sy(0), sx(1), sy(1)];
  out.legend = spec.series.length > 1;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Confusion matrix

export interface ConfusionCell {
  count: number | null;
  intensity: number; // count / the largest count, in [0, 1]
  diagonal: boolean;
}

/** The most classes a confusion matrix shows (k x k table cells). */
export const MAX_CLASSES = 50;

/**
 * The part of a confusion matrix drawn: the first `max` classes (rows and columns), with the note
 * "showing 50 of 120 classes" when some are left out ("" otherwise). Shading still uses the
 * largest count shown.
 */
export function confusionShown(spec: Pick<PlotSpec, "labels" | "counts">, max = MAX_CLASSES): { labels: string[]; counts: (number | null)[][]; note: string } {
  const k = spec.labels.length;
  if (k <= max) return { labels: [...spec.labels], counts: spec.counts.map((r) => [...r]), note: "" };
  const n = Math.max(0, Math.trunc(max));
  return {
    labels: spec.labels.slice(0, n),
    counts: spec.counts.slice(0, n).map((r) => r.slice(0, n)),
    note: `showing ${formatCount(n)} of ${formatCount(k)} classes`,
  };
}

/** The cells of a confusion matrix (rows actual, columns predicted), shaded by count / max count. */
export function confusionCells(counts: readonly (readonly (number | null)[])[]): ConfusionCell[][] {
  let max = 0;
  for (const row of counts) for (const c of row) if (c !== null && Number.isFinite(c) && c > max) max = c;
  return counts.map((row, i) => row.map((c, j) => ({
    count: c,
    intensity: max > 0 && c !== null && Number.isFinite(c) && c > 0 ? Math.round((c / max) * 1000) / 1000 : 0,
    diagonal: i === j,
  })));
}

/** The most brand colour a cell's background takes: at 50 % over the card's background, the
 * theme's --jp-ui-font-color1 keeps 4.5:1 in JupyterLab Light and Dark. */
export const CONFUSION_MAX_SHADE = 50;

/** A cell's background: the theme's brand colour mixed in proportion to its intensity. */
export function confusionShade(intensity: number): string {
  const unit = Math.min(1, Math.max(0, Number.isFinite(intensity) ? intensity : 0));
  const pct = Math.round(unit * CONFUSION_MAX_SHADE);
  return `color-mix(in srgb, var(--jp-brand-color1, #1976d2) ${pct}%, transparent)`;
}
