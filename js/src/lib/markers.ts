// Evaluation markers on the curves canvas: the list kept in step with Python (`markers`
// messages, see weightslab_nb/panels/curves.py), glyph shapes, hit-testing and readout text.

import { formatCount, formatNumber } from "./format";
import type { PlotFrame } from "./pick";
import { makeScale } from "./scale";

export interface Marker {
  signal: string;
  step: number;
  mean: number | null;
  min: number | null;
  max: number | null;
  count: number;
  experiment_hash: string | null;
}

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

/** Markers from a message (malformed entries are dropped). */
export function parseMarkers(raw: unknown): Marker[] {
  if (!Array.isArray(raw)) return [];
  const out: Marker[] = [];
  for (const m of raw) {
    if (!m || typeof m !== "object" || typeof m.signal !== "string" || num(m.step) === null) continue;
    out.push({
      signal: m.signal, step: m.step as number, mean: num(m.mean), min: num(m.min), max: num(m.max),
      count: num(m.count) ?? 0, experiment_hash: typeof m.experiment_hash === "string" ? m.experiment_hash : null,
    });
  }
  return out;
}

/**
 * Append the markers of a `markers` message to `list` (in place). "gap" when `start` is not
 * where `list` ends (the view missed some, or has more): ask for a snapshot; nothing changes.
 */
export function appendMarkers(list: Marker[], start: number, incoming: Marker[]): "ok" | "gap" {
  if (start !== list.length) return "gap";
  list.push(...incoming);
  return "ok";
}

export type Glyph = "diamond" | "triangle" | "square" | "circle" | "triangle-down";

/** One glyph shape per signal (in the order signals got their colours), so that markers of
 * different signals differ in shape as well as colour. */
export const GLYPHS: Glyph[] = ["diamond", "triangle", "square", "circle", "triangle-down"];

export function glyphOf(index: number): Glyph {
  return GLYPHS[((index % GLYPHS.length) + GLYPHS.length) % GLYPHS.length];
}

/** The polygon of a glyph of radius `r` centred at (x, y) in pixels; null for a circle. */
export function glyphPoints(glyph: Glyph, x: number, y: number, r: number): [number, number][] | null {
  switch (glyph) {
    case "diamond": return [[x, y - r], [x + r, y], [x, y + r], [x - r, y]];
    case "triangle": return [[x, y - r], [x + r, y + r * 0.8], [x - r, y + r * 0.8]];
    case "triangle-down": return [[x, y + r], [x + r, y - r * 0.8], [x - r, y - r * 0.8]];
    case "square": { const s = r * 0.8; return [[x - s, y - s], [x + s, y - s], [x + s, y + s], [x - s, y + s]]; }
    case "circle": return null;
  }
}

/** The markers to draw: shown at all, of a signal that is not hidden, with a drawable mean. */
export function drawableMarkers(markers: Marker[], hidden: Set<string>, show: boolean, log = false): Marker[] {
  if (!show) return [];
  return markers.filter((m) => !hidden.has(m.signal) && m.mean !== null && (!log || m.mean > 0));
}

/** The marker drawn nearest to pixel (px, py), within `radius` px; null when none. */
export function nearestMarker(frame: PlotFrame, markers: Marker[], px: number, py: number, radius = 8): Marker | null {
  const sx = makeScale(frame.xDomain, [frame.x0, frame.x1]);
  const sy = makeScale(frame.yDomain, [frame.y0, frame.y1], frame.log);
  let best: Marker | null = null;
  let bestD = radius * radius;
  for (const m of markers) {
    if (m.mean === null) continue;
    const dx = sx(m.step) - px, dy = sy(m.mean) - py;
    const d = dx * dx + dy * dy;
    if (Number.isFinite(d) && d <= bestD) {
      best = m;
      bestD = d;
    }
  }
  return best;
}

/** The readout of a marker: its evaluation's hash, step, value, range and sample count. */
export function markerReadout(m: Marker): string {
  const range = m.min !== null && m.max !== null && m.min !== m.max ? ` [${formatNumber(m.min)}, ${formatNumber(m.max)}]` : "";
  const noun = m.count === 1 ? "sample" : "samples";
  return [
    `evaluation ${m.experiment_hash ?? "?"} · step ${formatCount(m.step)}`,
    `${m.signal}: ${formatNumber(m.mean)}${range} · ${formatCount(m.count)} ${noun}`,
  ].join("\n");
}

/** Markers per signal, in order of first appearance. */
export function countBySignal(markers: Marker[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of markers) out.set(m.signal, (out.get(m.signal) ?? 0) + 1);
  return out;
}
